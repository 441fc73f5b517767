// SPDX-License-Identifier: Apache-2.0
/* Unit tests of cost.c: a capture's cost to its target through its lifecycle (begin,
 * start, end, settle, refine), when it is ready to be measured, and the window of
 * major GCs it is measured by. The numbers are those the daemon's agent.c computed
 * before the policy moved here (same rules, same edges). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "decide/cost.h"

#define MB (1ULL << 20)

static struct cost_watch cw;
static struct cost_majors gcs;

static int setup(void **state)
{
	(void)state;
	cw = (struct cost_watch){ 0 };
	gcs = (struct cost_majors){ 0 };
	return 0;
}

/* A capture requested at offset 10 MB with the application growing 1 MB/s, started at
 * t = 1000 with RSS 100 MB, ended at t = 5000. */
static void one_capture(void)
{
	cost_begin(&cw, false, 10 * MB, (double)MB);
	cost_capture_started(&cw, 100 * MB, 1000);
	cost_captures_ended(&cw, 5000);
}

static void test_majors_window(void **state)
{
	(void)state;
	for (int i = 0; i < COST_MAJORS + 3; i++)
		cost_majors_add(&gcs, i * 100, (uint64_t)i * MB);
	assert_int_equal(gcs.n, COST_MAJORS);
	assert_int_equal(gcs.m[0].t_ms, 300); /* the oldest three dropped */
	assert_int_equal(gcs.m[COST_MAJORS - 1].heap_after, (COST_MAJORS + 2) * MB);
}

static void test_lifecycle(void **state)
{
	(void)state;
	cw.settle_at_ms = 123, cw.refine_until_ms = 456; /* a new capture stops both */
	cost_begin(&cw, false, 10 * MB, 2.5);
	assert_true(cw.last.active);
	assert_int_equal(cw.last.offset_before, 10 * MB);
	assert_float_equal(cw.last.app_rate_bps, 2.5, 0);
	assert_int_equal(cw.settle_at_ms, 0);
	assert_int_equal(cw.refine_until_ms, 0);
	cost_capture_started(&cw, 100 * MB, 1000);
	cost_capture_started(&cw, 150 * MB, 2000); /* the first to start counts */
	assert_int_equal(cw.last.rss_before, 100 * MB);
	assert_int_equal(cw.last.started_ms, 1000);
	/* an incident replacing the queued baseline keeps the earlier start */
	cost_begin(&cw, true, 20 * MB, 9.0);
	assert_int_equal(cw.last.offset_before, 10 * MB);
	assert_int_equal(cw.last.started_ms, 1000);
	cost_captures_ended(&cw, 5000);
	assert_int_equal(cw.last.ended_ms, 5000);
	assert_int_equal(cw.settle_at_ms, 5000 + CAPTURE_SETTLE_MS);
	assert_true(cw.last.active);
	/* after it ended, a new capture starts a new measurement */
	cost_begin(&cw, true, 20 * MB, 9.0);
	assert_int_equal(cw.last.offset_before, 20 * MB);
	assert_int_equal(cw.last.started_ms, 0);
}

static void test_nothing_reached_the_target(void **state)
{
	(void)state;
	cost_begin(&cw, false, 0, 0);
	cost_captures_ended(&cw, 5000);
	assert_false(cw.last.active);
	assert_int_equal(cw.settle_at_ms, 0);
	cost_capture_started(&cw, 100 * MB, 6000); /* inactive: ignored */
	assert_int_equal(cw.last.started_ms, 0);
}

static void test_ready(void **state)
{
	(void)state;
	one_capture();
	/* without GC probes: at settle_at */
	assert_false(cost_ready(&cw, false, false, &gcs, 5000 + CAPTURE_SETTLE_MS - 1));
	assert_true(cost_ready(&cw, false, false, &gcs, 5000 + CAPTURE_SETTLE_MS));
	assert_false(cost_ready(&cw, true, false, &gcs, 5000 + CAPTURE_SETTLE_MS)); /* another runs */
	/* with GC probes: a major GC after the end, or CAPTURE_SETTLE_MAX_MS */
	cost_majors_add(&gcs, 5000, 50 * MB); /* not after the end */
	assert_false(cost_ready(&cw, false, true, &gcs, 5000 + CAPTURE_SETTLE_MS));
	assert_true(cost_ready(&cw, false, true, &gcs, 5000 + CAPTURE_SETTLE_MAX_MS));
	cost_majors_add(&gcs, 5001, 50 * MB);
	assert_true(cost_ready(&cw, false, true, &gcs, 5000 + CAPTURE_SETTLE_MS));
	cw.settle_at_ms = 0;
	assert_false(cost_ready(&cw, false, false, &gcs, 1000000));
}

