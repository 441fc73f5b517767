// SPDX-License-Identifier: Apache-2.0
/* The Alertmanager sink (see alertmanager.h). */
#include "export/alertmanager.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/event.h"
#include "base/log.h"
#include "base/loop.h"
#include "export/am_alerts.h"

#define AM_MAX_URLS 16
#define AM_MAX_PROCS 4096

struct am_sink {
	pthread_mutex_t lock;
	struct am_table table;
	struct sender *sender;
	int targets[AM_MAX_URLS];
	int ntargets;
	char host[256];
	char generator_url[256];
	struct alert_proc *procs;      /* labels of the watched processes */
	size_t nprocs, procs_cap;
};

struct am_sink *am_sink_new(struct sender *s, const char *urls, const struct http_auth *auth,
			    unsigned resend_s, const char *generator_url, char *err, size_t errlen)
{
	struct am_sink *a = calloc(1, sizeof(*a));
	char buf[1024], *save = NULL;

	if (!a) {
		snprintf(err, errlen, "alertmanager: out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	am_table_init(&a->table, (int64_t)resend_s * 1000);
	a->sender = s;
	if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		snprintf(a->host, sizeof(a->host), "unknown");
	snprintf(a->generator_url, sizeof(a->generator_url), "%s", generator_url ? generator_url : "");
	snprintf(buf, sizeof(buf), "%s", urls);
	for (char *u = strtok_r(buf, " \t", &save); u; u = strtok_r(NULL, " \t", &save)) {
		char url[1100];
		size_t n = strlen(u);
		snprintf(url, sizeof(url), "%.*s/api/v2/alerts", (int)(n && u[n - 1] == '/' ? n - 1 : n), u);
		int t = a->ntargets < AM_MAX_URLS ? sender_add_target(s, SINK_ALERTMANAGER, url, auth) : -ENOSPC;
		if (t < 0) {
			snprintf(err, errlen, "alertmanager %s: %s", u, strerror(-t));
			am_sink_free(a);
			return NULL;
		}
		a->targets[a->ntargets++] = t;
	}
	return a;
}

void am_sink_free(struct am_sink *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->procs);
	free(a);
}

/* --- process labels (caller holds the lock) ------------------------------------- */

static const struct alert_proc *labels_of(struct am_sink *a, pid_t pid)
{
	for (size_t i = 0; i < a->nprocs; i++)
		if (a->procs[i].pid == pid)
			return &a->procs[i];
	return NULL;
}

static void on_process(void *ctx, const struct alert_proc *p, bool gone)
{
	struct am_sink *a = ctx;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nprocs; i++)
		if (a->procs[i].pid == p->pid)
			a->procs[i] = a->procs[--a->nprocs];
	if (gone) {
		if (am_resolve(&a->table, AM_KINDS, p->pid, wall_ms(), mono_ms()))
			log_debug("alertmanager: pid %d exited, its alerts resolved", p->pid);
	} else if (a->nprocs < AM_MAX_PROCS) {
		if (a->nprocs == a->procs_cap) {
			size_t cap = a->procs_cap ? a->procs_cap * 2 : 64;
			struct alert_proc *grown = realloc(a->procs, cap * sizeof(*grown));
			if (grown) {
				a->procs = grown;
				a->procs_cap = cap;
			}
		}
		if (a->nprocs < a->procs_cap)
			a->procs[a->nprocs++] = *p;
	}
	pthread_mutex_unlock(&a->lock);
}

/* --- events ------------------------------------------------------------------------ */

static const char *str_of(const json_t *ev, const char *key)
{
	const char *v = json_string_value(json_object_get(ev, key));
	return v ? v : "";
}

static double mib_of(const json_t *ev, const char *key)
{
	return (double)json_integer_value(json_object_get(ev, key)) / 1048576.0;
}

static struct am_alert *fire(struct am_sink *a, enum am_kind kind, pid_t pid)
{
	struct am_alert *al = am_fire(&a->table, kind, pid, wall_ms(), mono_ms());
	const struct alert_proc *p = labels_of(a, pid);

	if (!al) {
		log_warn("alertmanager: %d alerts active, %s for pid %d not raised", AM_MAX_ALERTS,
			 am_kind_name(kind), pid);
		return NULL;
	}
	snprintf(al->app, sizeof(al->app), "%s", p ? p->app : "");
	snprintf(al->container, sizeof(al->container), "%s", p ? p->container : "");
	return al;
}

static void on_trigger(struct am_sink *a, const json_t *ev, pid_t pid)
{
	const char *reason = str_of(ev, "reason");
	enum trigger_reason r;
	bool leak = trigger_reason_parse(reason, &r) == 0 && r == TRIGGER_LEAK;
	struct am_alert *al = fire(a, leak ? AM_LEAK_SUSPECTED : AM_MEMORY_GROWTH, pid);

	if (!al)
		return;
	snprintf(al->summary, sizeof(al->summary), "%s (pid %d) on %.64s: RSS %.0f MiB, %s trigger at %.0f MiB",
		 al->app[0] ? al->app : "node", pid, a->host, mib_of(ev, "rss_bytes"), reason,
		 mib_of(ev, "threshold_bytes"));
	snprintf(al->description, sizeof(al->description),
		 "heapsnapd saw the process's memory cross its %s trigger (RSS first seen %.0f MiB) and is "
		 "taking a heap snapshot; snapshot_id names it once stored (`heapsnap show ID`).",
		 reason, mib_of(ev, "baseline_rss_bytes"));
}

