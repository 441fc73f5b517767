// SPDX-License-Identifier: Apache-2.0
/* Inspector route, the CDP session (see inspector_session.h). */
#include "capture/inspector/inspector_session.h"

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
#include "base/ns.h"
#include "capture/inspector/connect_guard.h"
#include "proto/http.h"

/* While the inspector the agent opened is open, look often: connect to it the moment
 * it listens, see it gone the moment it closes (the window is measured), and look for
 * other clients on it every INTRUDER_CHECK_MS. */
#define FAST_SLICE_MS 2
#define INTRUDER_CHECK_MS 100
#define CLOSE_WAIT_MS 5000
#define MAX_MESSAGE (64ull << 20)
#define MAX_LIST_BODY (64u << 10)

struct wait_spec session_wait(struct session *s, int64_t ms)
{
	return wait_in(ms, s->ctx->cancel, s->pidfd);
}

/* The target's own listeners and (behind a guard) the namespace's listening ports
 * before the signal: the inspector is the listener that was not there, wherever the
 * app moved it (process.debugPort = 9333 needs no flag). Behind a guard, the "opening"
 * guard covers every port that was not listening until the inspector's is known. */
static int prepare_opening(struct session *s)
{
	ssize_t n;
	int rc;

	s->before = malloc(INSPECTOR_MAX_LISTENERS * sizeof(*s->before));
	if (!s->before)
		return capture_fail(s->ctx, -ENOMEM, "out of memory");
	s->nbefore = inspector_owned_listeners(s->pid, s->before, INSPECTOR_MAX_LISTENERS);
	if (!s->guarded)
		return 0;
	s->exempt = malloc(CG_MAX_EXEMPT_PORTS * sizeof(*s->exempt));
	if (!s->exempt)
		return capture_fail(s->ctx, -ENOMEM, "out of memory");
	n = inspector_netns_listen_ports(s->pid, s->exempt, CG_MAX_EXEMPT_PORTS);
	if (n < 0)
		return capture_fail(s->ctx, (int)n, "more than %d listening ports in the network namespace of pid %d: "
				    "the inspector's port could not be guarded while it opens", CG_MAX_EXEMPT_PORTS, (int)s->pid);
	s->nexempt = (size_t)n;
	rc = connect_guard_arm_opening(s->ctx->cguard, s->netns_cookie, s->exempt, s->nexempt);
	if (rc == -EEXIST)
		return capture_fail(s->ctx, -EBUSY, "another inspector is opening in the network namespace of pid %d",
				    (int)s->pid);
	if (rc < 0)
		return capture_fail(s->ctx, rc, "arming the connect guard for the opening inspector: %s", strerror(-rc));
	s->opening_guarded = true;
	return 0;
}

/* The inspector opened on another port than expected: guard that one instead. */
static int move_guard(struct session *s, int port)
{
	uint64_t refused = 0;
	int rc;

	log_info("pid %d: its inspector opened on port %d, not %d (the app sets process.debugPort?)", (int)s->pid, port,
		 s->port);
	if (s->guarded) {
		if ((rc = connect_guard_arm(s->ctx->cguard, s->netns_cookie, port)) < 0) {
			s->port = port;
			s->guarded = false; /* the old port's guard goes; the opening guard still covers it */
			return capture_fail(s->ctx, rc == -EEXIST ? -EBUSY : rc, "guarding the inspector on port %d: %s",
					    port, strerror(-rc));
		}
		connect_guard_disarm(s->ctx->cguard, s->netns_cookie, s->port, &refused);
	}
	s->port = port;
	return 0;
}

/* The listener is known: the exact port is guarded, the opening guard can go. */
static int opened(struct session *s)
{
	int rc = s->l.port != s->port ? move_guard(s, s->l.port) : 0;

	s->seen_open = true;
	s->t_open = mono_ms();

	log_debug("pid %d: inspector listening on port %d %lld ms after SIGUSR1", (int)s->pid, s->port,
		  (long long)(mono_ms() - s->signalled_ms));
	if (rc == 0)
		session_opening_done(s);
	return rc;
}

