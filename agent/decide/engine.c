// SPDX-License-Identifier: Apache-2.0
/* The engine's policy: one decision per RSS report (see engine.h). */
#include "decide/engine.h"

#include "base/strtab.h"

#define CAPTURE_SECS_PER_HEAP_MB 0.15
#define CAPTURE_FIXED_SECS 1.0

double engine_capture_secs(uint64_t heap_used)
{
	return (double)heap_used / 1048576.0 * CAPTURE_SECS_PER_HEAP_MB + CAPTURE_FIXED_SECS;
}

double engine_growth_rate(const struct predict_window *g, int64_t now_ms)
{
	if (g->n < 2)
		return 0;
	double rate = predict_growth_rate(g->s, g->n);
	double quiet_s = (double)((uint64_t)now_ms - g->s[g->n - 1].t_ms) / 1000.0;
	if (quiet_s > 0 && rate > (double)ENGINE_RSS_STEP / quiet_s)
		rate = (double)ENGINE_RSS_STEP / quiet_s;
	return rate > 0 ? rate : 0;
}

bool engine_baseline_in_time(const struct trigger_params *p, const struct trigger_proc *t, uint64_t rss,
			     uint64_t heap_used, double rate_bps, unsigned queued, struct engine_too_late *why)
{
	uint64_t incident = trigger_incident_level(p, t);
	uint64_t app = trigger_app_rss(t, rss);

	if (incident == TRIGGER_NEVER || incident <= app || !heap_used)
		return true;
	double secs = engine_capture_secs(heap_used) * (1 + queued);
	if (trigger_baseline_in_time(incident - app, rate_bps, secs))
		return true;
	*why = (struct engine_too_late){ .rate_bps = rate_bps, .remaining_bytes = incident - app, .capture_secs = secs };
	return false;
}

static const char *const hold_names[] = {
	[ENGINE_HOLD_NONE] = "",
	[ENGINE_HOLD_COOLDOWN] = "cooldown",
	[ENGINE_HOLD_MAX_PER_PROCESS] = "max_per_process",
	[ENGINE_HOLD_BASELINE_TOO_LATE] = "baseline too late",
};

const char *engine_hold_name(enum engine_hold h)
{
	return STRTAB_NAME(hold_names, (unsigned)h, "");
}

/* The trigger policy's answer as a decision (its holds are named by the same strings). */
static void from_trigger(const struct trigger_decision *d, struct engine_decision *out)
{
	out->reason = d->reason;
	out->threshold_bytes = d->threshold_bytes;
	out->retry_at_ms = d->retry_at_ms;
	if (d->fire) {
		out->action = d->baseline ? ENGINE_BASELINE : ENGINE_INCIDENT;
		out->hold = ENGINE_HOLD_NONE;
	} else if (d->held_back) {
		out->action = ENGINE_HOLD;
		int h = STRTAB_FIND(hold_names, d->held_back);
		out->hold = h > 0 ? (enum engine_hold)h : ENGINE_HOLD_MAX_PER_PROCESS;
	} else {
		out->action = ENGINE_NONE;
		out->hold = ENGINE_HOLD_NONE;
	}
}

/* From the profiler point on the process runs the sampling profiler: the baseline job
 * starts it; without one (skipped, or baselines off), a profiler-only job; an incident
 * goes first. reached: the point is reached by this decision. Once per process. */
static void profiler_point(const struct trigger_params *tp, struct trigger_proc *t, bool reached,
			   struct engine_decision *out)
{
	if (!tp->profiler || t->profiler_requested)
		return;
	if (tp->max_per_process && t->captures >= tp->max_per_process)
		return; /* no incident will collect it */
	if (out->action == ENGINE_BASELINE)
		t->profiler_requested = true;
	else if (reached || out->action == ENGINE_INCIDENT)
		out->start_profiler = t->profiler_requested = true;
}

void engine_incident(const struct trigger_params *tp, struct trigger_proc *t, enum trigger_reason reason,
		     uint64_t rss, uint64_t threshold, uint64_t heap_used, int64_t now_ms,
		     struct engine_decision *out)
{
	struct trigger_decision d;

	*out = (struct engine_decision){ .app_rss = trigger_app_rss(t, rss), .heap_used = heap_used,
					 .predict.action = PREDICT_WAIT };
	trigger_incident(tp, t, reason, rss, threshold, now_ms, &d);
	from_trigger(&d, out);
	profiler_point(tp, t, out->app_rss >= trigger_profiler_level(tp, t), out);
}

void engine_leaning(const struct trigger_params *tp, struct trigger_proc *t, bool far_enough,
		    struct engine_decision *out)
{
	*out = (struct engine_decision){ .reason = TRIGGER_BASELINE, .predict.action = PREDICT_WAIT };
	if (tp->baseline_pct && !t->baseline_requested) {
		t->baseline_requested = true;
		if (far_enough)
			out->action = ENGINE_BASELINE;
	}
	profiler_point(tp, t, true, out);
}

/* predictive = on: an incident now if, at the current growth rate, the snapshot
 * would soon stop fitting in memory. */
static void predict(const struct trigger_params *tp, const struct predict_params *pp, struct trigger_proc *t,
		    const struct predict_window *window, const struct engine_facts *f, struct engine_decision *out)
{
	struct trigger_decision d;

	if (predict_decide(pp, window->s, window->n, f->guard, &out->predict) != PREDICT_CAPTURE)
		return;
	trigger_incident(tp, t, TRIGGER_PREDICTIVE, f->rss, f->rss, f->now_ms, &d);
	from_trigger(&d, out);
}

void engine_decide(const struct trigger_params *tp, const struct predict_params *pp, struct trigger_proc *t,
		   struct predict_window *window, const struct engine_facts *f, struct engine_decision *out)
{
	struct trigger_decision d;

	*out = (struct engine_decision){ .app_rss = trigger_app_rss(t, f->rss), .heap_used = f->heap_used,
					 .predict.action = PREDICT_WAIT };
	predict_window_add(window, (uint64_t)f->now_ms, out->app_rss, ENGINE_WINDOW_MAX_AGE_MS);
	trigger_evaluate(tp, t, f->rss, f->now_ms, &d);
	from_trigger(&d, out);
	if (d.fire && d.baseline &&
	    !engine_baseline_in_time(tp, t, f->rss, f->heap_used, engine_growth_rate(window, f->now_ms),
				     f->captures_queued, &out->too_late)) {
		out->action = ENGINE_HOLD;
		out->hold = ENGINE_HOLD_BASELINE_TOO_LATE;
	} else if (!d.fire && !f->capture_running && pp && f->guard) {
		predict(tp, pp, t, window, f, out);
	}
	profiler_point(tp, t, out->app_rss >= trigger_profiler_level(tp, t), out);
}

uint64_t engine_arm_level(const struct trigger_params *tp, const struct trigger_proc *t,
			  const struct engine_arm_facts *f, int64_t now_ms)
{
	bool hold = (f->capture_running && !f->capture_baseline) || f->waiting;
	uint64_t level = hold ? TRIGGER_NEVER : trigger_arm_level(tp, t, now_ms);

	if (!hold && f->last_rss + ENGINE_RSS_STEP < level)
		level = f->last_rss + ENGINE_RSS_STEP;
	return level;
}
