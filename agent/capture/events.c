// SPDX-License-Identifier: Apache-2.0
/* The capture's alert events as JSON (see events.h). */
#include "capture/events.h"

#include <jansson.h>

#include "decide/trigger.h"

static json_t *event_base(const char *event, const struct capture_job *job)
{
	return json_pack("{s:s, s:I, s:s, s:I, s:I}", "event", event, "pid", (json_int_t)job->pid,
			 "reason", trigger_reason_name(job->reason), "rss_bytes", (json_int_t)job->rss_bytes,
			 "threshold_bytes", (json_int_t)job->threshold_bytes);
}

/* meta (may be NULL): the failed attempt's, for how long it had the inspector open. */
void emit_failed(struct capturer *c, const struct capture_job *job, const char *method,
		 const char *why, const struct snapshot_meta *meta)
{
	json_t *ev = event_base("capture_failed", job);

	json_object_set_new(ev, "method", json_string(method));
	json_object_set_new(ev, "error", json_string(why));
	if (meta && meta->inspector_opened)
		json_object_set_new(ev, "inspector_window_ms", json_integer(meta->inspector_window_ms));
	alert_emit(c->alerts, ev);
}

void emit_refused(struct capturer *c, const struct capture_job *job, const struct guard_input *in,
		  const struct guard_verdict *v)
{
	json_t *ev = event_base("capture_refused", job);
	json_object_set_new(ev, "error", json_string(v->reason));
	json_object_set_new(ev, "limit", json_string(v->limit));
	json_object_set_new(ev, "needed_bytes", json_integer((json_int_t)v->needed_bytes));
	json_object_set_new(ev, "headroom_bytes", json_integer((json_int_t)v->headroom_bytes));
	json_object_set_new(ev, "heap_used_bytes", json_integer((json_int_t)in->heap_used_bytes));
	json_object_set_new(ev, "heap_estimated", json_boolean(v->heap_estimated));
	alert_emit(c->alerts, ev);
}

void emit_done(struct capturer *c, const struct done_info *d, json_t *brief)
{
	json_t *ev = event_base("capture_done", &d->job);
	if (brief)
		json_object_update_new(ev, brief);
	json_object_set_new(ev, "method", json_string(d->method));
	json_object_set_new(ev, "snapshot_id", json_string(d->id));
	json_object_set_new(ev, "path", json_string(d->path));
	json_object_set_new(ev, "raw_bytes", json_integer((json_int_t)d->raw_bytes));
	json_object_set_new(ev, "size_bytes", json_integer((json_int_t)d->size_bytes));
	json_object_set_new(ev, "capture_ms", json_integer((json_int_t)d->capture_ms));
	if (d->inspector_opened)
		json_object_set_new(ev, "inspector_window_ms", json_integer((json_int_t)d->inspector_window_ms));
	json_object_set_new(ev, "baseline", json_boolean(d->job.baseline));
	alert_emit(c->alerts, ev);
}

void emit_start(struct capturer *c, const struct capture_job *job, const char *method, int64_t waited_ms,
		uint64_t rss_at_start)
{
	json_t *ev = event_base("capture_start", job);
	json_object_set_new(ev, "method", json_string(method));
	/* trigger -> start, of it waiting for the memory of running captures */
	json_object_set_new(ev, "wait_ms", json_integer((json_int_t)job->wait_ms));
	json_object_set_new(ev, "memory_wait_ms", json_integer((json_int_t)waited_ms));
	json_object_set_new(ev, "rss_at_start_bytes", json_integer((json_int_t)rss_at_start));
	json_object_set_new(ev, "heap_used_bytes", json_integer((json_int_t)job->heap_used_bytes));
	alert_emit(c->alerts, ev);
}
