// SPDX-License-Identifier: Apache-2.0
/* Capture route through the Node inspector, for processes started without
 * --heapsnapshot-signal: find or open the inspector
 * (SIGUSR1 through a pidfd), GET /json/list, WebSocket, HeapProfiler.takeHeapSnapshot,
 * get the snapshot, and close the inspector again if we opened it. The route entry is
 * here; its parts by job:
 *  - inspector_port.c: port discovery. /proc/PID/net/tcp{,6} already shows the
 *    target's network namespace; only the socket is created inside it (ns.c).
 *  - inspector_session.c: the CDP session (connect guard, WebSocket, requests, the
 *    chunk transport, intruders, closing the inspector).
 *  - inspector_fifo.c: the FIFO transport.
 *
 * Two transports for the snapshot bytes, chosen automatically:
 *  - FIFO (preferred): mkfifo in the target's mount namespace (/proc/PID/root/tmp),
 *    Runtime.evaluate "require('v8').writeHeapSnapshot(fifo)" and read the raw bytes
 *    from the FIFO. V8 writes natively; no JSON escaping in the target, no decoding here.
 *    Measured (tests/bench/inspector.sh, ~100 MB heap): CPU of node + agent 1.07x
 *    writeHeapSnapshot(file) vs 1.41x for chunks. It leaves a FIFO node (never data) in
 *    the target's /tmp for the duration of the capture, removed afterwards.
 *  - chunks: HeapProfiler.takeHeapSnapshot, decoding addHeapSnapshotChunk events.
 *    Used when the FIFO cannot be created (no /tmp, read-only, no access) or the
 *    evaluate fails before any byte arrived.
 * Every wait is one wait.h wait: bounded, cancellable (the cancel token wakes it) and
 * watching the target's pidfd; only the looks at /proc tables for a listener (no event
 * exists for those) pause between tries. Memory: a 256 KiB read buffer, a 64 KiB
 * decode buffer and small messages (<= 1 MiB), whatever the snapshot size. */
#include "capture/capture_route.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/inspector/capture_inspector.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/ns.h"
#include "capture/inspector/inspector_fifo.h"
#include "capture/inspector/inspector_session.h"

/* FIFO first when allowed and possible; chunks when the FIFO cannot be set up, or
 * failed before a single byte reached the store (nothing to undo then). */
static int snapshot(struct session *s, enum inspector_transport t, const struct wait_spec *w)
{
	struct fifo f = { .fd = -1, .dirfd = -1 };
	int rc;

	if (t == INSPECTOR_CHUNKS)
		return session_take_snapshot(s, w);
	if ((rc = inspector_fifo_create(s, &f)) < 0) {
		if (t == INSPECTOR_FIFO)
			return capture_fail(s->ctx, rc, "cannot create a FIFO in the target's /tmp: %s", strerror(-rc));
		log_debug("pid %d: no FIFO in its /tmp (%s), using snapshot chunks", (int)s->pid, strerror(-rc));
		return session_take_snapshot(s, w);
	}
	s->used_fifo = true;
	rc = inspector_fifo_snapshot(s, &f, w);
	inspector_fifo_destroy(&f);
	if (rc == 0 || t == INSPECTOR_FIFO || s->bytes_written || s->store_rc || s->intruded ||
	    cancel_token_is_set(s->ctx->cancel) || wait_target_exited(s->pidfd, 0) || !s->ws)
		return rc;
	log_info("pid %d: FIFO snapshot failed before any data (%s), using snapshot chunks", (int)s->pid, s->ctx->err);
	s->used_fifo = false;
	s->ctx->err[0] = '\0';
	return session_take_snapshot(s, w);
}

