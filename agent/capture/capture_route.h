// SPDX-License-Identifier: Apache-2.0
/* The contract between the capture orchestrator (capture.c) and each capture route
 * (capture_signal.c, capture_inspector.c). A route makes the target produce a heap
 * snapshot and streams the raw JSON bytes into ctx->w as they arrive; it never keeps
 * an uncompressed copy. It does not commit or abort the writer: the orchestrator
 * does. Every wait goes through wait.h: bounded by cfg timeouts, it returns early
 * when ctx->cancel fires or the target exits. */
#ifndef HS_CAPTURE_ROUTE_H
#define HS_CAPTURE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "base/err.h"
#include "base/wait.h"
#include "capture/route.h"
#include "store/store.h"
#include "track/procs.h"

struct late_sweep;
struct connect_guard;

struct capture_ctx {
	const struct proc_info *proc;  /* target, read just before the capture */
	const struct config *cfg;
	struct store_writer *w;        /* raw snapshot bytes go here */
	const struct cancel_token *cancel; /* fired: agent stopping or slot preempted, give up now
	                                      (NULL: not cancellable) */
	struct late_sweep *late;       /* signal route: where an unanswered signal goes (or NULL) */
	struct connect_guard *cguard;  /* inspector route: the connect guard (NULL = unavailable) */
	int64_t resume_after_ms;       /* non-zero: a previous run of the agent was stopped in
	                                  the middle of this capture, which it started at this
	                                  wall time: pick up what the target is (or was) writing
	                                  instead of asking for a new snapshot */
	char err[512];                 /* on failure: one sentence, no trailing newline */
	char detail[256];              /* on success: how (e.g. "inspector 127.0.0.1:9229, opened with SIGUSR1 and closed (FIFO)") */
	bool inspector_opened;         /* inspector route: it opened the inspector (SIGUSR1) ... */
	int64_t inspector_window_ms;   /* ... open this long: signal sent -> port confirmed gone */
	bool inspector_left_open;      /* ... and its close was not confirmed: its guard is kept,
	                                  and so is the journal (a next run closes it) */
};

/* 0 when the whole snapshot went into ctx->w; a negative errno with ctx->err set:
 * -ETIMEDOUT timed out, -ECANCELED cancelled, -ESRCH the target exited, -ENOSPC no
 * room, -EPROTO the peer made no sense, -EBUSY the port is someone else's, -EACCES or
 * -EPERM refused, a system call's errno, -EIO when nothing better fits. */
int capture_via_signal(struct capture_ctx *ctx);
int capture_via_inspector(struct capture_ctx *ctx);

/* A resumed inspector capture: close the inspector the previous run left open.
 * Always -ECANCELED (no snapshot comes of it), with err saying so. */
int recovery_close_inspector(struct capture_ctx *ctx, pid_t pid, char *err, size_t errlen);

/* Print the failure sentence into ctx->err (truncated to fit). Returns err, a
 * negative errno (-EIO if it was not negative), so a route can
 * `return capture_fail(ctx, -ETIMEDOUT, ...)`. */
int capture_fail(struct capture_ctx *ctx, int err, const char *fmt, ...) ERR_PRINTF(3, 4);

/* Whether a route can be used on this process, without side effects.
 * true, or false with the reason in why. */
bool capture_signal_usable(const struct proc_info *p, char *why, size_t whylen);
/* The inspector route also needs the connect guard (or cfg->inspector_unguarded) when
 * it would open the inspector itself; v (may be NULL): whether the process's inspector
 * listens now (the operator's, left unguarded), or it was refused for want of the
 * guard (route.h). */
bool capture_inspector_usable(const struct proc_info *p, const struct config *cfg, const struct connect_guard *g,
			      char *why, size_t whylen, struct inspector_verdict *v);

#endif