/* The inspector SIGUSR1 opened: on the expected port, or any listener of its own that
 * was not there before the signal. */
static bool find_opened(struct session *s)
{
	struct listener l = { 0 };

	if (!s->ctx->proc->opts.inspect_port_random) {
		l = inspector_find_listener(s->pid, s->port);
		if (l.found && l.owned) {
			s->l = l;
			return true;
		}
	}
	if (inspector_find_new_listener(s->pid, s->before, s->nbefore, &l)) {
		s->l = l;
		return true;
	}
	if (l.found)
		s->l = l; /* someone else's on the port: said if nothing else comes */
	return false;
}

/* SIGUSR1, then wait for the target's own new listener. */
int session_open_inspector(struct session *s)
{
	unsigned limit = s->ctx->cfg->start_timeout_s;
	struct wait_spec w = session_wait(s, (int64_t)limit * 1000);
	int rc;

	if (s->ctx->proc->opts.disable_sigusr1)
		return capture_fail(s->ctx, -EPERM, "started with --disable-sigusr1 and no inspector listening on port %d", s->port);
	if ((rc = prepare_opening(s)) < 0)
		return rc;
	s->signalled_ms = mono_ms();
	rc = procs_pidfd_signal(s->pidfd, SIGUSR1);
	if (rc == -ESRCH)
		return capture_fail(s->ctx, rc, "process exited during capture");
	if (rc < 0)
		return capture_fail(s->ctx, rc, "SIGUSR1: %s", strerror(-rc));
	s->opened_by_us = true;
	for (;;) {
		enum wait_result r;
		if (find_opened(s))
			return opened(s);
		/* No event tells that the port listens: look again after a short pause. */
		r = wait_pause(&w, mono_ms() - s->signalled_ms < 1000 ? FAST_SLICE_MS : INSPECTOR_POLL_SLICE_MS);
		if (r == WAIT_TIMEOUT && find_opened(s))
			return opened(s); /* just in time: capture, and close it afterwards */
		if (r == WAIT_TIMEOUT && s->l.found)
			return session_fail_taken(s);
		if (r == WAIT_TIMEOUT && s->ctx->proc->opts.inspect)
			return capture_fail(s->ctx, -ETIMEDOUT, "SIGUSR1 did not open the inspector within %us (started with --inspect: "
				    "is it listening on a port other than %d?)", limit, s->port);
		if (r == WAIT_TIMEOUT)
			return capture_fail(s->ctx, -ETIMEDOUT, "SIGUSR1 did not open the inspector within %us (the app may handle SIGUSR1 itself)", limit);
		if (r != WAIT_READY)
			return capture_fail(s->ctx, wait_result_errno(r), "%s", wait_result_str(r));
	}
}

void session_opening_done(struct session *s)
{
	uint64_t refused = 0;

	if (s->opening_guarded) {
		connect_guard_disarm_opening(s->ctx->cguard, s->netns_cookie, s->exempt, s->nexempt, &refused);
		if (refused)
			log_warn("pid %d: the connect guard refused %llu connection attempt(s) while the inspector opened",
				 (int)s->pid, (unsigned long long)refused);
	}
	s->opening_guarded = false;
	free(s->exempt);
	s->exempt = NULL;
	s->nexempt = 0;
}

int session_fail_taken(struct session *s)
{
	inspector_describe_taken(&s->l, s->port, s->ctx->err, sizeof(s->ctx->err));
	return -EBUSY;
}

/* connect(), let through our own guard for this one socket. 0 (or -EINPROGRESS), or a
 * negative errno. */
static int guarded_connect(struct session *s, int fd, const struct sockaddr *sa, socklen_t len)
{
	uint64_t cookie = 0;
	int rc;

	if (s->guarded && (rc = connect_guard_allow(s->ctx->cguard, fd, &cookie)) < 0)
		return rc;
	rc = connect(fd, sa, len) < 0 ? ERR_ERRNO() : 0;
	connect_guard_unallow(s->ctx->cguard, cookie);
	return rc;
}

