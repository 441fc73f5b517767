// SPDX-License-Identifier: Apache-2.0
/* Capture route "signal": the target runs with --heapsnapshot-signal=SIG, so sending
 * SIG (through a pidfd checked against its start time) makes Node write
 * Heap.YYYYMMDD.HHMMSS.PID.TID.SEQ.heapsnapshot into its --diagnostic-dir or cwd.
 * We reach that directory through /proc/PID/root and /proc/PID/cwd (so containers
 * work), resolved with fsroot (never out of the target's root), watch it with inotify
 * before the signal, and stream the file into the store writer while Node is still
 * writing it, so the snapshot is stored about when V8 finishes. The file exists at 0
 * bytes long before its data comes; it is complete at IN_CLOSE_WRITE (and only if its
 * JSON ends properly: a process killed mid-write closes it too). The raw file is
 * unlinked afterwards, on success and on failure. Every wait is one wait_poll (wait.h)
 * on the inotify fd, the pidfd and the cancel token.
 * Node (20.20, measured) does not survive a failed signal snapshot: the exception
 * from writeHeapSnapshot (ENOENT, EACCES, ENOSPC) is uncaught and kills the process.
 * So nothing is signalled unless the directory exists, is writable with the target's
 * credentials, is not read-only and has room for a snapshot (check_dir_fits). */
#include "capture/capture_route.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/fsroot.h"
#include "base/log.h"
#include "base/loop.h"
#include "capture/late_sweep.h"
#include "capture/recovery.h"
#include "capture/signal/signal_adopt.h"

#define READ_CHUNK (256 * 1024)
#define MAX_OLD_FILES 4096           /* matching files remembered from before the signal */
#define EXIT_SETTLE_MS 200           /* a killed writer's close is seen before its exit */
#define WATCH_MASK (IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR)
/* Snapshot file size per byte of RSS, rounded up: files measured at 1.6-1.7x heap
 * used for typical heaps (108 MB -> 177 MB, 319 MB -> 540 MB), up to 2.9x for boxed
 * doubles (guard.h, GUARD_FILE_FACTOR), and heap used is below RSS (the runtime's
 * 60-80 MB): 2x RSS covers typical heaps. A boxed-doubles heap above ~150 MB can write
 * more; a store that fills up then fails the capture cleanly (ENOSPC, nothing listed). */
#define FILE_BYTES_PER_RSS_BYTE 2
#define FREE_SPACE_MARGIN (64ULL << 20)

struct sigcap {
	struct capture_ctx *ctx;
	int pidfd, root_fd, cwd_fd, dir_fd, ino_fd, file_fd;
	char dir_seen[PATH_MAX];         /* the directory as the process names it */
	char name[NAME_MAX + 1];         /* matched file ("" until found) */
	char **old;                      /* matching names present before the signal */
	size_t nold;
	bool closed;                     /* IN_CLOSE_WRITE seen for name */
	bool overflow;                   /* events were lost: completion from /proc/PID/fd */
	bool exited;                     /* pidfd became readable */
	char tail[2];                    /* last two non-blank bytes streamed */
	uint64_t bytes;
	dev_t dev;
	ino_t ino;
	int64_t t_signal, t_file, t_first_byte, t_closed, t_stored;
	unsigned timeout_s;              /* whole capture, from the signal */
	unsigned char *buf;
};

static const char *signame(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

bool capture_signal_usable(const struct proc_info *p, char *why, size_t whylen)
{
	if (p->opts.heapsnapshot_signal == 0) {
		snprintf(why, whylen, "no --heapsnapshot-signal");
		return false;
	}
	return true;
}

static bool was_there_before(const struct sigcap *s, const char *name)
{
	for (size_t i = 0; i < s->nold; i++)
		if (strcmp(s->old[i], name) == 0)
			return true;
	return false;
}

static pid_t target_ns_pid(const struct sigcap *s)
{
	return s->ctx->proc->ns_pid > 0 ? s->ctx->proc->ns_pid : s->ctx->proc->pid;
}

/* Node before 20 ignores --diagnostic-dir for signal snapshots and writes into its cwd. */
static bool diagnostic_dir_honoured(const struct proc_info *p)
{
	int major = 0;
	if (sscanf(p->node_version, "v%d", &major) != 1)
		return true;
	return major >= 20;
}

/* dir + "/" + name; false if it did not fit (out is then truncated). */
static bool join_path(char *out, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	bool slash = dl > 0 && dir[dl - 1] == '/';
	int n = snprintf(out, len, "%s%s%s", dir, slash ? "" : "/", name);
	return n >= 0 && (size_t)n < len;
}

static int read_proc_link(pid_t pid, const char *what, char *out, size_t len)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/%s", (int)pid, what);
	ssize_t n = readlink(link, out, len - 1);
	if (n < 0)
		return ERR_ERRNO();
	out[n] = '\0';
	return 0;
}

