// SPDX-License-Identifier: Apache-2.0
/* Inspector route, the FIFO transport (see inspector_fifo.h). */
#include "capture/inspector/inspector_fifo.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsroot.h"
#include "base/log.h"
#include "base/loop.h"
#include "track/procs.h"

#define FIFO_READ_BUF (256u << 10)


static bool in_groups(const struct proc_creds *c, gid_t gid)
{
	if (c->fsgid == gid)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/* Whether the target's user could create a file in the directory itself: write and
 * search permission by its mode bits (owner, group, other, in that order, as the
 * kernel checks them). The agent creates the FIFO as root (it keeps no CAP_SETUID to
 * become the target), so it does so only where the target could: whoever controls the
 * target's mounts (a bind mount over its /tmp, a user namespace) chooses only where
 * the target itself can write. ACLs that would grant more are not read: refused then
 * (the chunks transport needs no file). A root target may write anywhere. */
static bool target_may_create_in(const struct proc_creds *c, const struct stat *dir)
{
	mode_t need;

	if (c->fsuid == 0)
		return true;
	if (dir->st_uid == c->fsuid)
		need = S_IWUSR | S_IXUSR;
	else if (in_groups(c, dir->st_gid))
		need = S_IWGRP | S_IXGRP;
	else
		need = S_IWOTH | S_IXOTH;
	return (dir->st_mode & need) == need;
}

void inspector_fifo_destroy(struct fifo *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0 && f->name[0])
		unlinkat(f->dirfd, f->name, 0);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->fd = f->dirfd = -1;
	f->name[0] = '\0';
}

/* The target's /tmp, resolved inside its root (RESOLVE_IN_ROOT: no symlink or ".."
 * leads out, and /tmp itself must not be a symlink). fd or -errno. */
static int open_target_tmp(pid_t pid)
{
	int root = fsroot_open_proc_root(pid), dir;

	if (root < 0)
		return root;
	dir = fsroot_open(root, root, "/tmp", O_PATH | O_DIRECTORY | O_NOFOLLOW);
	close(root);
	return dir;
}

/* mkfifo in the target's /tmp where its user may create files (target_may_create_in),
 * owned by that user, opened for reading (non-blocking, so it does not wait for the
 * writer). 0, or -errno (the caller falls back to chunks). */