static void note_own_port(struct session *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (s->nown >= MAX_OWN_PORTS || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	s->own_ports[s->nown++] = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
								: ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int connect_inspector(struct session *s, const struct wait_spec *w, int *out_fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	char ip[INET6_ADDRSTRLEN];
	int fd, rc, soerr = 0;
	socklen_t solen = sizeof(soerr);
	enum wait_result r;

	if (s->l.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)s->port);
		memcpy(&sin->sin_addr, s->l.addr, 4);
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(s->host, sizeof(s->host), "%s:%d", ip, s->port);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)s->port);
		memcpy(&sin6->sin6_addr, s->l.addr, 16);
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(s->host, sizeof(s->host), "[%s]:%d", ip, s->port);
		sslen = sizeof(*sin6);
	}
	fd = ns_socket(s->pid, s->l.family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return capture_fail(s->ctx, fd, "socket in the network namespace of pid %d: %s", (int)s->pid, strerror(-fd));
	rc = guarded_connect(s, fd, (struct sockaddr *)&ss, sslen);
	if (rc < 0 && rc != -EINPROGRESS) {
		capture_fail(s->ctx, rc, "connect to inspector %s: %s", s->host, strerror(-rc));
		close(fd);
		return rc;
	}
	note_own_port(s, fd);
	r = wait_fd(w, fd, POLLOUT);
	if (r == WAIT_READY && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &solen) == 0 && soerr == 0) {
		*out_fd = fd;
		return 0;
	}
	rc = r != WAIT_READY ? wait_result_errno(r) : soerr ? -soerr : ERR_ERRNO();
	capture_fail(s->ctx, rc, "connect to inspector %s: %s", s->host, r != WAIT_READY ? wait_result_str(r) : strerror(-rc));
	close(fd);
	return rc;
}

/* Node lets any number of clients attach and says nothing about it. On an inspector we
 * opened, any connection but ours is an intruder (the guard should have made that
 * impossible; without it, this is what is left): abort. Checked at most every
 * INTRUDER_CHECK_MS unless forced. 0, or -EACCES with the reason. */
int session_check_intruders(struct session *s, bool force)
{
	int64_t now = mono_ms();
	int peer;

	if (!s->opened_by_us || (!force && now < s->next_check_ms))
		return 0;
	s->next_check_ms = now + INTRUDER_CHECK_MS;
	if (!(peer = inspector_foreign_peer_of(s->pid, s->port, s->own_ports, s->nown)))
		return 0;
	s->intruded = true;
	return capture_fail(s->ctx, -EACCES, "another client attached to the inspector (a connection from port %d besides "
			    "the agent's own)%s", peer, s->guarded ? "" : "; it was not guarded");
}

int session_store_write(void *ctx, const void *buf, size_t len)
{
	struct session *s = ctx;
	int rc = store_writer_write(s->ctx->w, buf, len);

	if (rc < 0) {
		s->store_rc = rc;
		return rc;
	}
	if (!s->bytes_written)
		s->t_first_byte = mono_ms();
	s->bytes_written += len;
	return 0;
}

int session_on_message(void *ctx, json_t *msg)
{
	struct session *s = ctx;

	if (cdp_message_id(msg) != s->want_id)
		return 0;
	s->replied = true;
	if (cdp_message_error(msg, s->reply_err, sizeof(s->reply_err)))
		return 0;
	s->reply_err[0] = '\0';
	json_t *exc = json_object_get(json_object_get(msg, "result"), "exceptionDetails");
	if (exc) {
		const char *d = json_string_value(json_object_get(json_object_get(exc, "exception"), "description"));
		const char *t = json_string_value(json_object_get(exc, "text"));
		snprintf(s->reply_err, sizeof(s->reply_err), "%.*s", (int)strcspn(d ? d : t ? t : "exception", "\n"),
			 d ? d : t ? t : "exception");
	}
	return 0;
}