/* How the process names its cwd (for messages). The kernel shows it relative to our
 * root: for a chrooted process strip its root's prefix. */
static void proc_cwd_path(pid_t pid, char *out, size_t len)
{
	char root[PATH_MAX];
	if (read_proc_link(pid, "cwd", out, len) < 0) {
		snprintf(out, len, "(cwd)");
		return;
	}
	if (read_proc_link(pid, "root", root, sizeof(root)) < 0 || strcmp(root, "/") == 0)
		return;
	size_t rl = strlen(root);
	if (strncmp(out, root, rl) != 0 || (out[rl] != '/' && out[rl] != '\0'))
		return;
	if (out[rl] == '\0')
		snprintf(out, len, "/");
	else
		memmove(out, out + rl, strlen(out + rl) + 1);
}

static int open_snapshot_dir(struct sigcap *s)
{
	const struct proc_info *p = s->ctx->proc;
	s->root_fd = fsroot_open_proc_root(p->pid);
	s->cwd_fd = fsroot_open_proc_cwd(p->pid);
	if (s->root_fd < 0 || s->cwd_fd < 0)
		return capture_fail(s->ctx, s->root_fd < 0 ? s->root_fd : s->cwd_fd,
				    "cannot open the root and cwd of pid %d: %s", (int)p->pid,
				    strerror(-(s->root_fd < 0 ? s->root_fd : s->cwd_fd)));
	const char *dir = diagnostic_dir_honoured(p) ? p->opts.diagnostic_dir : "";
	char cwd[PATH_MAX];
	proc_cwd_path(p->pid, cwd, sizeof(cwd));
	if (dir[0] == '\0') {
		snprintf(s->dir_seen, sizeof(s->dir_seen), "%s", cwd);
		s->dir_fd = fcntl(s->cwd_fd, F_DUPFD_CLOEXEC, 0);
		if (s->dir_fd < 0)
			return capture_fail(s->ctx, ERR_ERRNO(), "cannot duplicate the cwd fd: %s", strerror(errno));
		return 0;
	}
	if (dir[0] == '/')
		snprintf(s->dir_seen, sizeof(s->dir_seen), "%s", dir);
	else
		join_path(s->dir_seen, sizeof(s->dir_seen), cwd, dir);
	s->dir_fd = fsroot_open(s->root_fd, s->cwd_fd, dir, O_PATH | O_DIRECTORY);
	if (s->dir_fd < 0)
		return capture_fail(s->ctx, s->dir_fd, "cannot open the diagnostic directory %s inside the process's root: %s",
			    s->dir_seen, strerror(-s->dir_fd));
	return 0;
}

/* Classic permission bits only: ACLs and capabilities other than root's are not
 * considered, which can only make us refuse a capture, never crash the target. */
static bool creds_may_write(const struct proc_creds *c, const struct stat *dir)
{
	if (c->fsuid == 0)
		return true;
	if (dir->st_uid == c->fsuid)
		return dir->st_mode & S_IWUSR;
	bool in_group = dir->st_gid == c->fsgid;
	for (int i = 0; i < c->ngroups && !in_group; i++)
		in_group = dir->st_gid == c->groups[i];
	return dir->st_mode & (in_group ? S_IWGRP : S_IWOTH);
}

