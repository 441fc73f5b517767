/* Network namespace seam. See ns.h. Same approach as jattach: compare the namespace
 * inodes first and enter only when they differ. */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int stat_ns(const char *path, struct stat *st)
{
	return stat(path, st) < 0 ? -1 : 0;
}

int ns_net_differs(pid_t pid)
{
	char path[64];
	struct stat self, target;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat_ns("/proc/thread-self/ns/net", &self) < 0 || stat_ns(path, &target) < 0)
		return -1;
	return self.st_ino != target.st_ino || self.st_dev != target.st_dev;
}

static int close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

int ns_socket(pid_t pid, int domain, int type, int protocol)
{
	char path[64];
	int differs = ns_net_differs(pid), own = -1, target = -1, fd = -1, saved;

	if (differs < 0)
		return -1;
	if (!differs)
		return socket(domain, type | SOCK_CLOEXEC, protocol);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return -1;
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return close_keep_errno(own);
	if (setns(target, CLONE_NEWNET) < 0) {
		close_keep_errno(target);
		return close_keep_errno(own);
	}
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	saved = errno;
	if (setns(own, CLONE_NEWNET) < 0) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		saved = ENOTRECOVERABLE;
	}
	close(target);
	close(own);
	errno = saved;
	return fd;
}