/* /json/list on a fresh connection, then the WebSocket on another. */
int session_attach(struct session *s, const struct wait_spec *w)
{
	char path[256], *body = NULL;
	size_t body_len = 0;
	int r;
	int fd, rc;

	if ((rc = connect_inspector(s, w, &fd)) < 0)
		return rc;
	rc = http_get(fd, s->host, "/json/list", w, MAX_LIST_BODY, &body, &body_len, s->ctx->err, sizeof(s->ctx->err));
	close(fd);
	if (rc == 0)
		rc = http_inspector_ws_path(body, body_len, path, sizeof(path), s->ctx->err, sizeof(s->ctx->err));
	free(body);
	if (rc < 0 || (rc = connect_inspector(s, w, &fd)) < 0)
		return rc;
	s->ws = ws_conn_open(fd, s->host, path, w, MAX_MESSAGE, &r, s->ctx->err, sizeof(s->ctx->err));
	if (!s->ws && ws_io_wait_str(r))
		return capture_fail(s->ctx, r, "inspector websocket: %s", ws_io_wait_str(r));
	if (s->ws && !s->t_attached)
		s->t_attached = mono_ms();
	return s->ws ? 0 : r;
}

int session_send_request(struct session *s, int id, const char *method, json_t *params, const struct wait_spec *w)
{
	char *req = cdp_request(id, method, params);
	int r;

	if (!req)
		return capture_fail(s->ctx, -ENOMEM, "out of memory building %s", method);
	r = ws_conn_send_text(s->ws, req, strlen(req), w, s->ctx->err, sizeof(s->ctx->err));
	free(req);
	if (r != 0 && ws_io_wait_str(r))
		return capture_fail(s->ctx, r, "%s", ws_io_wait_str(r));
	return r;
}

int session_pump_error(struct session *s, int r)
{
	/* A dying target closes its sockets just before its pidfd becomes readable. */
	if (r < 0 && !ws_io_wait_str(r) && wait_target_exited(s->pidfd, 200))
		return capture_fail(s->ctx, -ESRCH, "process exited during capture");
	if (s->store_rc)
		return capture_fail(s->ctx, s->store_rc, "%s", store_writer_error(s->ctx->w));
	if (r == -ETIMEDOUT)
		return capture_fail(s->ctx, r, "heap snapshot not finished within %us", s->ctx->cfg->timeout_s);
	if (ws_io_wait_str(r))
		return capture_fail(s->ctx, r, "%s", ws_io_wait_str(r));
	if (cdp_decoder_error(s->dec)[0])
		return capture_fail(s->ctx, r, "inspector: %s", cdp_decoder_error(s->dec));
	if (!s->ctx->err[0])
		return capture_fail(s->ctx, r, "inspector connection failed");
	return r < 0 ? r : -EIO;
}

int session_take_snapshot(struct session *s, const struct wait_spec *w)
{
	struct ws_sink sink;
	int r;

	cdp_decoder_ws_sink(s->dec, &sink);
	s->want_id = SNAPSHOT_REQ_ID;
	s->replied = false;
	s->reply_err[0] = '\0';
	s->t_requested = mono_ms();
	if ((r = session_send_request(s, SNAPSHOT_REQ_ID, "HeapProfiler.takeHeapSnapshot",
				      json_pack("{s:b}", "reportProgress", 0), w)) < 0)
		return r;
	while (!s->replied) {
		r = ws_conn_pump(s->ws, &sink, w, s->ctx->err, sizeof(s->ctx->err));
		if (r != 0)
			return session_pump_error(s, r);
		if ((r = session_check_intruders(s, false)) < 0)
			return r;
	}
	s->t_last_byte = mono_ms();
	if (s->reply_err[0])
		return capture_fail(s->ctx, -EIO, "HeapProfiler.takeHeapSnapshot failed: %s", s->reply_err);
	return 0;
}

