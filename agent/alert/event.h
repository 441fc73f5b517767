// SPDX-License-Identifier: Apache-2.0
/* The agent's events: one type, one serializer. Every event is one JSON object (a line
 * on stdout, HEAPSNAP_JSON for [alert] exec, the webhook's body); its name and fields
 * are a contract that metrics, Alertmanager, the uploader and operators' scripts read.
 * Producers fill a struct event and emit it (alert_emit_event); consumers switch on
 * event_kind_of(ev). The JSON, field by field and in this order (alert_emit adds
 * "time" and "host" last):
 *
 *   every kind       event, pid, reason, rss_bytes, threshold_bytes
 *   trigger          baseline_rss_bytes (the RSS first seen), app_rss_bytes,
 *                    capture_offset_bytes, heap_used_bytes, heap_at_trigger_bytes
 *   capture_start    method, wait_ms, memory_wait_ms, rss_at_start_bytes, heap_used_bytes,
 *                    heap_at_start_bytes, heap_at_trigger_bytes
 *   capture_done     the report's brief (its members, when there is one), method,
 *                    snapshot_id, path, raw_bytes, size_bytes, capture_ms,
 *                    inspector_window_ms (when the agent opened the inspector), baseline
 *   capture_failed   method ("none" when no route ran), error, inspector_window_ms (idem)
 *   capture_refused  error, limit, needed_bytes, headroom_bytes, heap_used_bytes,
 *                    heap_estimated */
#ifndef HS_EVENT_H
#define HS_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "decide/trigger.h"

enum event_kind {
	EVENT_TRIGGER,
	EVENT_CAPTURE_START,
	EVENT_CAPTURE_DONE,
	EVENT_CAPTURE_FAILED,
	EVENT_CAPTURE_REFUSED,
	EVENT_KINDS,
};

/* "trigger", "capture_start", ...: the "event" member. */
const char *event_kind_name(enum event_kind k);
/* The kind of a serialized event (its "event" member); -EINVAL when it names none. */
int event_kind_of(const json_t *ev, enum event_kind *out);

struct event {
	enum event_kind kind;
	pid_t pid;
	enum trigger_reason reason;
	uint64_t rss_bytes;            /* RSS when the trigger fired */
	uint64_t threshold_bytes;
	union {
		struct {
			uint64_t rss_first_seen, app_rss_bytes, capture_offset_bytes, heap_used_bytes;
			uint64_t heap_at_trigger_bytes;
		} trigger;
		struct {
			const char *method;    /* route_name() */
			int64_t wait_ms, memory_wait_ms;
			uint64_t rss_at_start_bytes, heap_used_bytes, heap_at_start_bytes, heap_at_trigger_bytes;
		} start;
		struct {
			const json_t *brief;   /* the leak report's brief, or NULL */
			const char *method, *snapshot_id, *path;
			uint64_t raw_bytes, size_bytes, capture_ms;
			bool inspector_opened; /* then inspector_window_ms */
			int64_t inspector_window_ms;
			bool baseline;
		} done;
		struct {
			const char *method, *error;
			bool inspector_opened;
			int64_t inspector_window_ms;
		} failed;
		struct {
			const char *error, *limit;
			uint64_t needed_bytes, headroom_bytes, heap_used_bytes;
			bool heap_estimated;
		} refused;
	};
};

/* The event as JSON (a new object), or NULL (out of memory). */
json_t *event_json(const struct event *e);

#endif
