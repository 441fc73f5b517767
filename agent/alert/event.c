// SPDX-License-Identifier: Apache-2.0
/* The one serializer of the agent's events (see event.h). */
#include "alert/event.h"

#include "base/strtab.h"

static const char *const kind_names[] = {
	[EVENT_TRIGGER] = "trigger",
	[EVENT_CAPTURE_START] = "capture_start",
	[EVENT_CAPTURE_DONE] = "capture_done",
	[EVENT_CAPTURE_FAILED] = "capture_failed",
	[EVENT_CAPTURE_REFUSED] = "capture_refused",
};

const char *event_kind_name(enum event_kind k)
{
	return STRTAB_NAME(kind_names, k, "unknown");
}

int event_kind_of(const json_t *ev, enum event_kind *out)
{
	const char *s = json_string_value(json_object_get(ev, "event"));
	int i = s ? STRTAB_FIND(kind_names, s) : -EINVAL;

	if (i < 0)
		return i;
	*out = (enum event_kind)i;
	return 0;
}

static void set_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, json_string(v ? v : ""));
}

static void add_trigger(json_t *o, const struct event *e)
{
	set_int(o, "baseline_rss_bytes", (int64_t)e->trigger.rss_first_seen);
	set_int(o, "app_rss_bytes", (int64_t)e->trigger.app_rss_bytes);
	set_int(o, "capture_offset_bytes", (int64_t)e->trigger.capture_offset_bytes);
	/* the heap after the last major GC at the trigger (0 = not measured) */
	set_int(o, "heap_used_bytes", (int64_t)e->trigger.heap_used_bytes);
	/* the heap after the newest GC of any kind then: what a capture's start compares with */
	set_int(o, "heap_at_trigger_bytes", (int64_t)e->trigger.heap_at_trigger_bytes);
}

static void add_start(json_t *o, const struct event *e)
{
	set_str(o, "method", e->start.method);
	/* trigger -> start, of it waiting for the memory of running captures */
	set_int(o, "wait_ms", e->start.wait_ms);
	set_int(o, "memory_wait_ms", e->start.memory_wait_ms);
	set_int(o, "rss_at_start_bytes", (int64_t)e->start.rss_at_start_bytes);
	set_int(o, "heap_used_bytes", (int64_t)e->start.heap_used_bytes);
	set_int(o, "heap_at_start_bytes", (int64_t)e->start.heap_at_start_bytes);
	set_int(o, "heap_at_trigger_bytes", (int64_t)e->start.heap_at_trigger_bytes);
}

static void add_done(json_t *o, const struct event *e)
{
	if (e->done.brief)
		json_object_update(o, (json_t *)e->done.brief);
	set_str(o, "method", e->done.method);
	set_str(o, "snapshot_id", e->done.snapshot_id);
	set_str(o, "path", e->done.path);
	set_int(o, "raw_bytes", (int64_t)e->done.raw_bytes);
	set_int(o, "size_bytes", (int64_t)e->done.size_bytes);
	set_int(o, "capture_ms", (int64_t)e->done.capture_ms);
	if (e->done.inspector_opened)
		set_int(o, "inspector_window_ms", e->done.inspector_window_ms);
	json_object_set_new(o, "baseline", json_boolean(e->done.baseline));
}

static void add_failed(json_t *o, const struct event *e)
{
	set_str(o, "method", e->failed.method);
	set_str(o, "error", e->failed.error);
	if (e->failed.inspector_opened)
		set_int(o, "inspector_window_ms", e->failed.inspector_window_ms);
}

static void add_refused(json_t *o, const struct event *e)
{
	set_str(o, "error", e->refused.error);
	set_str(o, "limit", e->refused.limit);
	set_int(o, "needed_bytes", (int64_t)e->refused.needed_bytes);
	set_int(o, "headroom_bytes", (int64_t)e->refused.headroom_bytes);
	set_int(o, "heap_used_bytes", (int64_t)e->refused.heap_used_bytes);
	json_object_set_new(o, "heap_estimated", json_boolean(e->refused.heap_estimated));
}

json_t *event_json(const struct event *e)
{
	json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I}", "event", event_kind_name(e->kind), "pid",
			      (json_int_t)e->pid, "reason", trigger_reason_name(e->reason), "rss_bytes",
			      (json_int_t)e->rss_bytes, "threshold_bytes", (json_int_t)e->threshold_bytes);

	if (!o)
		return NULL;
	switch (e->kind) {
	case EVENT_TRIGGER:
		add_trigger(o, e);
		break;
	case EVENT_CAPTURE_START:
		add_start(o, e);
		break;
	case EVENT_CAPTURE_DONE:
		add_done(o, e);
		break;
	case EVENT_CAPTURE_FAILED:
		add_failed(o, e);
		break;
	case EVENT_CAPTURE_REFUSED:
		add_refused(o, e);
		break;
	case EVENT_KINDS:
		break;
	}
	return o;
}