int inspector_fifo_create(struct session *s, struct fifo *f)
{
	uint64_t rnd = 0;
	struct stat st;
	int rc;

	f->fd = f->dirfd = -1;
	f->name[0] = '\0';
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EAGAIN;
	if ((rc = procs_credentials(s->pid, &f->creds)) < 0)
		return rc;
	snprintf(f->name, sizeof(f->name), ".heapsnap-%d-%016llx.heapsnapshot", (int)getpid(), (unsigned long long)rnd);
	snprintf(f->inside, sizeof(f->inside), "/tmp/%s", f->name);
	if ((f->dirfd = open_target_tmp(s->pid)) < 0) {
		rc = f->dirfd;
		f->name[0] = '\0';
		goto fail;
	}
	if (fstat(f->dirfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		f->name[0] = '\0';
		goto fail;
	}
	if (!target_may_create_in(&f->creds, &st)) {
		rc = -EACCES;
		f->name[0] = '\0';
		goto fail;
	}
	if (mkfifoat(f->dirfd, f->name, 0600) < 0) {
		rc = -errno;
		f->name[0] = '\0';
		goto fail;
	}
	if (fchownat(f->dirfd, f->name, f->creds.fsuid, f->creds.fsgid, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		goto fail;
	}
	f->fd = openat(f->dirfd, f->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISFIFO(st.st_mode) || st.st_uid != f->creds.fsuid) {
		rc = -EINVAL;
		goto fail;
	}
	fcntl(f->fd, F_SETPIPE_SZ, 1 << 20); /* fewer wakeups; the default 64 KiB also works */
	return 0;
fail:
	inspector_fifo_destroy(f);
	return rc < 0 ? rc : -EIO;
}

/* Reads what the FIFO holds now. 1 at end of data (writer closed), 0 for more later, a
 * negative errno on error. */
static int fifo_drain(struct session *s, struct fifo *f, uint8_t *buf)
{
	for (;;) {
		ssize_t n = read(f->fd, buf, FIFO_READ_BUF);
		if (n > 0) {
			int rc = session_store_write(s, buf, (size_t)n);
			if (rc < 0)
				return capture_fail(s->ctx, rc, "%s", store_writer_error(s->ctx->w));
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return capture_fail(s->ctx, ERR_ERRNO(), "reading the snapshot FIFO: %s", strerror(errno));
	}
}

/* Wait for FIFO data, websocket messages, the target's exit, cancel or the deadline;
 * on an inspector we opened, at most until the next intruder check (WAIT_READY with
 * nothing ready then). */
static enum wait_result fifo_wait(struct session *s, struct fifo *f, bool fifo_open, const struct wait_spec *w,
				  bool *fifo_ready, bool *ws_ready)
{
	struct pollfd pfd[2] = { { .fd = ws_conn_fd(s->ws), .events = POLLIN },
				 { .fd = fifo_open ? f->fd : -1, .events = POLLIN } };
	struct wait_spec until = *w;

	*fifo_ready = *ws_ready = false;
	if (cancel_token_is_set(w->cancel))
		return WAIT_CANCELLED;
	if (w->deadline_ms - mono_ms() <= 0)
		return WAIT_TIMEOUT;
	if (ws_conn_has_pending(s->ws)) {
		*ws_ready = true;
		return WAIT_READY;
	}
	if (s->opened_by_us && s->next_check_ms < until.deadline_ms)
		until.deadline_ms = s->next_check_ms;
	enum wait_result r = wait_poll(&until, pfd, 2);
	if (r == WAIT_TIMEOUT && until.deadline_ms < w->deadline_ms)
		return WAIT_READY;
	*ws_ready = r == WAIT_READY && pfd[0].revents != 0;
	*fifo_ready = r == WAIT_READY && pfd[1].revents != 0;
	return r;
}

/* Until the evaluate reply has come and the FIFO is at its end. */
static int fifo_transfer(struct session *s, struct fifo *f, const struct wait_spec *w, uint8_t *buf)
{
	struct ws_sink sink;
	bool eof = false;

	cdp_decoder_ws_sink(s->dec, &sink);
	while (!(s->replied && eof)) {
		bool fifo_ready, ws_ready;
		enum wait_result wr;
		int r;

		if (s->replied) {
			/* writeHeapSnapshot returned: the writer is closed, the rest is in the pipe. */
			int rc = fifo_drain(s, f, buf);
			if (rc < 0)
				return rc;
			eof = true;
			break;
		}
		if ((r = session_check_intruders(s, false)) < 0)
			return r;
		wr = fifo_wait(s, f, !eof, w, &fifo_ready, &ws_ready);
		if (wr == WAIT_TIMEOUT)
			return capture_fail(s->ctx, -ETIMEDOUT, "heap snapshot not finished within %us", s->ctx->cfg->timeout_s);
		if (wr != WAIT_READY)
			return capture_fail(s->ctx, wait_result_errno(wr), "%s", wait_result_str(wr));
		if (fifo_ready) {
			int rc = fifo_drain(s, f, buf);
			if (rc < 0)
				return rc;
			eof = rc == 1;
		}
		if (ws_ready) {
			r = ws_conn_pump(s->ws, &sink, w, s->ctx->err, sizeof(s->ctx->err));
			if (r != 0)
				return session_pump_error(s, r);
		}
	}
	if (s->reply_err[0])
		return capture_fail(s->ctx, -EIO, "v8.writeHeapSnapshot into the FIFO failed: %s", s->reply_err);
	return 0;
}

int inspector_fifo_snapshot(struct session *s, struct fifo *f, const struct wait_spec *w)
{
	char expr[160];
	uint8_t *buf = malloc(FIFO_READ_BUF);
	int rc;

	if (!buf)
		return capture_fail(s->ctx, -ENOMEM, "out of memory");
	snprintf(expr, sizeof(expr), "require('v8').writeHeapSnapshot('%s')", f->inside);
	s->want_id = FIFO_REQ_ID;
	s->replied = false;
	s->t_requested = mono_ms();
	rc = session_send_request(s, FIFO_REQ_ID, "Runtime.evaluate",
			  json_pack("{s:s, s:b}", "expression", expr, "includeCommandLineAPI", 1), w);
	if (rc == 0)
		rc = fifo_transfer(s, f, w, buf);
	s->t_last_byte = mono_ms();
	free(buf);
	return rc;
}

