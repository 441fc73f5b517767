// SPDX-License-Identifier: Apache-2.0
/* Leak heuristic (pure, no I/O): does the V8 heap that survives major GCs keep rising?
 * (A fast leak's few major GCs are continued by the heap after every GC since the last
 * one: leak_series_add_gc, and the fast checks in leak.c.)
 *
 * Input: one sample per major GC, (time, heap used after the GC), per isolate: feed it
 * from gc_tracker's gc_major_event (ktime_ns / 1e6, heap_used_after), one series per
 * (tgid, heap) or per tgid for the main isolate only (tid == tgid).
 * Samples are folded on arrival into time buckets of window_s/8 that keep their minimum
 * (the floor), so a series costs a fixed ~4 KiB whatever the GC rate.
 *
 * Evaluation, at scales k = 1, 2, 4, 8 (the last k*window_s of history):
 *   1. floors: up to 9 points, each the minimum over three adjacent sub-windows of
 *      k*window_s/8 (a sliding minimum: removes the sawtooth of live data that comes and
 *      goes); a minimum repeated by the next sub-window counts once;
 *   2. span of the samples >= k*window_s, samples >= min_gcs, >= 6 floors;
 *   3. Theil–Sen slope of the floors (median of pairwise slopes: robust to outliers)
 *      x window_s >= min_bytes and >= min_pct % of the fitted floor at the start: the
 *      thresholds are rates per window_s (a longer scale steadies the estimate, it does
 *      not make slower drifts fire);
 *   4. the rise dominates the scatter: rise >= 3 x 1.4826 x MAD of the residuals;
 *   5. the rise is spread over the window: the median floor of each third exceeds the
 *      previous third's by >= 1/4 of the per-third rise (a one-time step or a burst
 *      moves one third only), and the last third holds a new high, above every floor of
 *      the first two thirds by >= 1/6 of the rise (a cache that filled and plateaued
 *      has none);
 *      and the latest floor is above the start by >= half the rise (a burst that ended);
 *   6. mostly non-decreasing: >= 2/3 of consecutive floors do not fall by more than the
 *      scatter; both halves of the floors rise at >= 1/3 of the overall rate (a ramp in
 *      part of the window is a burst or warm-up); Mann–Kendall z >= 2.33 (p ~ 0.01).
 * Sparse major GCs (fewer than two per bucket over the newest 9 buckets, the usual case
 * on a growing heap): the time scales' groups would hold one or two samples each, and
 * the minimum of two samples of a varying live heap is a biased floor that trends by
 * chance (a sawtooth sampled every 20 s fired at scale 4); instead the newest 9 bucket
 * minima, one GC each, are the points, over a span of at least window_s, with every
 * check of steps 3-6 (and the leaning verdict from the same points on 3/4 of the span).
 * This decides at the 6th major GC, where the time scales needed 7-8 (simulated:
 * ~1 MB/s with majors every ~18 s, 82-100 s instead of 129-133 s).
 * LEAK_FIRE if any scale passes everything. LEAK_LEANING (worth a baseline snapshot)
 * if scale 1, 2 or 4 passes every check with 3/4 of the span, half the GCs and >= 5
 * floors (it never leaned on the non-leaking test patterns).
 * Floors are smoothed (sliding minimum) only when sub-windows hold >= 3 GCs on average:
 * a leaking heap makes V8 raise its limit, so major GCs get sparse (measured on Node 20,
 * a 13 MB/min leak: one every ~42 s) and then each sample is its own floor. Detection
 * time is therefore bounded by the major GC rate: ~1 min with a few majors per 10 s,
 * ~5 min with one per 40 s (measured, Node 20: a 13.6 MB/min leak caught after 334 s
 * and 7 major GCs). When nothing fires, the result describes the scale with the most
 * floors: its slope is the steadiest trend for display (`heapsnap ps`). */
#ifndef HS_LEAK_H
#define HS_LEAK_H

#include <stdbool.h>
#include <stdint.h>

#define LEAK_BUCKETS 80 /* history: 10 windows of 8 buckets */

struct leak_params {
	unsigned window_s;    /* leak_window_s: minimum span of the trend */
	unsigned min_gcs;     /* leak_min_gcs: major GCs within the evaluated span */
	uint64_t min_bytes;   /* leak_min_bytes: fitted floor rise per window_s (0 = off) */
	unsigned min_pct;     /* leak_min_pct: ... in % of the starting floor (0 = off) */
};

