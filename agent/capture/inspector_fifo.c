// SPDX-License-Identifier: Apache-2.0
/* Inspector route, the FIFO transport (see inspector_fifo.h). */
#include "capture/inspector_fifo.h"

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

#include "base/log.h"
#include "base/loop.h"

#define FIFO_READ_BUF (256u << 10)


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

/* mkfifo in the target's /tmp (reached through /proc/PID/root), owned by the target's
 * uid, opened for reading (non-blocking, so it does not wait for the writer).
 * 0, or -errno (the caller falls back to chunks). */
int inspector_fifo_create(struct session *s, struct fifo *f)
{
	char dir[64];
	uint64_t rnd = 0;
	struct stat st;
	int saved;

	f->fd = f->dirfd = -1;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EAGAIN;
	snprintf(f->name, sizeof(f->name), ".heapsnap-%d-%016llx.heapsnapshot", (int)getpid(), (unsigned long long)rnd);
	snprintf(f->inside, sizeof(f->inside), "/tmp/%s", f->name);
	snprintf(dir, sizeof(dir), "/proc/%d/root/tmp", (int)s->pid);
	f->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0)
		return -errno;
	if (mkfifoat(f->dirfd, f->name, 0600) < 0) {
		f->name[0] = '\0';
		goto fail;
	}
	if (fchownat(f->dirfd, f->name, s->ctx->proc->uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail;
	f->fd = openat(f->dirfd, f->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (f->fd < 0 || fstat(f->fd, &st) < 0)
		goto fail;
	if (!S_ISFIFO(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	fcntl(f->fd, F_SETPIPE_SZ, 1 << 20); /* fewer wakeups; the default 64 KiB also works */
	return 0;
fail:
	saved = errno ? errno : EIO;
	inspector_fifo_destroy(f);
	return -saved;
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
	rc = session_send_request(s, FIFO_REQ_ID, "Runtime.evaluate",
			  json_pack("{s:s, s:b}", "expression", expr, "includeCommandLineAPI", 1), w);
	if (rc == 0)
		rc = fifo_transfer(s, f, w, buf);
	free(buf);
	return rc;
}

