// SPDX-License-Identifier: Apache-2.0
/* A capture's cost to its target, from request to refinement (see cost.h). */
#include "decide/cost.h"

#include <string.h>

void cost_majors_add(struct cost_majors *m, int64_t t_ms, uint64_t heap_after)
{
	if (m->n == COST_MAJORS)
		memmove(m->m, m->m + 1, (COST_MAJORS - 1) * sizeof(m->m[0]));
	else
		m->n++;
	m->m[m->n - 1].t_ms = t_ms;
	m->m[m->n - 1].heap_after = heap_after;
}

/* Heap after the first major GC at or after t_ms (0 = none). */
static uint64_t heap_after_first_gc_since(const struct cost_majors *m, int64_t t_ms)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].t_ms >= t_ms)
			return m->m[i].heap_after;
	return 0;
}

static bool heap_measured_since(const struct cost_majors *m, int64_t t_ms)
{
	return m->n && m->m[m->n - 1].t_ms > t_ms;
}

void cost_begin(struct cost_watch *cw, bool capture_running, uint64_t offset_now, double app_rate_bps)
{
	cw->settle_at_ms = 0;
	cw->refine_until_ms = 0;
	if (cw->last.active && !cw->last.ended_ms && capture_running)
		return;
	cw->last = (struct capture_cost){ .active = true, .offset_before = offset_now, .app_rate_bps = app_rate_bps };
}

void cost_capture_started(struct cost_watch *cw, uint64_t rss_at_start, int64_t started_ms)
{
	if (!cw->last.active || cw->last.started_ms)
		return;
	cw->last.rss_before = rss_at_start;
	cw->last.started_ms = started_ms;
}

void cost_captures_ended(struct cost_watch *cw, int64_t now_ms)
{
	if (cw->last.active && cw->last.started_ms) {
		cw->last.ended_ms = now_ms;
		cw->settle_at_ms = now_ms + CAPTURE_SETTLE_MS;
	} else {
		cw->last.active = false; /* nothing reached the target */
	}
}

bool cost_ready(const struct cost_watch *cw, bool capture_running, bool gc_attached,
		const struct cost_majors *m, int64_t now_ms)
{
	if (!cw->settle_at_ms || now_ms < cw->settle_at_ms || capture_running)
		return false;
	return !gc_attached || heap_measured_since(m, cw->last.ended_ms) ||
	       now_ms >= cw->last.ended_ms + CAPTURE_SETTLE_MAX_MS;
}

void cost_settle(struct cost_watch *cw, const struct cost_majors *m, bool gc_attached, uint64_t rss,
		 int64_t now_ms, struct cost_settled *out)
{
	struct capture_cost *c = &cw->last;

	c->heap_before = heap_after_first_gc_since(m, c->started_ms);
	out->heap_fresh = heap_measured_since(m, c->ended_ms);
	struct capture_cost est = *c;
	if (gc_attached && !out->heap_fresh)
		est.app_rate_bps = 0;
	out->app_rate_bps = est.app_rate_bps;
	out->heap_now = out->heap_fresh ? m->m[m->n - 1].heap_after : 0;
	out->offset = trigger_capture_offset(&est, rss, out->heap_fresh, out->heap_now, now_ms);
	cw->settle_at_ms = 0;
	cw->refine_until_ms = now_ms + CAPTURE_REFINE_MS;
	c->rss_settled = rss;
}

uint64_t cost_refine(struct cost_watch *cw, bool capture_running, uint64_t offset_now, uint64_t rss,
		     uint64_t heap_after, int64_t now_ms)
{
	if (!cw->last.active || capture_running || cw->settle_at_ms || !cw->refine_until_ms)
		return offset_now;
	if (now_ms > cw->refine_until_ms || !cw->last.heap_before) {
		cw->last.active = false;
		cw->refine_until_ms = 0;
		return offset_now;
	}
	return trigger_capture_refined(&cw->last, offset_now, rss, heap_after);
}