/* Would Node be able to write its snapshot into the directory? See the file comment. */
static int check_dir_fits(struct sigcap *s)
{
	pid_t pid = s->ctx->proc->pid;
	struct statvfs vfs;
	struct stat st;
	struct proc_creds c;
	if (fstatvfs(s->dir_fd, &vfs) < 0 || fstat(s->dir_fd, &st) < 0)
		return capture_fail(s->ctx, ERR_ERRNO(), "cannot stat %s: %s", s->dir_seen, strerror(errno));
	if (vfs.f_flag & ST_RDONLY)
		return capture_fail(s->ctx, -EROFS, "%s is read-only: Node would crash trying to write its snapshot there",
			    s->dir_seen);
	int rc = procs_credentials(pid, &c);
	if (rc < 0)
		return capture_fail(s->ctx, rc, "cannot read the credentials of process %d", (int)pid);
	if (!creds_may_write(&c, &st))
		return capture_fail(s->ctx, -EACCES, "process %d (uid %u) cannot write to %s: Node would crash trying to "
			    "write its snapshot there", (int)pid, (unsigned)c.fsuid, s->dir_seen);
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	uint64_t need = FILE_BYTES_PER_RSS_BYTE * procs_rss_bytes(pid) + FREE_SPACE_MARGIN;
	if (avail < need)
		return capture_fail(s->ctx, -ENOSPC, "%s has %llu MiB free but a snapshot of process %d may need %llu MiB: "
			    "Node would crash when the disk fills", s->dir_seen,
			    (unsigned long long)(avail >> 20), (int)pid, (unsigned long long)(need >> 20));
	return 0;
}

static int remember_old(struct sigcap *s, const char *name)
{
	if (s->nold == MAX_OLD_FILES)
		return 0; /* only matters after an inotify overflow; IN_CREATE tells new ones */
	char **grown = realloc(s->old, (s->nold + 1) * sizeof(*s->old));
	if (!grown)
		return -ENOMEM;
	s->old = grown;
	if (!(s->old[s->nold] = strdup(name)))
		return -ENOMEM;
	s->nold++;
	return 0;
}

static int remember_old_cb(void *arg, const char *name)
{
	return remember_old(arg, name);
}

/* Resuming (recovery.h): the newest matching file modified since the interrupted
 * capture began. 0 adopted; 1 none yet (older matching names remembered, so that
 * find_file takes only a new one); a negative errno on error. */
static int adopt_resumed(struct sigcap *s)
{
	int rc = recovery_adopt_snapshot(s->dir_fd, target_ns_pid(s), s->ctx->resume_after_ms, s->name,
					 sizeof(s->name), remember_old_cb, s);
	if (rc == -ENOMEM)
		return capture_fail(s->ctx, rc, "out of memory");
	if (rc < 0)
		return capture_fail(s->ctx, rc, "cannot list %s: %s", s->dir_seen, strerror(-rc));
	if (rc == 1)
		return 1;
	/* Its IN_CLOSE_WRITE may be long gone: completion comes from /proc/PID/fd. */
	s->overflow = true;
	s->t_file = mono_ms();
	return 0;
}

/* for_old: remember matching names; else adopt the first matching name not remembered. */
static int scan_dir(struct sigcap *s, bool for_old)
{
	int fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return capture_fail(s->ctx, ERR_ERRNO(), "cannot list %s: %s", s->dir_seen, strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) && rc == 0) {
		if (!heap_snapshot_name_matches(e->d_name, target_ns_pid(s)))
			continue;
		if (for_old)
			rc = remember_old(s, e->d_name) ? capture_fail(s->ctx, -ENOMEM, "out of memory") : 0;
		else if (!was_there_before(s, e->d_name)) {
			snprintf(s->name, sizeof(s->name), "%s", e->d_name);
			break;
		}
	}
	closedir(d);
	return rc;
}

static int watch_dir(struct sigcap *s)
{
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd < 0)
		return capture_fail(s->ctx, ERR_ERRNO(), "inotify_init1 failed: %s", strerror(errno));
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", s->dir_fd);
	if (inotify_add_watch(s->ino_fd, self, WATCH_MASK) < 0)
		return capture_fail(s->ctx, ERR_ERRNO(), "cannot watch %s with inotify: %s", s->dir_seen, strerror(errno));
	return 0;
}

static void on_event(struct sigcap *s, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		s->overflow = true;
		return;
	}
	if (ev->len == 0)
		return;
	if (s->name[0] == '\0' && heap_snapshot_name_matches(ev->name, target_ns_pid(s)) &&
	    !was_there_before(s, ev->name)) {
		snprintf(s->name, sizeof(s->name), "%s", ev->name);
		s->t_file = mono_ms();
	}
	if ((ev->mask & IN_CLOSE_WRITE) && s->name[0] && strcmp(ev->name, s->name) == 0 && !s->closed) {
		s->closed = true;
		s->t_closed = mono_ms();
	}
}

