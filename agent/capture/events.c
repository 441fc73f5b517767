// SPDX-License-Identifier: Apache-2.0
/* The capture's alert events (see events.h), filled as struct event (alert/event.h). */
#include "capture/events.h"

#include <jansson.h>

#include "alert/event.h"

/* An event of kind about job (the members every kind has). */
static struct event job_event(enum event_kind kind, const struct capture_job *job)
{
	return (struct event){ .kind = kind, .pid = job->pid, .reason = job->reason, .rss_bytes = job->rss_bytes,
			       .threshold_bytes = job->threshold_bytes };
}

/* meta (may be NULL): the failed attempt's, for how long it had the inspector open. */
void emit_failed(struct capturer *c, const struct capture_job *job, enum route route, const char *why,
		 const struct snapshot_meta *meta)
{
	struct event ev = job_event(EVENT_CAPTURE_FAILED, job);

	ev.failed.method = route_name(route);
	ev.failed.error = why;
	ev.failed.inspector_opened = meta && meta->inspector_opened;
	ev.failed.inspector_window_ms = meta ? meta->inspector_window_ms : 0;
	alert_emit_event(c->alerts, &ev);
}

void emit_refused(struct capturer *c, const struct capture_job *job, const struct guard_input *in,
		  const struct guard_verdict *v)
{
	struct event ev = job_event(EVENT_CAPTURE_REFUSED, job);

	ev.refused.error = v->reason;
	ev.refused.limit = v->limit;
	ev.refused.needed_bytes = v->needed_bytes;
	ev.refused.headroom_bytes = v->headroom_bytes;
	ev.refused.heap_used_bytes = in->heap_used_bytes;
	ev.refused.heap_estimated = v->heap_estimated;
	alert_emit_event(c->alerts, &ev);
}

void emit_done(struct capturer *c, const struct done_info *d, json_t *brief)
{
	struct event ev = job_event(EVENT_CAPTURE_DONE, &d->job);

	ev.done.brief = brief;
	ev.done.method = d->method;
	ev.done.snapshot_id = d->id;
	ev.done.path = d->path;
	ev.done.raw_bytes = d->raw_bytes;
	ev.done.size_bytes = d->size_bytes;
	ev.done.capture_ms = d->capture_ms;
	ev.done.inspector_opened = d->inspector_opened;
	ev.done.inspector_window_ms = d->inspector_window_ms;
	ev.done.baseline = d->job.baseline;
	alert_emit_event(c->alerts, &ev);
	json_decref(brief);
}

void emit_start(struct capturer *c, const struct capture_job *job, enum route route, int64_t waited_ms,
		uint64_t rss_at_start, uint64_t heap_at_start)
{
	struct event ev = job_event(EVENT_CAPTURE_START, job);

	ev.start.method = route_name(route);
	/* trigger -> start, of it waiting for the memory of running captures */
	ev.start.wait_ms = job->wait_ms;
	ev.start.memory_wait_ms = waited_ms;
	ev.start.rss_at_start_bytes = rss_at_start;
	ev.start.heap_used_bytes = job->heap_used_bytes;
	ev.start.heap_at_start_bytes = heap_at_start;
	ev.start.heap_at_trigger_bytes = job->heap_at_trigger_bytes;
	alert_emit_event(c->alerts, &ev);
}
