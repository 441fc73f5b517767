// SPDX-License-Identifier: Apache-2.0
/* Trigger policy: pure functions of (params, per-process state, RSS, time).
 * No I/O, so every rule is unit-tested without root.
 *
 * The kernel side only answers "wake me when this process's RSS reaches X";
 * trigger_arm_level() picks X, trigger_evaluate() decides what a wake-up means. */
#ifndef HS_TRIGGER_H
#define HS_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>

#define TRIGGER_NEVER UINT64_MAX

struct config;

/* The [trigger] keys the policy reads (0 turns each off). */
struct trigger_params {
	uint64_t rss_bytes;          /* rss_mb: absolute threshold */
	uint64_t growth_bytes;       /* growth_mb: growth over rss_first_seen */
	unsigned cooldown_s;         /* cooldown_s: between capture decisions */
	unsigned max_per_process;    /* max_per_process: capture decisions per process */
	unsigned baseline_pct;       /* baseline_pct: baseline snapshot at this % of growth_mb */
	bool profiler;               /* profile_interval_kb > 0: the sampling profiler runs from the
	                                baseline point on (trigger_profiler_level) */
};

struct trigger_params trigger_params_from(const struct config *cfg);

/* Why a capture was asked for. The names are what events, metrics labels, the store's
 * metadata and the capture journal say (trigger_reason_name). */
enum trigger_reason {
	TRIGGER_RSS = 0,        /* "rss": the absolute threshold (rss_mb) */
	TRIGGER_GROWTH,         /* "growth": growth over the RSS first seen (growth_mb) */
	TRIGGER_LEAK,           /* "leak": the leak heuristic (leak.h) */
	TRIGGER_PREDICTIVE,     /* "predictive": the snapshot would soon stop fitting (predict.h) */
	TRIGGER_BASELINE,       /* "baseline": a baseline snapshot, not an incident */
	TRIGGER_REASON_COUNT
};

/* "rss", "growth", "leak", "predictive", "baseline"; "unknown" out of range. */
const char *trigger_reason_name(enum trigger_reason r);
/* The reason named s (as trigger_reason_name writes it): 0, or -EINVAL (out untouched). */
int trigger_reason_parse(const char *s, enum trigger_reason *out);

struct trigger_proc {
	uint64_t rss_first_seen;     /* RSS when the agent first saw the process (AGENT_SETTLE_MS
	                                after exec for one seen starting; kept across agent restarts) */
	uint64_t last_capture_rss;   /* RSS at the last capture decision (0 = none) */
	int64_t last_capture_ms;     /* monotonic ms of the last capture decision (0 = none) */
	unsigned captures;           /* capture decisions so far */
	bool baseline_requested;     /* a baseline snapshot was asked for */
	bool profiler_requested;     /* the sampling profiler was asked for (with a baseline, or
	                                alone: engine.h's start_profiler) */
	/* RSS the agent's own captures left in the process (V8 and the allocator keep what
	 * a snapshot cost): never growth. Every level above is in application RSS
	 * (RSS - capture_offset); the kernel is armed at level + capture_offset. */
	uint64_t capture_offset;
	uint64_t baseline_app_rss;   /* application RSS at the baseline snapshot (0 = none) */
	uint64_t baseline_heap;      /* V8 heap after the last major GC before it (0 = unknown) */
};

/* One capture's effect on its target, measured from its start until it settles.
 * The target's main thread is busy writing the snapshot during the capture, so the
 * application grows only before and after it. */
struct capture_cost {
	bool active;                 /* a capture was requested and not settled yet */
	uint64_t offset_before;      /* capture_offset when it was requested */
	double app_rate_bps;         /* application RSS growth rate before it (bytes/s, >= 0) */
	uint64_t rss_before;         /* RSS when the route started */
	uint64_t heap_before;        /* V8 heap after the GC V8 runs as the snapshot starts (0 = unknown) */
	int64_t started_ms, ended_ms; /* monotonic; 0 = not yet */
	uint64_t rss_settled;        /* RSS when it was first measured, after it ended (0 = not yet) */
};