static int drain_events(struct sigcap *s)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(s->ino_fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return capture_fail(s->ctx, ERR_ERRNO(), "reading inotify events failed: %s", strerror(errno));
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			on_event(s, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* The inotify fd, the pidfd, the cancel token, the deadline. */
static enum wait_result wait_events(struct sigcap *s, int64_t deadline)
{
	struct wait_spec w = { .deadline_ms = deadline, .cancel = s->ctx->cancel, .pidfd = s->pidfd };

	return wait_fd(&w, s->ino_fd, POLLIN);
}

static int fail_wake(struct sigcap *s, enum wait_result w, const char *while_doing)
{
	switch (w) {
	case WAIT_CANCELLED:
		return capture_fail(s->ctx, -ECANCELED, "capture cancelled because the agent is stopping");
	case WAIT_EXITED:
		return capture_fail(s->ctx, -ESRCH, "%s (%s)", wait_result_str(w), while_doing);
	case WAIT_ERROR:
		return capture_fail(s->ctx, ERR_ERRNO(), "poll failed %s: %s", while_doing, strerror(errno));
	default:
		return capture_fail(s->ctx, -ETIMEDOUT, "capture timed out after %u s (timeout_s) %s", s->timeout_s, while_doing);
	}
}

/* The signal stays unanswered: Node may still write its snapshot when its event loop
 * frees up. The sweep removes that file; the fds and names go with it. */
static void hand_over_late(struct sigcap *s)
{
	if (!s->ctx->late)
		return;
	struct late_signal late = {
		.pid = s->ctx->proc->pid, .ns_pid = target_ns_pid(s), .start_time = s->ctx->proc->start_time,
		.pidfd = s->pidfd, .dir_fd = s->dir_fd, .ino_fd = s->ino_fd, .old = s->old,
		.nold = s->nold, .signal_mono_ms = s->t_signal,
	};
	snprintf(late.dir_seen, sizeof(late.dir_seen), "%s", s->dir_seen);
	s->pidfd = s->dir_fd = s->ino_fd = -1;
	s->old = NULL;
	s->nold = 0;
	late_sweep_add(s->ctx->late, &late);
}

static int find_file(struct sigcap *s, int64_t deadline, const char *sig)
{
	int rc;

	for (;;) {
		if ((rc = drain_events(s)) < 0)
			return rc;
		/* s->overflow stays set: the close of the file may have been lost too. */
		if (s->overflow && s->name[0] == '\0') {
			if ((rc = scan_dir(s, false)) < 0)
				return rc;
			if (s->name[0])
				s->t_file = mono_ms();
		}
		if (s->name[0])
			return 0;
		enum wait_result w = wait_events(s, deadline);
		if (w == WAIT_EXITED && !s->exited) {
			s->exited = true; /* one more pass: the file's events may be queued */
			continue;
		}
		if (w == WAIT_TIMEOUT) {
			hand_over_late(s);
			return capture_fail(s->ctx, -ETIMEDOUT, "no heap snapshot file appeared in %s within %u s of %s "
				    "(event loop blocked?)", s->dir_seen,
				    (unsigned)((deadline - s->t_signal) / 1000), sig);
		}
		if (w == WAIT_CANCELLED)
			hand_over_late(s);
		if (w != WAIT_READY)
			return fail_wake(s, w, "before its heap snapshot file appeared");
	}
}

/* The name is the target's to choose: look at what it is through an O_PATH fd (no
 * open side effects, e.g. on a device node or FIFO) and only then open that same
 * inode for reading, through /proc/self/fd. */
static int open_file(struct sigcap *s)
{
	int pfd = openat(s->dir_fd, s->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return capture_fail(s->ctx, ERR_ERRNO(), "cannot open %s/%s: %s", s->dir_seen, s->name, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(pfd, &st) < 0)
		rc = capture_fail(s->ctx, ERR_ERRNO(), "cannot stat %s/%s: %s", s->dir_seen, s->name, strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		rc = capture_fail(s->ctx, -EPERM, "refusing %s/%s: not a regular file with one link", s->dir_seen, s->name);
	if (rc == 0) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
		s->file_fd = open(self, O_RDONLY | O_CLOEXEC);
		if (s->file_fd < 0)
			rc = capture_fail(s->ctx, ERR_ERRNO(), "cannot open %s/%s: %s", s->dir_seen, s->name, strerror(errno));
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	close(pfd);
	return rc;
}

static void note_tail(struct sigcap *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			continue;
		s->tail[0] = s->tail[1];
		s->tail[1] = (char)p[i];
	}
}

/* Copy whatever the file holds now into the writer. */
static int read_to_eof(struct sigcap *s, int64_t deadline)
{
	for (unsigned chunks = 0;; chunks++) {
		bool cancelled = cancel_token_is_set(s->ctx->cancel);
		if ((chunks & 63) == 63 && (cancelled || mono_ms() > deadline))
			return fail_wake(s, cancelled ? WAIT_CANCELLED : WAIT_TIMEOUT,
					 "while streaming the snapshot");
		ssize_t n = read(s->file_fd, s->buf, READ_CHUNK);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return capture_fail(s->ctx, ERR_ERRNO(), "reading %s/%s failed: %s", s->dir_seen, s->name, strerror(errno));
		}
		int rc = store_writer_write(s->ctx->w, s->buf, (size_t)n);
		if (rc < 0) {
			const char *why = store_writer_error(s->ctx->w);
			return capture_fail(s->ctx, rc, "storing the snapshot failed: %s", why ? why : "unknown error");
		}
		note_tail(s, s->buf, (size_t)n);
		if (s->bytes == 0)
			s->t_first_byte = mono_ms();
		s->bytes += (uint64_t)n;
	}
}

/* After an inotify overflow the close event may be lost: the file is complete once
 * no fd of the target refers to it any more. Errors count as "still open". */
static bool target_has_file_open(const struct sigcap *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)s->ctx->proc->pid);
	DIR *d = opendir(path);
	if (!d)
		return true;
	bool open = false;
	struct dirent *e;
	while (!open && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
			open = true;
	}
	closedir(d);
	return open;
}

