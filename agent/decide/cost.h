// SPDX-License-Identifier: Apache-2.0
/* What a capture cost its target, as a lifecycle (pure: the caller passes the clock, the
 * RSS and the major GCs it heard of). A snapshot costs the target 3-12x its heap, and V8
 * and the allocator keep much of it: that RSS is the agent's, never growth. From the
 * request (cost_begin) through the route's start (cost_capture_started) and the end of
 * the last job (cost_captures_ended), the cost is measured once the snapshot's memory
 * settled (cost_ready, cost_settle) and refined by the major GCs that follow
 * (cost_refine). The numbers come from trigger_capture_offset / trigger_capture_refined. */
#ifndef HS_COST_H
#define HS_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "decide/trigger.h"

/* After a capture: its cost is measured at least this long after it ended (the
 * snapshot's memory is at its height when V8 closes the file), at the first major GC
 * after it (which tells the application's growth meanwhile), or at the latest
 * CAPTURE_SETTLE_MAX_MS after it ended ... */
#define CAPTURE_SETTLE_MS 2000
#define CAPTURE_SETTLE_MAX_MS 10000
/* ... and refined at each major GC for this long after (V8 measures the heap). */
#define CAPTURE_REFINE_MS 120000

/* The latest major GCs of a process's main isolate, oldest first. */
#define COST_MAJORS 8
struct cost_majors {
	struct {
		int64_t t_ms;           /* monotonic, when user space heard of it */
		uint64_t heap_after;
	} m[COST_MAJORS];
	unsigned n;
};

void cost_majors_add(struct cost_majors *m, int64_t t_ms, uint64_t heap_after);

/* One process's last capture cost, being measured. */
struct cost_watch {
	struct capture_cost last;
	int64_t settle_at_ms;           /* monotonic: measure the capture's cost then (0 = no) */
	int64_t refine_until_ms;        /* major GCs until then refine that cost (0 = no) */
};

/* A capture is about to be queued (capture_offset and the application's growth rate
 * now); an incident replacing a queued baseline (capture_running, not ended) keeps
 * the earlier start. */
void cost_begin(struct cost_watch *cw, bool capture_running, uint64_t offset_now, double app_rate_bps);
/* A job of it reached the target at started_ms with rss_at_start (the first counts). */
void cost_capture_started(struct cost_watch *cw, uint64_t rss_at_start, int64_t started_ms);
/* Its last job ended at now_ms: measured CAPTURE_SETTLE_MS later, or forgotten when
 * nothing reached the target. */
void cost_captures_ended(struct cost_watch *cw, int64_t now_ms);

/* Whether the cost can be measured now: a major GC since it ended tells the
 * application's growth (without GC probes, or if none comes in time, its rate does). */
bool cost_ready(const struct cost_watch *cw, bool capture_running, bool gc_attached,
		const struct cost_majors *m, int64_t now_ms);

/* What cost_settle saw, for its log line. */
struct cost_settled {
	uint64_t offset;                /* the new capture_offset */
	bool heap_fresh;                /* a major GC since the capture ended measured the heap */
	uint64_t heap_now;              /* ... its heap after (0 when not fresh) */
	double app_rate_bps;            /* the growth rate assumed instead (0 with GC probes) */
};

/* The capture's memory has settled at rss: its cost (out->offset); the heap it
 * started from is the first major GC after the route started (V8 collects as a
 * snapshot starts). With GC probes but no major GC since it ended, the application's
 * growth is unknown: none is assumed (its rate before, often a warm-up, would count
 * the capture's memory as growth). Starts the refinement window. */
void cost_settle(struct cost_watch *cw, const struct cost_majors *m, bool gc_attached, uint64_t rss,
		 int64_t now_ms, struct cost_settled *out);

/* A major GC (heap_after) after the cost settled: the refined capture_offset, or
 * offset_now when there is nothing to refine (the window is closed on its end). */
uint64_t cost_refine(struct cost_watch *cw, bool capture_running, uint64_t offset_now, uint64_t rss,
		     uint64_t heap_after, int64_t now_ms);

#endif