struct trigger_decision {
	bool fire;                   /* capture now */
	bool baseline;               /* take a baseline snapshot (not an incident) */
	enum trigger_reason reason;  /* when fire or held_back: rss, growth, baseline (or the
	                                incident's, trigger_incident) */
	uint64_t threshold_bytes;    /* the level that was crossed */
	int64_t retry_at_ms;         /* held back by cooldown: evaluate again then (0 = no) */
	const char *held_back;       /* why not fired ("cooldown", "max_per_process"), or NULL */
};

void trigger_init(struct trigger_proc *t, uint64_t rss_now);

/* RSS minus what the agent's captures added. */
uint64_t trigger_app_rss(const struct trigger_proc *t, uint64_t rss);

/* The capture offset once a capture has settled: the RSS gained since the route
 * started, less the application's own growth meanwhile — the V8 heap's growth when a
 * major GC after the capture measured it (heap_fresh, heap_now; heap_before known),
 * else the growth rate seen before the capture over the time since it ended. Never
 * below the offset before it. */
uint64_t trigger_capture_offset(const struct capture_cost *c, uint64_t rss_now, bool heap_fresh,
				uint64_t heap_now, int64_t now_ms);

/* The offset as a major GC after the settle measurement sees it: the RSS gained since
 * the route started less the heap's growth (heap_before known), but at most the RSS
 * gained by the settle measurement plus a quarter of it — the snapshot's memory keeps
 * settling for a while (V8 and the allocator touch pages again), while RSS growth the
 * heap does not show (Buffers, native memory) past that margin is growth. May lower
 * or raise the settle estimate, which had to guess the application's growth from its
 * earlier rate. Without heap_before: the offset as it is. */
uint64_t trigger_capture_refined(const struct capture_cost *c, uint64_t offset_now, uint64_t rss_now,
				 uint64_t heap_now);

/* The application RSS from which the process runs the sampling profiler: its baseline
 * level (baseline_pct of growth_mb above first seen), or the default's (50 %) with
 * baselines off. TRIGGER_NEVER without growth_mb or with the profiler off. */
uint64_t trigger_profiler_level(const struct trigger_params *p, const struct trigger_proc *t);

/* Whether a baseline snapshot would be stored before the process reaches its incident
 * level: remaining_bytes of growth left at app_rate_bps, a capture of capture_s. */
bool trigger_baseline_in_time(uint64_t remaining_bytes, double app_rate_bps, double capture_s);

/* Whether a baseline taken at baseline_app_rss is far enough below an incident at
 * app_rss for a diff to show the leak: at least a quarter of growth_mb (or of the
 * incident's RSS without growth_mb), and 8 MB. */
bool trigger_baseline_usable(const struct trigger_params *p, const struct trigger_proc *t, uint64_t app_rss);

/* A leak incident is judged on the heap, where the verdict measured the leak (RSS moves
 * with the allocator and with earlier captures): the baseline is usable when the heap
 * after GC grew since it by at least a quarter of the incident's heap, and 8 MB; a diff of
 * two snapshots closer than that shows noise, not the leak. Unknown heaps (0): false. */
bool trigger_baseline_usable_heap(const struct trigger_proc *t, uint64_t heap_now);

/* The application RSS the next incident is due at (TRIGGER_NEVER: none). */
uint64_t trigger_incident_level(const struct trigger_params *p, const struct trigger_proc *t);

/* RSS at which the kernel should wake us next, TRIGGER_NEVER for none. */
uint64_t trigger_arm_level(const struct trigger_params *p, const struct trigger_proc *t, int64_t now_ms);

/* Called on a wake-up (or a retry timer) with the current RSS. */
void trigger_evaluate(const struct trigger_params *p, struct trigger_proc *t, uint64_t rss, int64_t now_ms,
		      struct trigger_decision *out);

/* An incident found by another detector (the leak heuristic, the predictive
 * trigger): the same holds (max_per_process, cooldown) and bookkeeping as a
 * threshold crossing. */
void trigger_incident(const struct trigger_params *p, struct trigger_proc *t, enum trigger_reason reason,
		      uint64_t rss, uint64_t threshold, int64_t now_ms, struct trigger_decision *out);

#endif
