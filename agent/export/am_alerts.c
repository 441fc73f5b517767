// SPDX-License-Identifier: Apache-2.0
/* Alertmanager alert lifecycle (see am_alerts.h). */
#include "export/am_alerts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[AM_KINDS] = {
	"HeapsnapMemoryGrowth", "HeapsnapLeakSuspected", "HeapsnapCaptureFailed", "HeapsnapCaptureRefused",
};
static const char *const severities[AM_KINDS] = { "warning", "warning", "warning", "info" };

const char *am_kind_name(enum am_kind k)
{
	return k < AM_KINDS ? kind_names[k] : "HeapsnapUnknown";
}

void am_table_init(struct am_table *t, int64_t resend_ms)
{
	memset(t, 0, sizeof(*t));
	t->resend_ms = resend_ms > 0 ? resend_ms : 60000;
}

static struct am_alert *find(struct am_table *t, enum am_kind kind, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->a[i].kind == kind && t->a[i].pid == pid)
			return &t->a[i];
	return NULL;
}

struct am_alert *am_find_active(struct am_table *t, enum am_kind kind, pid_t pid)
{
	struct am_alert *a = find(t, kind, pid);

	return a && !a->resolved_ms ? a : NULL;
}

static void forget(struct am_table *t, size_t i)
{
	t->a[i] = t->a[--t->n];
}

/* Room for one more: the oldest resolved alert goes when the table is full. */
static bool make_room(struct am_table *t)
{
	long oldest = -1;

	if (t->n < AM_MAX_ALERTS)
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (t->a[i].resolved_ms && (oldest < 0 || t->a[i].resolved_ms < t->a[oldest].resolved_ms))
			oldest = (long)i;
	if (oldest < 0)
		return false;
	forget(t, (size_t)oldest);
	return true;
}

struct am_alert *am_fire(struct am_table *t, enum am_kind kind, pid_t pid, int64_t now_wall,
			 int64_t now_mono)
{
	struct am_alert *a = find(t, kind, pid);

	if (a && !a->resolved_ms) {
		a->next_send_ms = now_mono;
		return a;
	}
	if (!a) {
		if (!make_room(t))
			return NULL;
		a = &t->a[t->n++];
	}
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->pid = pid;
	a->starts_wall_ms = now_wall;
	a->next_send_ms = now_mono;
	return a;
}

void am_touch(struct am_alert *a, int64_t now_mono)
{
	a->next_send_ms = now_mono;
}

int am_resolve(struct am_table *t, enum am_kind kind, pid_t pid, int64_t now_wall, int64_t now_mono)
{
	int n = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct am_alert *a = &t->a[i];
		if (a->pid != pid || a->resolved_ms || (kind != AM_KINDS && a->kind != kind))
			continue;
		a->ends_wall_ms = now_wall;
		a->resolved_ms = now_mono ? now_mono : 1;
		a->next_send_ms = now_mono;
		n++;
	}
	return n;
}

size_t am_due(struct am_table *t, int64_t now_mono, size_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n;) {
		if (t->a[i].resolved_ms && now_mono - t->a[i].resolved_ms > AM_RESOLVED_KEEP_MS) {
			forget(t, i);
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < t->n && n < max; i++) {
		if (t->a[i].next_send_ms > now_mono)
			continue;
		t->a[i].next_send_ms = now_mono + t->resend_ms;
		out[n++] = i;
	}
	return n;
}

void am_iso8601(int64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(wall_ms % 1000));
}

static void set_if(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

json_t *am_alert_json(const struct am_table *t, const struct am_alert *a, const char *host,
		      const char *generator_url, int64_t now_wall)
{
	char pid[16], starts[40], ends[40];
	int64_t ends_ms = a->resolved_ms ? a->ends_wall_ms : now_wall + AM_ENDS_AFTER_RESENDS * t->resend_ms;

	snprintf(pid, sizeof(pid), "%d", (int)a->pid);
	am_iso8601(a->starts_wall_ms, starts, sizeof(starts));
	am_iso8601(ends_ms, ends, sizeof(ends));
	json_t *labels = json_pack("{s:s, s:s, s:s, s:s}", "alertname", am_kind_name(a->kind), "host",
				   host, "pid", pid, "severity", severities[a->kind]);
	json_t *ann = json_object();
	if (!labels || !ann) {
		json_decref(labels);
		json_decref(ann);
		return NULL;
	}
	set_if(labels, "app", a->app);
	set_if(labels, "container", a->container);
	set_if(ann, "summary", a->summary);
	set_if(ann, "description", a->description);
	set_if(ann, "snapshot_id", a->snapshot_id);
	set_if(ann, "top_growth", a->top_growth);
	set_if(ann, "retainer_path", a->retainer_path);
	set_if(ann, "top_place", a->top_place);
	set_if(ann, "top_stack", a->top_stack);
	json_t *o = json_pack("{s:o, s:o, s:s, s:s}", "labels", labels, "annotations", ann, "startsAt",
			      starts, "endsAt", ends);
	if (o && generator_url && *generator_url)
		json_object_set_new(o, "generatorURL", json_string(generator_url));
	return o;
}