static void test_settle_by_heap(void **state)
{
	(void)state;
	struct cost_settled st;
	one_capture();
	cost_majors_add(&gcs, 500, 30 * MB);  /* before the route started */
	cost_majors_add(&gcs, 1200, 40 * MB); /* V8's GC as the snapshot starts */
	cost_majors_add(&gcs, 6000, 55 * MB); /* after it ended: the heap grew 15 MB */
	cost_settle(&cw, &gcs, true, 300 * MB, 7000, &st);
	assert_int_equal(cw.last.heap_before, 40 * MB);
	assert_true(st.heap_fresh);
	assert_int_equal(st.heap_now, 55 * MB);
	/* 200 MB gained, 15 of it the application's: 185 MB over the 10 MB before */
	assert_int_equal(st.offset, 195 * MB);
	assert_int_equal(cw.last.rss_settled, 300 * MB);
	assert_int_equal(cw.settle_at_ms, 0);
	assert_int_equal(cw.refine_until_ms, 7000 + CAPTURE_REFINE_MS);
}

static void test_settle_without_heap(void **state)
{
	(void)state;
	struct cost_settled st;
	/* GC probes, but no major GC since it ended: no growth assumed */
	one_capture();
	cost_settle(&cw, &gcs, true, 300 * MB, 15000, &st);
	assert_false(st.heap_fresh);
	assert_int_equal(st.heap_now, 0);
	assert_float_equal(st.app_rate_bps, 0, 0);
	assert_int_equal(st.offset, 210 * MB);
	/* without GC probes: the rate before it, over the 10 s since it ended */
	setup(NULL);
	one_capture();
	cost_settle(&cw, &gcs, false, 300 * MB, 15000, &st);
	assert_float_equal(st.app_rate_bps, (double)MB, 0);
	assert_int_equal(st.offset, 200 * MB);
}

static void test_refine(void **state)
{
	(void)state;
	struct cost_settled st;
	one_capture();
	cost_majors_add(&gcs, 1200, 40 * MB);
	cost_majors_add(&gcs, 6000, 40 * MB);
	cost_settle(&cw, &gcs, true, 300 * MB, 7000, &st);
	assert_int_equal(st.offset, 210 * MB);
	/* a later GC: the heap grew 20 MB, RSS 320 MB: 200 MB the capture's */
	assert_int_equal(cost_refine(&cw, false, st.offset, 320 * MB, 60 * MB, 8000), 210 * MB);
	/* the heap shrank: at most the settle measurement + a quarter */
	assert_int_equal(cost_refine(&cw, false, st.offset, 400 * MB, 40 * MB, 8000), 10 * MB + 250 * MB);
	/* nothing while a capture runs */
	assert_int_equal(cost_refine(&cw, true, 7 * MB, 400 * MB, 40 * MB, 8000), 7 * MB);
	/* the window closes after CAPTURE_REFINE_MS, and stays closed */
	assert_int_equal(cost_refine(&cw, false, 7 * MB, 400 * MB, 40 * MB, 7001 + CAPTURE_REFINE_MS), 7 * MB);
	assert_false(cw.last.active);
	assert_int_equal(cw.refine_until_ms, 0);
	assert_int_equal(cost_refine(&cw, false, 7 * MB, 400 * MB, 40 * MB, 8000), 7 * MB);
}

static void test_refine_needs_heap_before(void **state)
{
	(void)state;
	struct cost_settled st;
	one_capture();
	cost_settle(&cw, &gcs, false, 300 * MB, 7000, &st); /* no GC measured its start */
	assert_int_equal(cost_refine(&cw, false, st.offset, 320 * MB, 60 * MB, 8000), st.offset);
	assert_false(cw.last.active);
	/* not before it settled */
	setup(NULL);
	one_capture();
	assert_int_equal(cost_refine(&cw, false, 3 * MB, 320 * MB, 60 * MB, 8000), 3 * MB);
	assert_true(cw.last.active);
}

#define T(f) cmocka_unit_test_setup(f, setup)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_majors_window),   T(test_lifecycle), T(test_nothing_reached_the_target),
		T(test_ready),           T(test_settle_by_heap), T(test_settle_without_heap),
		T(test_refine),          T(test_refine_needs_heap_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
