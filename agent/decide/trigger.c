// SPDX-License-Identifier: Apache-2.0
/* Trigger policy: when does a process's RSS call for a heap snapshot.
 *
 * Levels (all saturating: a level that would overflow becomes TRIGGER_NEVER):
 *   first incident level = the lowest of
 *       rss_bytes                      (when rss_mb > 0)
 *       rss_first_seen + growth_bytes  (when growth_mb > 0)
 *   after a capture decision at RSS R (the re-arm rule):
 *       next level = max(first incident level, R + step)
 *       step = growth_bytes when growth_mb > 0, else R / 10 (10%, at least 1 MiB)
 *   so a process that stays above a threshold is not captured again until it has grown
 *   by another step; a process already above rss_mb when first seen is captured at once.
 *   baseline level (once, before any incident capture; needs growth_mb and baseline_pct):
 *       rss_first_seen + growth_bytes * baseline_pct / 100
 *
 * Holds: max_per_process reached (0 = no limit) -> never again (arm TRIGGER_NEVER);
 * within cooldown_s of the last capture decision -> held back, retry_at_ms = the end of
 * the cooldown (the boundary itself is outside the cooldown). The armed level does not
 * change during a cooldown: the caller disarms after a held-back decision and calls
 * trigger_evaluate again at retry_at_ms with the RSS then.
 *
 * Reason of an incident: TRIGGER_RSS when only the absolute threshold is crossed,
 * TRIGGER_GROWTH otherwise (when both are crossed, the growth over the baseline is what the user asked
 * to be told about). A jump past the baseline level and an incident level at once gives
 * the incident only; the baseline is then skipped.
 *
 * The agent's own capture is never growth: a snapshot costs the target 3-12x its heap
 * and V8 and the allocator keep much of it (measured: 116 MB -> 536 MB RSS, flat for a
 * minute after). Every level here is in application RSS = RSS - capture_offset, the
 * RSS the captures left behind (trigger_capture_offset); the kernel compares the raw
 * RSS against level + capture_offset, so a crossing is still exact to the page. */
#include "decide/trigger.h"