bool session_port_still_open(struct session *s)
{
	struct listener l = inspector_find_listener(s->pid, s->port);
	return l.found && l.owned;
}

/* SIGUSR1 both starts the inspector at once (a V8 interrupt, even inside a long JS
 * task) and queues a second start on the event loop. Closing before that queued start
 * has run lets it open the inspector again afterwards: so wait for one turn of the
 * target's event loop first (the async start runs in the poll phase, the setImmediate
 * in the check phase after it). Bounded by the capture's timeout; a cancel (the agent
 * stopping) ends it early. true once the loop has turned. */
static bool settle_event_loop(struct session *s)
{
	struct wait_spec w = wait_in((int64_t)s->ctx->cfg->timeout_s * 1000, s->ctx->cancel, s->pidfd);
	struct ws_sink sink;

	cdp_decoder_ws_sink(s->dec, &sink);
	s->want_id = SETTLE_REQ_ID;
	s->replied = false;
	if (session_send_request(s, SETTLE_REQ_ID, "Runtime.evaluate",
			 json_pack("{s:s, s:b}", "expression", "new Promise(r => setImmediate(r))",
				   "awaitPromise", 1), &w) < 0)
		return false;
	while (!s->replied)
		if (ws_conn_pump(s->ws, &sink, &w, s->ctx->err, sizeof(s->ctx->err)) != 0)
			return false;
	return true;
}

/* Late: the inspector opened after the open gave up, on a port of its choosing. */
static void find_late_listener(struct session *s)
{
	struct listener l;

	if (s->before && !session_port_still_open(s) && inspector_find_new_listener(s->pid, s->before, s->nbefore, &l)) {
		log_warn("pid %d: its inspector opened late, on port %d: closing it", (int)s->pid, l.port);
		s->l = l;
		s->seen_open = true;
		if (l.port != s->port && move_guard(s, l.port) < 0)
			log_warn("pid %d: %s", (int)s->pid, s->ctx->err);
	}
}

/* Ask the target to close the inspector we opened and wait until the port is gone.
 * Runs even after a failed or cancelled capture. */
bool session_close_inspector(struct session *s)
{
	struct wait_spec w = wait_in(CLOSE_WAIT_MS, NULL, s->pidfd); /* not cancellable */
	char saved_err[sizeof(s->ctx->err)];
	struct ws_sink ignore = { 0 };
	bool settled = false;
	int r = 0;

	s->t_close_begin = mono_ms();
	memcpy(saved_err, s->ctx->err, sizeof(saved_err));
	find_late_listener(s);
	if (!s->ws && session_port_still_open(s))
		session_attach(s, &w);
	if (s->ws) {
		settled = settle_event_loop(s);
		w.deadline_ms = mono_ms() + CLOSE_WAIT_MS;
	}
	/* Closed even when the loop has not turned: shut now, it can only reopen behind the
	 * guard the caller keeps (and the journal that stays). */
	if (s->ws && session_send_request(s, CLOSE_REQ_ID, "Runtime.evaluate",
				  json_pack("{s:s, s:b}", "expression", "require('inspector').close()",
					    "includeCommandLineAPI", 1), &w) == 0) {
		/* The inspector drops our connection when it closes: wait for that. */
		while (r == 0)
			r = ws_conn_pump(s->ws, &ignore, &w, s->ctx->err, sizeof(s->ctx->err));
	}
	ws_conn_free(s->ws);
	s->ws = NULL;
	memcpy(s->ctx->err, saved_err, sizeof(saved_err));
	s->t_close_asked = mono_ms();
	/* Closing takes a few ms: look often at first (the window is measured), then less. */
	int64_t asked = mono_ms();
	while (session_port_still_open(s)) {
		int slice = mono_ms() - asked < 500 ? FAST_SLICE_MS : INSPECTOR_POLL_SLICE_MS;
		if (r == -ESRCH || wait_pause(&w, slice) != WAIT_READY)
			break;
	}
	if (wait_target_exited(s->pidfd, 0) || (!s->seen_open && !session_port_still_open(s))) {
		/* Nothing left to open, or it never opened (the app handles SIGUSR1 itself). */
		s->gone_ms = mono_ms();
		return true;
	}
	s->close_unconfirmed = !settled;
	if (session_port_still_open(s))
		return false;
	s->gone_ms = mono_ms();
	return settled;
}

