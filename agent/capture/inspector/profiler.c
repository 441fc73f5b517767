// SPDX-License-Identifier: Apache-2.0
/* The in-process sampling heap profiler (see profiler.h). The inspector session is the
 * capture route's (inspector_session.h): the same port discovery, connect guard,
 * SIGUSR1 window and closing; only the request differs (a Runtime.evaluate whose value
 * this file reads). */
#include "capture/profiler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/ns.h"
#include "capture/inspector/inspector_session.h"

#define PROFILER_REQ_ID 20
#define EVAL_TIMEOUT_MS 30000
#define TABLE_MAX 256

/* The evaluated code. Both run in the target's main thread; an in-process
 * inspector.Session answers post() synchronously. */
static const char START_JS[] =
	"(() => { const k = Symbol.for('heapsnap.profiler');"
	" if (globalThis[k]) return 'running';"
	" const s = new (require('inspector').Session)(); s.connect(); let err = null;"
	" s.post('HeapProfiler.startSampling', { samplingInterval: %u }, (e) => { err = e; });"
	" if (err) { s.disconnect(); throw err; }"
	" Object.defineProperty(globalThis, k, { value: s, enumerable: false, configurable: true });"
	" return 'started'; })()";

static const char COLLECT_JS[] =
	"(() => { const s = globalThis[Symbol.for('heapsnap.profiler')]; if (!s) return '';"
	" let out = null, err = null;"
	" s.post('HeapProfiler.getSamplingProfile', (e, r) => { err = e; out = r && r.profile; });"
	" if (err || !out) throw err || new Error('no profile');"
	" const live = (n) => { n.children = n.children.filter(live); return n.selfSize > 0 || n.children.length > 0; };"
	" live(out.head); const text = JSON.stringify(out);"
	" if (text.length > %u) throw new Error('profile of ' + text.length + ' bytes, over the limit');"
	" return text; })()";

struct eval_session {
	struct session s;           /* first: the session callbacks get this pointer */
	char *value;                /* the evaluate's string result */
};

static int on_message(void *ctx, json_t *msg)
{
	struct eval_session *es = ctx;
	if (cdp_message_id(msg) == PROFILER_REQ_ID && !es->value) {
		const char *v = json_string_value(json_object_get(json_object_get(json_object_get(msg, "result"), "result"),
								 "value"));
		if (v && !(es->value = strdup(v)))
			return -ENOMEM;
	}
	return session_on_message(&es->s, msg);
}

static int evaluate(struct eval_session *es, const char *expr, const struct wait_spec *w)
{
	struct session *s = &es->s;
	struct ws_sink sink;
	int r;
	cdp_decoder_ws_sink(s->dec, &sink);
	s->want_id = PROFILER_REQ_ID;
	s->replied = false;
	s->reply_err[0] = '\0';
	r = session_send_request(s, PROFILER_REQ_ID, "Runtime.evaluate",
				 json_pack("{s:s, s:b, s:b}", "expression", expr, "includeCommandLineAPI", 1,
					   "returnByValue", 1), w);
	while (r == 0 && !s->replied) {
		r = ws_conn_pump(s->ws, &sink, w, s->ctx->err, sizeof(s->ctx->err));
		if (r != 0)
			return session_pump_error(s, r);
		r = session_check_intruders(s, false);
	}
	if (r == 0 && s->reply_err[0])
		return capture_fail(s->ctx, -EIO, "the profiler's code failed in the target: %s", s->reply_err);
	if (r == 0 && !es->value)
		return capture_fail(s->ctx, -EPROTO, "the profiler's code returned no string");
	return r;
}

/* Reach the inspector (opening it behind the guard if needed) and evaluate expr. */
static int run_session(struct eval_session *es, const char *expr)
{
	struct session *s = &es->s;
	struct wait_spec w;
	int rc;
	if (!s->ctx->proc->opts.inspect_port_random)
		s->l = inspector_find_listener(s->pid, s->port);
	if (s->l.found && !s->l.owned)
		return session_fail_taken(s);
	if (!s->l.found && ((rc = session_open_guarded(s)) < 0 || (rc = session_open_inspector(s)) < 0))
		return rc;
	w = session_wait(s, EVAL_TIMEOUT_MS);
	s->dec = cdp_decoder_new(PROFILE_MAX_BYTES + 4096, session_store_write, on_message, es);
	if (!s->dec)
		return capture_fail(s->ctx, -ENOMEM, "out of memory");
	if ((rc = session_attach(s, &w)) < 0 || (rc = session_check_intruders(s, true)) < 0 ||
	    (rc = evaluate(es, expr, &w)) < 0)
		return rc;
	return session_check_intruders(s, true);
}