static int stream_file(struct sigcap *s, int64_t deadline)
{
	int rc;

	for (;;) {
		if ((rc = drain_events(s)) < 0)
			return rc;
		if (s->overflow && !s->closed && !target_has_file_open(s)) {
			s->closed = true;
			s->t_closed = mono_ms();
		}
		bool complete = s->closed; /* decided before the read, so the read gets all */
		if ((rc = read_to_eof(s, deadline)) < 0)
			return rc;
		if (complete)
			break;
		if (s->exited)
			return capture_fail(s->ctx, -ESRCH, "process exited during capture, after %llu bytes",
				    (unsigned long long)s->bytes);
		enum wait_result w = wait_events(s, deadline);
		if (w == WAIT_EXITED)
			s->exited = true; /* one more pass: its close event may be queued */
		else if (w != WAIT_READY)
			return fail_wake(s, w, "while Node was writing the snapshot");
	}
	s->t_stored = mono_ms();
	if (s->tail[0] == ']' && s->tail[1] == '}')
		return 0;
	if (s->exited || wait_target_exited(s->pidfd, EXIT_SETTLE_MS))
		return capture_fail(s->ctx, -ESRCH, "process exited during capture, after %llu bytes",
			    (unsigned long long)s->bytes);
	return capture_fail(s->ctx, -EPROTO, "the snapshot file ended after %llu bytes before its JSON was complete",
		    (unsigned long long)s->bytes);
}