void session_keep_guard(struct session *s)
{
	session_opening_done(s);
	if (!s->guarded) {
		log_warn("pid %d: its inspector on port %d may be open (or reopen) and is NOT guarded", (int)s->pid, s->port);
		return;
	}
	log_warn("pid %d: the connect guard on its inspector port %d stays armed until the agent exits: %s", (int)s->pid,
		 s->port, s->close_unconfirmed ? "its event loop had not turned when it was closed, so the start SIGUSR1 "
		 "queued may reopen it" : "it still listens after the close request");
	s->guarded = false; /* not disarmed: kept */
}

void session_describe_success(struct session *s, bool closed)
{
	const char *ns = s->other_ns ? " in the target's network namespace" : "";
	const char *how = s->used_fifo ? "FIFO" : "chunks";

	if (!s->opened_by_us)
		snprintf(s->ctx->detail, sizeof(s->ctx->detail), "inspector %s%s, already open, left open (%s)",
			 s->host, ns, how);
	else if (closed)
		snprintf(s->ctx->detail, sizeof(s->ctx->detail), "inspector %s%s, opened with SIGUSR1 and closed (%s)",
			 s->host, ns, how);
	else
		snprintf(s->ctx->detail, sizeof(s->ctx->detail),
			 "inspector %s%s, opened with SIGUSR1; closing it FAILED: the port still listens (%s)", s->host, ns, how);
}

/* Arm the connect guard on the port in the target's network namespace, before the
 * inspector exists. Without a guard: only when the operator allows it (may_open). */
int session_arm_guard(struct session *s)
{
	int fd, rc;

	if (!connect_guard_available(s->ctx->cguard) || s->ctx->proc->opts.inspect_port_random ||
	    !inspect_host_is_loopback(s->ctx->proc->opts.inspect_host))
		return 0;
	fd = ns_socket(s->pid, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return capture_fail(s->ctx, fd, "socket in the network namespace of pid %d: %s", (int)s->pid, strerror(-fd));
	rc = connect_guard_netns_cookie(fd, &s->netns_cookie);
	close(fd);
	if (rc == 0)
		rc = connect_guard_arm(s->ctx->cguard, s->netns_cookie, s->port);
	if (rc == -EEXIST)
		return capture_fail(s->ctx, -EBUSY, "inspector port %d in the network namespace of pid %d is guarded for "
				    "another capture already", s->port, (int)s->pid);
	if (rc < 0)
		return capture_fail(s->ctx, rc, "arming the inspector connect guard: %s", strerror(-rc));
	s->guarded = true;
	return 0;
}

void session_disarm_guard(struct session *s)
{
	uint64_t refused = 0;
	int rc;

	session_opening_done(s);
	if (!s->guarded)
		return;
	rc = connect_guard_disarm(s->ctx->cguard, s->netns_cookie, s->port, &refused);
	s->guarded = false;
	if (rc < 0)
		log_warn("pid %d: disarming the inspector connect guard: %s", (int)s->pid, strerror(-rc));
	else if (refused)
		log_warn("pid %d: the connect guard refused %llu connection attempt(s) to the inspector on port %d",
			 (int)s->pid, (unsigned long long)refused, s->port);
}

int session_open_guarded(struct session *s)
{
	char why[400];

	if (!inspector_may_open(s->ctx->proc, s->ctx->cfg, s->ctx->cguard, why, sizeof(why)))
		return capture_fail(s->ctx, -EPERM, "%s", why);
	return session_arm_guard(s);
}