/* One short session: closed again, and the inspector too when it was opened for it. */
static int with_session(struct capture_ctx *ctx, const char *expr, char **value)
{
	struct eval_session es = { .s = { .ctx = ctx, .pid = ctx->proc->pid, .pidfd = -1,
					  .port = inspector_port(ctx->proc) } };
	struct session *s = &es.s;
	ctx->err[0] = ctx->detail[0] = '\0';
	s->pidfd = procs_pidfd_open(s->pid, ctx->proc->start_time);
	if (s->pidfd < 0)
		return capture_fail(ctx, s->pidfd, "process exited (pidfd: %s)", strerror(-s->pidfd));
	s->other_ns = ns_net_differs(s->pid) == 1;
	int rc = run_session(&es, expr);
	if (s->opened_by_us) {
		bool closed = session_close_inspector(s);
		if (!closed)
			log_warn("inspector of pid %d on port %d: opened for the profiler, still listening after the close request",
				 (int)s->pid, s->port);
		log_info("pid %d: the inspector was open %lld ms for the profiler%s", (int)s->pid,
			 (long long)((closed ? s->gone_ms : mono_ms()) - s->signalled_ms), closed ? "" : ": NOT closed");
	} else {
		if (s->ws)
			ws_conn_close(s->ws, &(struct wait_spec){ mono_ms() + 250, NULL, -1 });
		ws_conn_free(s->ws);
	}
	session_disarm_guard(s);
	cdp_decoder_free(s->dec);
	close(s->pidfd);
	if (rc == 0)
		*value = es.value;
	else
		free(es.value);
	return rc;
}

/* ---- which processes run it ---- */

struct entry {
	pid_t pid;
	uint64_t start_time;
	bool running;
	char why[200];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[TABLE_MAX];
static unsigned table_next;

void profiler_note(pid_t pid, uint64_t start_time, bool running, const char *why)
{
	pthread_mutex_lock(&table_lock);
	struct entry *e = NULL;
	for (unsigned i = 0; i < TABLE_MAX && !e; i++)
		if (table[i].pid == pid)
			e = &table[i];
	if (!e)
		e = &table[table_next++ % TABLE_MAX]; /* the oldest goes: processes come and go */
	*e = (struct entry){ .pid = pid, .start_time = start_time, .running = running };
	snprintf(e->why, sizeof(e->why), "%s", why ? why : "");
	pthread_mutex_unlock(&table_lock);
}

int profiler_state(pid_t pid, uint64_t start_time, char *why, size_t whylen)
{
	int state = 0;
	pthread_mutex_lock(&table_lock);
	for (unsigned i = 0; i < TABLE_MAX; i++)
		if (table[i].pid == pid && table[i].start_time == start_time) {
			state = table[i].running ? 1 : -1;
			snprintf(why, whylen, "%s", table[i].why);
		}
	pthread_mutex_unlock(&table_lock);
	return state;
}

int profiler_start(struct capture_ctx *ctx, unsigned interval_bytes)
{
	char expr[sizeof(START_JS) + 16], *value = NULL;
	snprintf(expr, sizeof(expr), START_JS, interval_bytes);
	int rc = with_session(ctx, expr, &value);
	if (rc == 0)
		log_info("pid %d: sampling heap profiler %s (one sample per %u KiB)", (int)ctx->proc->pid, value,
			 interval_bytes / 1024);
	profiler_note(ctx->proc->pid, ctx->proc->start_time, rc == 0, rc == 0 ? "" : ctx->err);
	free(value);
	return rc;
}

int profiler_collect(struct capture_ctx *ctx, char **text)
{
	char expr[sizeof(COLLECT_JS) + 16];
	snprintf(expr, sizeof(expr), COLLECT_JS, PROFILE_MAX_BYTES);
	*text = NULL;
	int rc = with_session(ctx, expr, text);
	if (rc == 0 && !(*text)[0]) {
		free(*text);
		*text = NULL;
		return capture_fail(ctx, -ENOENT, "the profiler is not running in the process (restarted?)");
	}
	return rc;
}
