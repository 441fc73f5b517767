// SPDX-License-Identifier: Apache-2.0
/* Predictive capture: fire while the snapshot still fits (see predict.h). */
#include "decide/predict.h"

#include <stdio.h>
#include <string.h>

#include "base/config.h"

#define MiB (1024.0 * 1024.0)
#define NEVER 1e18

void predict_default_params(struct predict_params *p)
{
	p->min_samples = 4;
	p->min_span_ms = 5000;
	p->min_growth_bps = 64 * 1024;
	/* Measured with tests/bench/snapshot_cost.sh (Node 20, idle 2-core guest): 0.06 s/MB
	 * (16-property objects), 0.12 (2-property objects), 0.17 (short strings), 0.14-0.37
	 * (boxed doubles: the most nodes per MB). A busy host is slower; 0.40 keeps a margin.
	 * Overestimating only makes the predictive capture fire earlier. */
	p->secs_per_heap_mb = 0.40;
	p->fixed_secs = 2;
	p->margin_secs = 10;
}

struct predict_params predict_params_from(const struct config *cfg)
{
	struct predict_params p = { .guard = guard_params_from(cfg) };

	predict_default_params(&p);
	return p;
}

double predict_growth_rate(const struct predict_sample *s, size_t n)
{
	if (n < 2)
		return 0;
	/* Relative to the first sample so the sums stay small and exact enough. */
	double st = 0, sb = 0;
	for (size_t i = 0; i < n; i++) {
		st += (double)(s[i].t_ms - s[0].t_ms) / 1000.0;
		sb += (double)s[i].bytes - (double)s[0].bytes;
	}
	double mt = st / (double)n, mb = sb / (double)n, cov = 0, var = 0;
	for (size_t i = 0; i < n; i++) {
		double dt = (double)(s[i].t_ms - s[0].t_ms) / 1000.0 - mt;
		double db = (double)s[i].bytes - (double)s[0].bytes - mb;
		cov += dt * db;
		var += dt * dt;
	}
	return var > 0 ? cov / var : 0;
}

/* True if the fitted slope stands out of the residual noise: slope > 2 standard
 * errors. A GC sawtooth sampled at an unlucky phase can tilt a short fit; it cannot
 * make that tilt significant. */
static bool slope_is_significant(const struct predict_sample *s, size_t n, double slope)
{
	if (n < 3)
		return false;
	double mt = 0, mb = 0;
	for (size_t i = 0; i < n; i++) {
		mt += (double)(s[i].t_ms - s[0].t_ms) / 1000.0;
		mb += (double)s[i].bytes - (double)s[0].bytes;
	}
	mt /= (double)n, mb /= (double)n;
	double ssr = 0, var = 0;
	for (size_t i = 0; i < n; i++) {
		double dt = (double)(s[i].t_ms - s[0].t_ms) / 1000.0 - mt;
		double r = (double)s[i].bytes - (double)s[0].bytes - mb - slope * dt;
		ssr += r * r;
		var += dt * dt;
	}
	if (var <= 0)
		return false;
	/* slope > 2 x sqrt(ssr / (n - 2) / var), squared (no libm in the link) */
	return slope > 0 && slope * slope > 4.0 * ssr / (double)(n - 2) / var;
}

static double capture_secs_estimate(const struct predict_params *p, const struct guard_input *now)
{
	uint64_t heap = now->heap_used_bytes ? now->heap_used_bytes : now->rss_bytes;
	return p->secs_per_heap_mb * ((double)heap / MiB) + p->fixed_secs + p->margin_secs;
}

static enum predict_action finish(struct predict_verdict *out, enum predict_action a)
{
	out->action = a;
	return a;
}

static bool enough_data(const struct predict_params *p, const struct predict_sample *s, size_t n)
{
	return n >= p->min_samples && n >= 2 && s[n - 1].t_ms - s[0].t_ms >= p->min_span_ms;
}

enum predict_action predict_decide(const struct predict_params *params, const struct predict_sample *s,
				   size_t n, const struct guard_input *now, struct predict_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->secs_until_no_fit = NEVER;
	out->capture_secs = capture_secs_estimate(params, now);
	guard_check(&params->guard, now, &out->guard);
	int64_t margin = guard_margin(&out->guard);

	if (margin < 0) {
		out->secs_until_no_fit = -1;
		snprintf(out->reason, sizeof(out->reason), "too late: %.240s", out->guard.reason);
		return finish(out, PREDICT_TOO_LATE);
	}
	if (!enough_data(params, s, n)) {
		snprintf(out->reason, sizeof(out->reason), "not enough samples to predict yet");
		return finish(out, PREDICT_WAIT);
	}
	out->growth_bps = predict_growth_rate(s, n);
	bool sustained = slope_is_significant(s, n, out->growth_bps);
	if (out->growth_bps < (double)params->min_growth_bps || !sustained || margin == INT64_MAX) {
		snprintf(out->reason, sizeof(out->reason), "%s (%.2f MiB/s): the snapshot keeps fitting",
			 margin == INT64_MAX ? "no memory limit known" : "not growing", out->growth_bps / MiB);
		return finish(out, PREDICT_WAIT);
	}
	out->secs_until_no_fit = (double)margin / ((1.0 + params->guard.cost_factor) * out->growth_bps);
	bool fire = out->secs_until_no_fit < out->capture_secs;
	snprintf(out->reason, sizeof(out->reason),
		 "growing %.1f MiB/s: the snapshot (needs %.0f MiB) stops fitting under %s in %.0f s, %s the %.0f s a capture needs with margin%s",
		 out->growth_bps / MiB, out->guard.needed_bytes / MiB, out->guard.limit, out->secs_until_no_fit,
		 fire ? "less than" : "more than", out->capture_secs, fire ? ": capture now" : "");
	return finish(out, fire ? PREDICT_CAPTURE : PREDICT_WAIT);
}

void predict_window_add(struct predict_window *w, uint64_t t_ms, uint64_t bytes, uint64_t max_age_ms)
{
	if (w->n > 0 && t_ms < w->s[w->n - 1].t_ms)
		w->n = 0;
	if (w->n == PREDICT_WINDOW) {
		memmove(&w->s[0], &w->s[1], (PREDICT_WINDOW - 1) * sizeof(w->s[0]));
		w->n--;
	}
	w->s[w->n].t_ms = t_ms;
	w->s[w->n].bytes = bytes;
	w->n++;
	if (max_age_ms == 0)
		return;
	size_t drop = 0;
	while (drop < w->n - 1 && t_ms - w->s[drop].t_ms > max_age_ms)
		drop++;
	if (drop) {
		memmove(&w->s[0], &w->s[drop], (w->n - drop) * sizeof(w->s[0]));
		w->n -= drop;
	}
}
