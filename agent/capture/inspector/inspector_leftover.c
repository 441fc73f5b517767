// SPDX-License-Identifier: Apache-2.0
/* A resumed inspector capture (capture_route.h, recovery_close_inspector): the
 * inspector a killed run of the agent opened with SIGUSR1 and could not close. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "base/log.h"
#include "base/ns.h"
#include "capture/capture_route.h"
#include "capture/inspector/inspector_session.h"
#include "track/procs.h"

static int discard_bytes(void *ctx, const void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return 0;
}

/* The inspector the previous run opened with SIGUSR1 and could not close: close it
 * if it still listens and the process was not started with --inspect. 1 closed, 0
 * nothing to close, a negative errno with ctx->err. */
static int close_leftover(struct capture_ctx *ctx)
{
	struct session s = { .ctx = ctx, .pid = ctx->proc->pid, .pidfd = -1, .port = inspector_port(ctx->proc) };
	int rc = 0;

	ctx->err[0] = '\0';
	if (ctx->proc->opts.inspect)
		return 0; /* started with --inspect: the inspector is the operator's */
	if (ctx->proc->opts.inspect_port_random)
		return capture_fail(ctx, -EOPNOTSUPP, "the inspector the previous run opened is on a random port "
			    "(--inspect-port=0): it cannot be told from the app's own listeners, so it may still be open");
	s.l = inspector_find_listener(s.pid, s.port);
	if (!s.l.found || !s.l.owned)
		return 0;
	s.pidfd = procs_pidfd_open(s.pid, ctx->proc->start_time);
	if (s.pidfd < 0)
		return 0; /* gone */
	s.other_ns = ns_net_differs(s.pid) == 1;
	if (session_arm_guard(&s) < 0)
		log_warn("pid %d: closing the inspector left open without a connect guard: %s", (int)s.pid, ctx->err);
	ctx->err[0] = '\0';
	s.opened_by_us = s.seen_open = true;
	s.dec = cdp_decoder_new(0, discard_bytes, session_on_message, &s);
	if (!s.dec)
		rc = capture_fail(ctx, -ENOMEM, "out of memory");
	else if (session_close_inspector(&s))
		rc = 1;
	else
		rc = capture_fail(ctx, -ETIMEDOUT, "the inspector on port %d could not be confirmed closed (%s)", s.port,
				  s.close_unconfirmed ? "its event loop did not turn" : "it still listens");
	ctx->inspector_left_open = rc < 0;
	if (rc < 0)
		session_keep_guard(&s);
	else
		session_disarm_guard(&s);
	cdp_decoder_free(s.dec);
	close(s.pidfd);
	return rc;
}

int recovery_close_inspector(struct capture_ctx *ctx, pid_t pid, char *err, size_t errlen)
{
	int rc = close_leftover(ctx);

	if (rc == 1)
		log_info("pid %d: closed the inspector the previous run opened and left open", pid);
	else if (rc < 0)
		log_warn("pid %d: inspector left open by the previous run: %s", pid, ctx->err);
	snprintf(err, errlen, "interrupted inspector capture not resumed");
	return -ECANCELED;
}