#include "base/config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define MIN_RSS_STEP (1ULL << 20)

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t min_level(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* b * pct / 100 without overflow for any b (pct < 100). */
static uint64_t percent_of(uint64_t b, unsigned pct)
{
	return b / 100 * pct + b % 100 * pct / 100;
}

static uint64_t first_incident_level(const struct trigger_params *p, const struct trigger_proc *t)
{
	uint64_t level = TRIGGER_NEVER;
	if (p->rss_bytes)
		level = p->rss_bytes;
	if (p->growth_bytes)
		level = min_level(level, sat_add(t->rss_first_seen, p->growth_bytes));
	return level;
}

static uint64_t rearm_step(const struct trigger_params *p, uint64_t last_rss)
{
	if (p->growth_bytes)
		return p->growth_bytes;
	uint64_t step = last_rss / 10;
	return step < MIN_RSS_STEP ? MIN_RSS_STEP : step;
}

/* The RSS at which the next incident capture is due, ignoring holds. */
static uint64_t incident_level(const struct trigger_params *p, const struct trigger_proc *t)
{
	uint64_t level = first_incident_level(p, t);
	if (level == TRIGGER_NEVER || t->captures == 0)
		return level;
	uint64_t next = sat_add(t->last_capture_rss, rearm_step(p, t->last_capture_rss));
	return next > level ? next : level;
}

static uint64_t baseline_level(const struct trigger_params *p, const struct trigger_proc *t)
{
	if (!p->growth_bytes || !p->baseline_pct || t->baseline_requested || t->captures)
		return TRIGGER_NEVER;
	uint64_t part = percent_of(p->growth_bytes, p->baseline_pct);
	return part ? sat_add(t->rss_first_seen, part) : TRIGGER_NEVER;
}

#define PROFILER_PCT_NO_BASELINE 50 /* baseline_pct's default */

uint64_t trigger_profiler_level(const struct trigger_params *p, const struct trigger_proc *t)
{
	if (!p->profiler || !p->growth_bytes)
		return TRIGGER_NEVER;
	uint64_t part = percent_of(p->growth_bytes, p->baseline_pct ? p->baseline_pct : PROFILER_PCT_NO_BASELINE);
	return sat_add(t->rss_first_seen, part);
}

static bool limit_reached(const struct trigger_params *p, const struct trigger_proc *t)
{
	return p->max_per_process && t->captures >= p->max_per_process;
}

/* End of the cooldown in ms, or 0 when not in one at now_ms. */
static int64_t cooldown_end(const struct trigger_params *p, const struct trigger_proc *t, int64_t now_ms)
{
	if (!t->captures || !p->cooldown_s)
		return 0;
	int64_t span = (int64_t)p->cooldown_s * 1000;
	int64_t end = t->last_capture_ms > INT64_MAX - span ? INT64_MAX : t->last_capture_ms + span;
	return now_ms < end ? end : 0;
}

static const char *const reason_names[TRIGGER_REASON_COUNT] = {
	[TRIGGER_RSS] = "rss",
	[TRIGGER_GROWTH] = "growth",
	[TRIGGER_LEAK] = "leak",
	[TRIGGER_PREDICTIVE] = "predictive",
	[TRIGGER_BASELINE] = "baseline",
};

const char *trigger_reason_name(enum trigger_reason r)
{
	return (unsigned)r < TRIGGER_REASON_COUNT ? reason_names[r] : "unknown";
}

int trigger_reason_parse(const char *s, enum trigger_reason *out)
{
	for (unsigned i = 0; s && i < TRIGGER_REASON_COUNT; i++)
		if (strcmp(s, reason_names[i]) == 0) {
			*out = (enum trigger_reason)i;
			return 0;
		}
	return -EINVAL;
}

static enum trigger_reason incident_reason(const struct trigger_params *p, const struct trigger_proc *t,
					   uint64_t rss)
{
	if (p->growth_bytes && rss >= sat_add(t->rss_first_seen, p->growth_bytes))
		return TRIGGER_GROWTH;
	return p->rss_bytes ? TRIGGER_RSS : TRIGGER_GROWTH;
}

struct trigger_params trigger_params_from(const struct config *cfg)
{
	return (struct trigger_params){
		.rss_bytes = cfg->rss_bytes,
		.growth_bytes = cfg->growth_bytes,
		.cooldown_s = cfg->cooldown_s,
		.max_per_process = cfg->max_per_process,
		.baseline_pct = cfg->baseline_pct,
		.profiler = cfg->profile_interval_kb > 0,
	};
}

void trigger_init(struct trigger_proc *t, uint64_t rss_now)
{
	*t = (struct trigger_proc){ .rss_first_seen = rss_now };
}

uint64_t trigger_app_rss(const struct trigger_proc *t, uint64_t rss)
{
	return rss > t->capture_offset ? rss - t->capture_offset : 0;
}

/* An application-RSS level as the kernel compares it. */
static uint64_t raw_level(const struct trigger_proc *t, uint64_t level)
{
	return level == TRIGGER_NEVER ? TRIGGER_NEVER : sat_add(level, t->capture_offset);
}

uint64_t trigger_capture_offset(const struct capture_cost *c, uint64_t rss_now, bool heap_fresh,
				uint64_t heap_now, int64_t now_ms)
{
	double app_growth;
	if (heap_fresh && c->heap_before)
		app_growth = heap_now > c->heap_before ? (double)(heap_now - c->heap_before) : 0;
	else
		app_growth = c->app_rate_bps * (double)(now_ms > c->ended_ms ? now_ms - c->ended_ms : 0) / 1000.0;
	double gained = rss_now > c->rss_before ? (double)(rss_now - c->rss_before) : 0;
	double cost = gained > app_growth ? gained - app_growth : 0;
	return sat_add(c->offset_before, cost >= (double)UINT64_MAX ? UINT64_MAX : (uint64_t)cost);
}

uint64_t trigger_capture_refined(const struct capture_cost *c, uint64_t offset_now, uint64_t rss_now,
				 uint64_t heap_now)
{
	if (!c->heap_before || !c->rss_settled)
		return offset_now;
	uint64_t heap_growth = heap_now > c->heap_before ? heap_now - c->heap_before : 0;
	uint64_t gained = rss_now > c->rss_before ? rss_now - c->rss_before : 0;
	uint64_t cost = gained > heap_growth ? gained - heap_growth : 0;
	uint64_t at_settle = c->rss_settled > c->rss_before ? c->rss_settled - c->rss_before : 0;
	uint64_t cap = sat_add(at_settle, at_settle / 4);
	return sat_add(c->offset_before, cost < cap ? cost : cap);
}

bool trigger_baseline_in_time(uint64_t remaining_bytes, double app_rate_bps, double capture_s)
{
	return app_rate_bps <= 0 || app_rate_bps * capture_s < (double)remaining_bytes;
}

#define MIN_DIFF_GROWTH (8ULL << 20)

bool trigger_baseline_usable(const struct trigger_params *p, const struct trigger_proc *t, uint64_t app_rss)
{
	if (!t->baseline_app_rss || app_rss <= t->baseline_app_rss)
		return false;
	uint64_t need = (p->growth_bytes ? p->growth_bytes : app_rss) / 4;
	if (need < MIN_DIFF_GROWTH)
		need = MIN_DIFF_GROWTH;
	return app_rss - t->baseline_app_rss >= need;
}

bool trigger_baseline_usable_heap(const struct trigger_proc *t, uint64_t heap_now)
{
	if (!t->baseline_heap || heap_now <= t->baseline_heap)
		return false;
	uint64_t need = heap_now / 4 > MIN_DIFF_GROWTH ? heap_now / 4 : MIN_DIFF_GROWTH;
	return heap_now - t->baseline_heap >= need;
}

uint64_t trigger_incident_level(const struct trigger_params *p, const struct trigger_proc *t)
{
	return limit_reached(p, t) ? TRIGGER_NEVER : incident_level(p, t);
}

uint64_t trigger_arm_level(const struct trigger_params *p, const struct trigger_proc *t, int64_t now_ms)
{
	(void)now_ms; /* a cooldown does not move the level: see the header comment */
	if (limit_reached(p, t))
		return TRIGGER_NEVER;
	return raw_level(t, min_level(incident_level(p, t), baseline_level(p, t)));
}

/* An incident at rss: fire unless held back, and book it. */
static void decide_incident(const struct trigger_params *p, struct trigger_proc *t, uint64_t rss,
			    int64_t now_ms, struct trigger_decision *out)
{
	if (limit_reached(p, t)) {
		out->held_back = "max_per_process";
		return;
	}
	int64_t end = cooldown_end(p, t, now_ms);
	if (end) {
		out->held_back = "cooldown";
		out->retry_at_ms = end;
		return;
	}
	out->fire = true;
	t->captures++;
	t->last_capture_rss = trigger_app_rss(t, rss);
	t->last_capture_ms = now_ms;
	t->baseline_requested = true; /* a baseline after an incident is no baseline */
}

void trigger_incident(const struct trigger_params *p, struct trigger_proc *t, enum trigger_reason reason,
		      uint64_t rss, uint64_t threshold, int64_t now_ms, struct trigger_decision *out)
{
	*out = (struct trigger_decision){ .reason = reason, .threshold_bytes = threshold };
	decide_incident(p, t, rss, now_ms, out);
}

void trigger_evaluate(const struct trigger_params *p, struct trigger_proc *t, uint64_t rss, int64_t now_ms,
		      struct trigger_decision *out)
{
	*out = (struct trigger_decision){ 0 };
	uint64_t level = incident_level(p, t), app = trigger_app_rss(t, rss);

	if (level != TRIGGER_NEVER && app >= level) {
		out->threshold_bytes = raw_level(t, level);
		out->reason = incident_reason(p, t, app);
		decide_incident(p, t, rss, now_ms, out);
		return;
	}

	uint64_t base = baseline_level(p, t);
	if (base != TRIGGER_NEVER && app >= base) {
		out->fire = true;
		out->baseline = true;
		out->reason = TRIGGER_BASELINE;
		out->threshold_bytes = raw_level(t, base);
		t->baseline_requested = true;
	}
}