struct leak_bucket {
	uint64_t index;       /* t_ms / bucket_ms */
	uint64_t min_t_ms;    /* time of the minimum sample */
	uint64_t min_bytes;
	uint64_t first_t_ms, last_t_ms;
	uint32_t samples;
};

#define LEAK_RECENT 16 /* the newest major GCs, one sample each, for the fast-leak check */

#define LEAK_LATEST 32 /* heap after the newest GCs of any kind since the last major GC */

#define LEAK_HIST 64   /* heap after the newest GCs of any kind (~1 min at one a second) */

struct leak_sample {
	uint64_t t_ms;
	uint64_t bytes;       /* heap used after the GC */
	uint64_t before;      /* heap used before it (its limit, nearly), 0 = unknown */
	uint64_t rss;         /* the process's RSS then, 0 = unknown */
};

struct leak_series {
	uint64_t bucket_ms;
	struct leak_sample recent[LEAK_RECENT];
	unsigned recent_head, nrecent;
	struct leak_sample latest[LEAK_LATEST]; /* since the newest major GC, oldest first */
	unsigned nlatest;
	struct leak_sample hist[LEAK_HIST];     /* the newest samples of both kinds, a ring */
	unsigned hist_head, nhist;
	unsigned head;        /* next slot to write */
	unsigned count;
	struct leak_bucket b[LEAK_BUCKETS];
};

enum leak_verdict { LEAK_NONE = 0, LEAK_LEANING = 1, LEAK_FIRE = 2, LEAK_VERDICT_COUNT };

/* The state `heapsnap ps` shows: "none", "leaning", "leak"; "unknown" out of range. */
const char *leak_verdict_name(enum leak_verdict v);

struct leak_result {
	enum leak_verdict verdict;
	double slope_bytes_per_min;   /* Theil–Sen slope of the floors at the deciding scale */
	uint64_t floor_start_bytes;   /* fitted floor at the start of the span */
	uint64_t rise_bytes;          /* fitted rise over the span (0 if slope <= 0) */
	double span_s;
	unsigned gcs;                 /* samples in the span */
	unsigned floors;              /* floor points at that scale */
	unsigned scale;               /* k of the deciding (or last tried) scale */
	const char *reason;           /* which check stopped it (static string), "" when fired */
};

struct config;

/* leak_window_s, leak_min_gcs, leak_min_bytes, leak_min_pct of cfg (agent/base/config.h). */
struct leak_params leak_params_from(const struct config *cfg);

/* Empty series for windows of window_s seconds (sets the bucket width). */
void leak_series_init(struct leak_series *s, unsigned window_s);

/* Add the heap used after one major GC at t_ms (monotonic ms). Samples older than the
 * newest bucket are folded into it (clocks never go back, but be safe). */
void leak_series_add(struct leak_series *s, uint64_t t_ms, uint64_t heap_used_bytes);

/* The same with what else the major GC tells: the heap before it (V8 starts one when
 * the heap reaches its limit, so this is the limit, nearly) and the RSS then (0 = unknown). */
void leak_series_add_major(struct leak_series *s, uint64_t t_ms, uint64_t before, uint64_t after, uint64_t rss);

/* The heap after the newest GC of any kind (scavenges: old space plus what they
 * promoted), read at t_ms (e.g. once a second), and the RSS then (0 = unknown). Only
 * the continuation of a proven run of rising major-GC floors reads these (see the fast
 * check in leak.c): promoted bytes are a hypothesis until a major GC keeps them. */
void leak_series_add_gc(struct leak_series *s, uint64_t t_ms, uint64_t heap_after_last_gc, uint64_t rss);

/* Evaluate the series (see the top of this file). */
void leak_evaluate(const struct leak_series *s, const struct leak_params *p, struct leak_result *out);

/* Leaning (r->verdict == LEAK_LEANING) is the moment for a baseline snapshot; it is worth
 * taking only if the heap will have grown enough from heap_now by the verdict for the
 * diff to show the leak (trigger_baseline_usable_heap's rule: a quarter of the heap then,
 * >= 8 MB). The verdict needs the span the lean had 3/4 of (window_s x the scale), so it
 * comes after the rest of that span at the trend's slope, at the earliest. */
bool leak_baseline_far_enough(const struct leak_result *r, const struct leak_params *p, uint64_t heap_now,
			      uint64_t *expected_growth);

#endif
