// SPDX-License-Identifier: Apache-2.0
/* The engine's policy (pure: the caller passes the clock and what it tracked of the
 * process): what one RSS report means, as one decision value, and what the kernel is
 * asked to report next. The daemon acts on the decision; it decides nothing itself.
 *
 * One report (engine_decide), in order:
 *   1. the (time, application RSS) sample joins the growth window;
 *   2. the trigger levels (trigger_evaluate): an incident, a baseline, a hold, or nothing;
 *   3. a baseline the process's growth would overtake before it is stored is not taken
 *      (engine_baseline_in_time): it would delay the incident and diff against almost
 *      the same heap;
 *   4. predictive = on, nothing fired and no capture running: if at the current growth
 *      rate the snapshot would soon stop fitting (predict_decide), a predictive incident,
 *      with the same holds as any other (trigger_incident);
 *   5. the profiler point (trigger_profiler_level) reached, or an incident, and no
 *      baseline job will start the sampling profiler (the baseline skipped as too late,
 *      baselines off): start_profiler, once per process. It never holds an incident
 *      back: an incident of the same decision is submitted first, the profiler-only job
 *      behind it (it then serves the process's next incident). */
#ifndef HS_ENGINE_H
#define HS_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "decide/guard.h"
#include "decide/predict.h"
#include "decide/trigger.h"

/* The kernel also reports every ENGINE_RSS_STEP of growth, whatever `predictive` is set
 * to: that gives the growth rate without polling (for the predictive trigger, and for
 * whether a baseline can finish in time); samples older than this leave the window. */
#define ENGINE_RSS_STEP (8ULL << 20)
#define ENGINE_WINDOW_MAX_AGE_MS (5 * 60 * 1000)

/* How long a capture of a heap this large would take: measured 100-150 ms per heap MB
 * for small-object heaps, far less for large arrays and Buffers; the signal reaches V8
 * within milliseconds. The typical cost, not the worst (the predictive trigger's
 * margin): a baseline skipped for nothing loses the diff. */
double engine_capture_secs(uint64_t heap_used);

/* The application's RSS growth rate (bytes/s, >= 0) from the window's samples: a fit
 * over the window, at most one ENGINE_RSS_STEP over the time since the last sample. */
double engine_growth_rate(const struct predict_window *g, int64_t now_ms);

/* Why a baseline was not taken in time, for the log. */
struct engine_too_late {
	double rate_bps;               /* the application's growth rate */
	uint64_t remaining_bytes;      /* application RSS left below the incident level */
	double capture_secs;           /* the baseline's estimated time, behind the queue */
};

/* Whether a baseline at rss would be stored before the incident level: with
 * `queued` captures ahead of it, each estimated like this one (engine_capture_secs of
 * heap_used). No major GC measured the heap yet (heap_used 0): true (RSS may be
 * Buffers, no ground to skip it on). False fills why. */
bool engine_baseline_in_time(const struct trigger_params *p, const struct trigger_proc *t, uint64_t rss,
			     uint64_t heap_used, double rate_bps, unsigned queued, struct engine_too_late *why);

/* What the engine knows of the process at one report. */
struct engine_facts {
	uint64_t rss;                  /* RSS now */
	uint64_t heap_used;            /* V8 heap after the last major GC (0 = not measured) */
	unsigned captures_queued;      /* captures in the pool ahead of a new one */
	bool capture_running;          /* a capture of it is queued or running */
	const struct guard_input *guard; /* its memory limits now, for the predictive trigger
	                                    (NULL: predictive off, or they could not be read) */
	int64_t now_ms;                /* monotonic */
};

enum engine_action {
	ENGINE_NONE = 0,               /* nothing to do */
	ENGINE_BASELINE,               /* take the baseline snapshot */
	ENGINE_INCIDENT,               /* an incident: the trigger event and its capture */
	ENGINE_HOLD,                   /* a capture was due but is held back (hold says why) */
};

enum engine_hold {
	ENGINE_HOLD_NONE = 0,
	ENGINE_HOLD_COOLDOWN,          /* within cooldown_s: look again at retry_at_ms */
	ENGINE_HOLD_MAX_PER_PROCESS,   /* max_per_process reached */
	ENGINE_HOLD_BASELINE_TOO_LATE, /* the growth would overtake the baseline (too_late) */
};

/* "cooldown", "max_per_process", "baseline too late"; "" for none. */
const char *engine_hold_name(enum engine_hold h);

struct engine_decision {
	enum engine_action action;
	enum trigger_reason reason;    /* baseline, incident, hold: which trigger */
	uint64_t threshold_bytes;      /* the level crossed (the RSS for a predictive one) */
	uint64_t app_rss;              /* RSS less the agent's captures' (trigger_app_rss) */
	uint64_t heap_used;            /* V8 heap after the last major GC (0 = not measured) */
	int64_t retry_at_ms;           /* evaluate again then (0 = no) */
	enum engine_hold hold;
	struct engine_too_late too_late; /* hold = ENGINE_HOLD_BASELINE_TOO_LATE */
	struct predict_verdict predict;  /* the predictive verdict (PREDICT_WAIT when not asked):
	                                    its reason says why a predictive incident, or that a
	                                    snapshot no longer fits (PREDICT_TOO_LATE) */
	bool start_profiler;           /* also a profiler-only job (after this decision's capture) */
};

/* One RSS report (facts->rss): the decision. pp: the predictive trigger's params (NULL
 * = predictive off). t (the trigger's bookkeeping) and window are the process's and
 * are updated. */
void engine_decide(const struct trigger_params *tp, const struct predict_params *pp, struct trigger_proc *t,
		   struct predict_window *window, const struct engine_facts *f, struct engine_decision *out);

/* An incident found by another detector (the leak heuristic) as a decision: the same
 * holds and bookkeeping as a threshold crossing (trigger_incident). */
void engine_incident(const struct trigger_params *tp, struct trigger_proc *t, enum trigger_reason reason,
		     uint64_t rss, uint64_t threshold, uint64_t heap_used, int64_t now_ms,
		     struct engine_decision *out);

/* The leak heuristic leans (a first sign of a leak, the moment for a baseline):
 * ENGINE_BASELINE when baselines are on, none was asked for yet and one would be far
 * enough below the leak's incident (far_enough: leak_baseline_far_enough); otherwise
 * no snapshot, and start_profiler when the profiler has not been asked for. */
void engine_leaning(const struct trigger_params *tp, struct trigger_proc *t, bool far_enough,
		    struct engine_decision *out);

/* What the process is doing, for the level the kernel is armed at. */
struct engine_arm_facts {
	bool capture_running;          /* a capture of it is queued or running ... */
	bool capture_baseline;         /* ... and it is a baseline (an incident may replace it) */
	bool waiting;                  /* a retry timer, its start-up or a capture's cost pends */
	uint64_t last_rss;             /* RSS at the last kernel report */
};

/* The RSS the kernel should report next (TRIGGER_NEVER: none). Disarmed while an
 * incident's capture runs or a timer will look again anyway; else the next trigger
 * level, or ENGINE_RSS_STEP above the last report if lower (the growth rate). A queued
 * baseline keeps the incident level armed: an incident replaces it. */
uint64_t engine_arm_level(const struct trigger_params *tp, const struct trigger_proc *t,
			  const struct engine_arm_facts *f, int64_t now_ms);

#endif
