// SPDX-License-Identifier: Apache-2.0
/* Predictive capture ([trigger] predictive = on): capture while the snapshot still
 * fits, before the process grows to where the guard would refuse or the cgroup would
 * kill it.
 *
 * From recent (time, bytes) samples of RSS (or heap used) the growth rate r is fitted
 * by least squares (and must exceed twice its standard error, so GC sawtooth noise is
 * not taken for growth). With the guard's model the margin (headroom - needed) shrinks by
 * (1 + factor) x r per second: the process eats headroom at r and the snapshot gets
 * dearer at factor x r. So the snapshot stops fitting in
 *     T = margin / ((1 + factor) x r)
 * seconds. Capture now when T < the capture's own duration estimate + a reaction
 * margin (the peak comes at the end of the snapshot, and the next sample may be
 * too late). Pure: the caller keeps the samples and reads the limits (guard_collect).
 * While the leak goes on it keeps answering CAPTURE until TOO_LATE: the caller's
 * cooldown_s / max_per_process decide how often that becomes a capture. */
#ifndef HS_PREDICT_H
#define HS_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "decide/guard.h"

struct config;

struct predict_sample {
	uint64_t t_ms;  /* monotonic time */
	uint64_t bytes; /* RSS or heap used */
};

struct predict_params {
	unsigned min_samples;      /* 4: fewer -> no prediction */
	unsigned min_span_ms;      /* 5000: samples must cover at least this long */
	uint64_t min_growth_bps;   /* 64 KiB/s: slower counts as flat */
	double secs_per_heap_mb;   /* 0.40: capture duration per MB of heap (measured 0.06-0.37) */
	unsigned fixed_secs;       /* 2: signal -> event loop -> snapshot start, file close */
	unsigned margin_secs;      /* 10: reaction margin (sampling interval, queueing) */
	struct guard_params guard; /* the guard's model: what "fits" means */
};

enum predict_action {
	PREDICT_WAIT = 0,    /* not enough data, flat, or the snapshot fits for long enough */
	PREDICT_CAPTURE,     /* capture now: it fits now but will not for long */
	PREDICT_TOO_LATE,    /* it does not fit any more: the guard refuses (the event says why) */
};

struct predict_verdict {
	enum predict_action action;
	double growth_bps;         /* fitted growth rate, bytes/s (0 if not computed) */
	double secs_until_no_fit;  /* T above; negative = already does not fit; 1e18 = never */
	double capture_secs;       /* estimated capture duration + fixed + margin */
	struct guard_verdict guard;/* the guard's verdict for `now` */
	char reason[256];
};

/* The tuning above at its defaults; guard left as it is. */
void predict_default_params(struct predict_params *p);
/* The defaults, with the guard of cfg. */
struct predict_params predict_params_from(const struct config *cfg);

/* Least-squares slope of bytes over time, in bytes/s. 0 if n < 2 or no time span. */
double predict_growth_rate(const struct predict_sample *s, size_t n);

/* Decide from samples s[0..n) (oldest first) and the current limits `now` (whose
 * heap_used/rss are those of the newest sample). Returns out->action. */
enum predict_action predict_decide(const struct predict_params *params, const struct predict_sample *s,
				   size_t n, const struct guard_input *now, struct predict_verdict *out);

/* A fixed-size window of the newest samples, for the caller to keep per process. */
#define PREDICT_WINDOW 32
struct predict_window {
	struct predict_sample s[PREDICT_WINDOW]; /* oldest first, s[0..n) */
	size_t n;
};

/* Appends, dropping the oldest when full, and drops samples older than max_age_ms
 * before the newest (0 = keep all that fit). Time must not go backwards: a sample
 * older than the newest resets the window to that sample. */
void predict_window_add(struct predict_window *w, uint64_t t_ms, uint64_t bytes, uint64_t max_age_ms);

#endif