static int run_capture(struct session *s, enum inspector_transport t)
{
	struct wait_spec w;

	if (!s->ctx->proc->opts.inspect_port_random)
		s->l = inspector_find_listener(s->pid, s->port);
	int rc;

	if (s->l.found && !s->l.owned)
		return session_fail_taken(s);
	if (!s->l.found && ((rc = session_open_guarded(s)) < 0 || (rc = session_open_inspector(s)) < 0))
		return rc;
	if (!listener_on_loopback(&s->l)) {
		char addr[64];
		listener_address(&s->l, addr, sizeof(addr));
		return capture_fail(s->ctx, -EPERM, "the inspector listens on %s, not on loopback: refused (reachable "
				    "from other hosts; the agent does not use it)", addr);
	}
	w = session_wait(s, (int64_t)s->ctx->cfg->timeout_s * 1000);
	/* The decoder first: closing the inspector after a failure talks to it too. */
	s->dec = cdp_decoder_new(0, session_store_write, session_on_message, s);
	if (!s->dec)
		return capture_fail(s->ctx, -ENOMEM, "out of memory");
	if ((rc = session_attach(s, &w)) < 0 || (rc = session_check_intruders(s, true)) < 0 ||
	    (rc = snapshot(s, t, &w)) < 0)
		return rc;
	return session_check_intruders(s, true);
}

/* Where one capture's time went, from the route's start: each phase's end, in ms
 * (-1 = not reached). */
static void log_phases(const struct session *s)
{
	int64_t t0 = s->t_begin, end = s->gone_ms ? s->gone_ms : mono_ms();
#define AT(t) ((t) ? (long long)((t) - t0) : -1ll)
	log_info("pid %d: inspector phases (ms from the route's start): signal %lld, listening %lld, attached %lld, "
		 "requested %lld, first byte %lld, last byte %lld, close begun %lld, closed asked %lld, port gone %lld "
		 "(%llu bytes, %s)", (int)s->pid, AT(s->signalled_ms), AT(s->t_open), AT(s->t_attached),
		 AT(s->t_requested), AT(s->t_first_byte), AT(s->t_last_byte), AT(s->t_close_begin),
		 AT(s->t_close_asked), (long long)(end - t0), (unsigned long long)s->bytes_written,
		 s->used_fifo ? "FIFO" : "chunks");
#undef AT
}

int capture_via_inspector(struct capture_ctx *ctx)
{
	return capture_inspector_run(ctx, INSPECTOR_AUTO);
}

int capture_inspector_run(struct capture_ctx *ctx, enum inspector_transport transport)
{
	struct session s = { .ctx = ctx, .pid = ctx->proc->pid, .pidfd = -1, .port = inspector_port(ctx->proc) };
	int rc;
	bool closed = false;

	ctx->err[0] = ctx->detail[0] = '\0';
	ctx->inspector_opened = ctx->inspector_left_open = false;
	ctx->inspector_window_ms = 0;
	s.t_begin = mono_ms();
	s.pidfd = procs_pidfd_open(s.pid, ctx->proc->start_time);
	if (s.pidfd < 0)
		return capture_fail(s.ctx, s.pidfd, "process exited before capture (pidfd: %s)", strerror(-s.pidfd));
	s.other_ns = ns_net_differs(s.pid) == 1;
	rc = run_capture(&s, transport);
	if (s.opened_by_us) {
		closed = session_close_inspector(&s);
		ctx->inspector_left_open = !closed;
		if (!closed)
			log_warn("inspector of pid %d on port %d: opened by SIGUSR1, %s", (int)s.pid, s.port,
				 s.close_unconfirmed ? "closed before its event loop turned (the queued start may reopen it)"
						     : "still listening after the close request");
		ctx->inspector_opened = true;
		ctx->inspector_window_ms = (closed ? s.gone_ms : mono_ms()) - s.signalled_ms;
		log_info("pid %d: the inspector was open %lld ms (SIGUSR1 to closed%s), %s", (int)s.pid,
			 (long long)ctx->inspector_window_ms, closed ? "" : ": NOT closed",
			 s.guarded ? "behind the connect guard" : "UNGUARDED (inspector_unguarded = on)");
	} else {
		if (s.ws)
			ws_conn_close(s.ws, &(struct wait_spec){ mono_ms() + 250, NULL, -1 });
		ws_conn_free(s.ws);
	}
	if (s.opened_by_us && !closed)
		session_keep_guard(&s);
	else
		session_disarm_guard(&s);
	log_phases(&s);
	if (rc == 0)
		session_describe_success(&s, closed);
	else if (s.opened_by_us && !closed)
		snprintf(ctx->err + strlen(ctx->err), sizeof(ctx->err) - strlen(ctx->err),
			 "; the inspector opened by SIGUSR1 could not be confirmed closed (kept behind the connect guard)");
	free(s.before);
	cdp_decoder_free(s.dec);
	close(s.pidfd);
	return rc;
}