static void format_growth(const json_t *top, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(top) && n < len; i++) {
		const json_t *e = json_array_get(top, i);
		n += (size_t)snprintf(out + n, len - n, "%s%s +%.1f MiB (+%lld objects)", i ? ", " : "",
				      str_of(e, "class"), mib_of(e, "delta_bytes"),
				      (long long)json_integer_value(json_object_get(e, "delta_count")));
	}
}

static void format_path(const json_t *path, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(path) && n < len; i++) {
		const json_t *e = json_array_get(path, i);
		const char *edge = str_of(e, "edge");
		n += (size_t)snprintf(out + n, len - n, "%s%s%s%s", i ? " -> " : "", edge,
				      edge[0] ? ": " : "", str_of(e, "node"));
	}
}

static void on_capture_done(struct am_sink *a, const json_t *ev, pid_t pid)
{
	if (json_is_true(json_object_get(ev, "baseline")))
		return;
	am_resolve(&a->table, AM_CAPTURE_FAILED, pid, wall_ms(), mono_ms());
	am_resolve(&a->table, AM_CAPTURE_REFUSED, pid, wall_ms(), mono_ms());
	for (int k = AM_MEMORY_GROWTH; k <= AM_LEAK_SUSPECTED; k++) {
		struct am_alert *al = am_find_active(&a->table, (enum am_kind)k, pid);
		if (!al)
			continue;
		snprintf(al->snapshot_id, sizeof(al->snapshot_id), "%s", str_of(ev, "snapshot_id"));
		format_growth(json_object_get(ev, "top_growth"), al->top_growth, sizeof(al->top_growth));
		format_path(json_object_get(ev, "retainer_path"), al->retainer_path, sizeof(al->retainer_path));
		snprintf(al->top_place, sizeof(al->top_place), "%s", str_of(ev, "top_place"));
		snprintf(al->top_stack, sizeof(al->top_stack), "%s", str_of(ev, "top_stack"));
		am_touch(al, mono_ms());
	}
}

static void on_capture_problem(struct am_sink *a, const json_t *ev, pid_t pid, enum am_kind kind)
{
	struct am_alert *al = fire(a, kind, pid);

	if (!al)
		return;
	snprintf(al->summary, sizeof(al->summary), "%s (pid %d) on %.64s: heap snapshot %s",
		 al->app[0] ? al->app : "node", pid, a->host,
		 kind == AM_CAPTURE_REFUSED ? "refused by the memory guard" : "failed");
	snprintf(al->description, sizeof(al->description), "%s trigger, route %s: %s", str_of(ev, "reason"),
		 str_of(ev, "method")[0] ? str_of(ev, "method") : "none", str_of(ev, "error"));
}

static void on_event(void *ctx, const json_t *ev, const char *line)
{
	struct am_sink *a = ctx;
	enum event_kind kind;
	pid_t pid = (pid_t)json_integer_value(json_object_get(ev, "pid"));

	(void)line;
	if (event_kind_of(ev, &kind) != 0)
		return;
	pthread_mutex_lock(&a->lock);
	switch (kind) {
	case EVENT_TRIGGER:
		on_trigger(a, ev, pid);
		break;
	case EVENT_CAPTURE_DONE:
		on_capture_done(a, ev, pid);
		break;
	case EVENT_CAPTURE_FAILED:
		on_capture_problem(a, ev, pid, AM_CAPTURE_FAILED);
		break;
	case EVENT_CAPTURE_REFUSED:
		on_capture_problem(a, ev, pid, AM_CAPTURE_REFUSED);
		break;
	case EVENT_CAPTURE_START:
	case EVENT_KINDS:
		break;
	}
	pthread_mutex_unlock(&a->lock);
}

static void on_ended(void *ctx, pid_t pid, enum trigger_reason condition)
{
	struct am_sink *a = ctx;

	if (condition != TRIGGER_LEAK)
		return;
	pthread_mutex_lock(&a->lock);
	if (am_resolve(&a->table, AM_LEAK_SUSPECTED, pid, wall_ms(), mono_ms()))
		log_info("alertmanager: pid %d: heap floor no longer rising, HeapsnapLeakSuspected resolved", pid);
	pthread_mutex_unlock(&a->lock);
}

struct alert_sink am_sink_ops(struct am_sink *a)
{
	return (struct alert_sink){ .event = on_event, .process = on_process, .ended = on_ended, .ctx = a };
}

/* On the sender thread: the alerts due now, as one batch to every Alertmanager. */
void am_sink_tick(void *ctx, int64_t now_mono_ms)
{
	struct am_sink *a = ctx;
	static size_t due[AM_MAX_ALERTS]; /* only the sender thread ticks */
	json_t *batch = json_array();

	pthread_mutex_lock(&a->lock);
	size_t n = am_due(&a->table, now_mono_ms, due, AM_MAX_ALERTS);
	for (size_t i = 0; batch && i < n; i++)
		json_array_append_new(batch, am_alert_json(&a->table, &a->table.a[due[i]], a->host,
							   a->generator_url, wall_ms()));
	pthread_mutex_unlock(&a->lock);
	char *body = n && batch ? json_dumps(batch, JSON_COMPACT) : NULL;
	json_decref(batch);
	if (!body)
		return;
	for (int t = 0; t < a->ntargets; t++)
		sender_enqueue(a->sender, a->targets[t], body, strlen(body), a->table.resend_ms);
	free(body);
}
