// SPDX-License-Identifier: Apache-2.0
/* Safe path resolution inside a target's root (see fsroot.h): openat2 with
 * RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or a user-space walk where openat2 is missing. */
#include "base/fsroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FSROOT_MAX_LINKS 40     /* as the kernel's MAXSYMLINKS */
#define FSROOT_MAX_DEPTH 4096   /* ".." steps before giving up in fsroot_is_beneath */
#define FSROOT_RETRIES 8        /* openat2 may return EAGAIN when a rename races ".." */

static int open_proc_link(int pid, const char *what)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int fsroot_open_proc_root(int pid) { return open_proc_link(pid, "root"); }
int fsroot_open_proc_cwd(int pid) { return open_proc_link(pid, "cwd"); }

static bool same_inode(int a, int b)
{
	struct stat sa, sb;
	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int dup_cloexec(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return d < 0 ? -errno : d;
}

/* Replace *fd by nfd (closing the old one). */
static void move_to(int *fd, int nfd)
{
	close(*fd);
	*fd = nfd;
}

bool fsroot_is_beneath(int root_fd, int fd)
{
	int cur = dup_cloexec(fd);
	bool found = false;
	for (int i = 0; cur >= 0 && i < FSROOT_MAX_DEPTH; i++) {
		if (same_inode(cur, root_fd)) {
			found = true;
			break;
		}
		int parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			break;
		bool top = same_inode(parent, cur);
		move_to(&cur, parent);
		if (top)
			break;
	}
	if (cur >= 0)
		close(cur);
	return found;
}

/* rest := link target + "/" + remainder. */
static int splice_link(int link_fd, const char *remainder, char *rest, size_t restlen)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	char joined[2 * PATH_MAX];
	int len = snprintf(joined, sizeof(joined), "%s/%s", target, remainder);
	if (len < 0 || (size_t)len >= restlen || (size_t)len >= sizeof(joined))
		return -ENAMETOOLONG;
	memcpy(rest, joined, (size_t)len + 1);
	return 0;
}

/* Next component of *p into comp; advances *p past it and its slashes. */
static int next_component(const char **p, char *comp, bool *is_last)
{
	const char *s = *p;
	const char *e = strchrnul(s, '/');
	size_t len = (size_t)(e - s);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, s, len);
	comp[len] = '\0';
	while (*e == '/')
		e++;
	*p = e;
	*is_last = (*e == '\0');
	return 0;
}

static int step_up(int root_fd, int *cur)
{
	if (same_inode(*cur, root_fd))
		return 0; /* ".." at the root stays at the root */
	int parent = openat(*cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return -errno;
	move_to(cur, parent);
	return 0;
}

/* The walk itself; *cur is the directory we are in, rest the path still to go. */
static int walk(int root_fd, int *cur, char *rest, size_t restlen, int flags)
{
	const char *p = rest;
	int links = 0;
	char comp[NAME_MAX + 1];
	bool is_last = false;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			int fd = openat(*cur, ".", flags | O_CLOEXEC);
			return fd < 0 ? -errno : fd;
		}
		int err = next_component(&p, comp, &is_last);
		if (err)
			return err;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if ((err = step_up(root_fd, cur)))
				return err;
			continue;
		}
		int nfd = openat(*cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			return -errno;
		struct stat st;
		if (fstat(nfd, &st) < 0) {
			err = -errno;
			close(nfd);
			return err;
		}
		if (S_ISLNK(st.st_mode)) {
			if ((is_last && (flags & O_NOFOLLOW)) || ++links > FSROOT_MAX_LINKS)
				err = -ELOOP;
			else
				err = splice_link(nfd, p, rest, restlen);
			close(nfd);
			if (err)
				return err;
			p = rest;
			if (*p == '/') {
				int r = dup_cloexec(root_fd);
				if (r < 0)
					return r;
				move_to(cur, r);
			}
			continue;
		}
		if (!is_last) {
			if (!S_ISDIR(st.st_mode)) {
				close(nfd);
				return -ENOTDIR;
			}
			move_to(cur, nfd);
			continue;
		}
		close(nfd);
		/* O_NOFOLLOW: if it was swapped for a symlink since the check, fail. */
		int fd = openat(*cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
}

int fsroot_open_walk(int root_fd, int start_fd, const char *path, int flags)
{
	char rest[2 * PATH_MAX];
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	bool absolute = path[0] == '/';
	if (!absolute && !fsroot_is_beneath(root_fd, start_fd))
		return -EXDEV;
	int cur = dup_cloexec(absolute ? root_fd : start_fd);
	if (cur < 0)
		return cur;
	strcpy(rest, path);
	int fd = walk(root_fd, &cur, rest, sizeof(rest), flags);
	close(cur);
	return fd;
}

static int open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (int i = 0; i < FSROOT_RETRIES; i++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

int fsroot_open(int root_fd, int start_fd, const char *path, int flags)
{
	/* RESOLVE_IN_ROOT makes its dirfd the root, so a path relative to another start
	 * directory (the target's cwd) can only be resolved by the walk. */
	bool from_root = path[0] == '/' || start_fd == root_fd || same_inode(start_fd, root_fd);
	if (from_root) {
		int fd = open_in_root(root_fd, path, flags);
		/* ENOSYS: kernel < 5.6; EPERM: also what some seccomp filters answer. A real
		 * EPERM comes back from the walk as well. */
		if (fd != -ENOSYS && fd != -EPERM)
			return fd;
	}
	return fsroot_open_walk(root_fd, start_fd, path, flags);
}