static void sigcap_cleanup(struct sigcap *s)
{
	if (s->name[0] && s->dir_fd >= 0 && unlinkat(s->dir_fd, s->name, 0) < 0 && errno != ENOENT)
		log_warn("capture: cannot remove %s/%s: %s", s->dir_seen, s->name, strerror(errno));
	int *fds[] = { &s->file_fd, &s->ino_fd, &s->dir_fd, &s->cwd_fd, &s->root_fd, &s->pidfd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	for (size_t i = 0; i < s->nold; i++)
		free(s->old[i]);
	free(s->old);
	free(s->buf);
}

static int open_target(struct sigcap *s)
{
	const struct proc_info *p = s->ctx->proc;
	s->pidfd = procs_pidfd_open(p->pid, p->start_time);
	if (s->pidfd == -ESRCH)
		return capture_fail(s->ctx, -ESRCH, "process %d exited or its PID was reused", (int)p->pid);
	if (s->pidfd < 0)
		return capture_fail(s->ctx, s->pidfd, "cannot open a pidfd for process %d: %s", (int)p->pid, strerror(-s->pidfd));
	return 0;
}

static void fill_detail(struct sigcap *s, const char *sig)
{
	char path[PATH_MAX + NAME_MAX + 2];
	join_path(path, sizeof(path), s->dir_seen, s->name);
	/* Timings before the path, so a long path is what gets truncated. */
	int n = snprintf(s->ctx->detail, sizeof(s->ctx->detail),
			 "signal %s, V8 done %lld ms after it, stored %lld ms after V8, file %s",
			 sig, (long long)(s->t_closed - s->t_signal),
			 (long long)(s->t_stored - s->t_closed), path);
	if (n >= (int)sizeof(s->ctx->detail))
		log_debug("capture: detail truncated (path %s)", path);
}

static int run_capture(struct sigcap *s, const char *sig)
{
	const struct config *cfg = s->ctx->cfg;
	unsigned start_s = cfg->start_timeout_s, total_s = cfg->timeout_s; /* config.c's defaults */
	s->timeout_s = total_s;
	bool resume = s->ctx->resume_after_ms != 0;
	int rc;
	if ((rc = open_target(s)) < 0 || (rc = open_snapshot_dir(s)) < 0 || (!resume && (rc = check_dir_fits(s)) < 0) ||
	    (rc = watch_dir(s)) < 0 || (!resume && (rc = scan_dir(s, true)) < 0))
		return rc;
	if (!(s->buf = malloc(READ_CHUNK)))
		return capture_fail(s->ctx, -ENOMEM, "out of memory");
	if (cancel_token_is_set(s->ctx->cancel))
		return fail_wake(s, WAIT_CANCELLED, "");
	s->t_signal = mono_ms();
	int64_t deadline = s->t_signal + (int64_t)total_s * 1000;
	int64_t start_deadline = s->t_signal + (int64_t)(start_s < total_s ? start_s : total_s) * 1000;
	if (resume) {
		/* The previous run's signal may still be unanswered: wait for its file as
		 * for a new one (and leave it to the late sweep if it does not come). */
		int adopted = adopt_resumed(s);
		if (adopted < 0)
			return adopted;
		if ((adopted == 1 && (rc = find_file(s, start_deadline, "the previous run's signal")) < 0) ||
		    (rc = open_file(s)) < 0 || (rc = stream_file(s, deadline)) < 0)
			return rc;
		fill_detail(s, sig);
		return 0;
	}
	rc = procs_pidfd_signal(s->pidfd, s->ctx->proc->opts.heapsnapshot_signal);
	if (rc < 0)
		return capture_fail(s->ctx, rc, "cannot send %s to process %d: %s", sig, (int)s->ctx->proc->pid,
			    strerror(-rc));
	if ((rc = find_file(s, start_deadline, sig)) < 0 || (rc = open_file(s)) < 0 ||
	    (rc = stream_file(s, deadline)) < 0)
		return rc;
	fill_detail(s, sig);
	log_debug("capture: pid %d: %llu bytes; after the signal: file %lld ms, first byte %lld ms, "
		  "V8 done %lld ms, stored %lld ms", (int)s->ctx->proc->pid, (unsigned long long)s->bytes,
		  (long long)(s->t_file - s->t_signal), (long long)(s->t_first_byte - s->t_signal),
		  (long long)(s->t_closed - s->t_signal), (long long)(s->t_stored - s->t_signal));
	return 0;
}

int capture_via_signal(struct capture_ctx *ctx)
{
	ctx->err[0] = '\0';
	ctx->detail[0] = '\0';
	char why[64], sig[32];
	if (!capture_signal_usable(ctx->proc, why, sizeof(why))) {
		return capture_fail(ctx, -EOPNOTSUPP, "signal capture not possible: %s", why);
	}
	signame(ctx->proc->opts.heapsnapshot_signal, sig, sizeof(sig));
	struct sigcap s = { .ctx = ctx, .pidfd = -1, .root_fd = -1, .cwd_fd = -1, .dir_fd = -1,
			    .ino_fd = -1, .file_fd = -1 };
	int rc = run_capture(&s, sig);
	sigcap_cleanup(&s);
	return rc;
}
