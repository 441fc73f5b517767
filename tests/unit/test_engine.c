// SPDX-License-Identifier: Apache-2.0
/* Unit tests of engine.c: the decision one RSS report makes (incident, baseline, holds,
 * a baseline the growth would overtake, the predictive incident and its verdicts), the
 * capture time estimate, the growth rate, baseline-in-time, and the level the kernel is
 * armed at. The numbers are those the daemon's agent.c computed before the policy moved
 * here (same formulas, same edges). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "decide/engine.h"

#define MB (1ULL << 20)

static struct trigger_params tp;
static struct predict_params pp;
static struct trigger_proc t;
static struct predict_window win;
static struct engine_decision d;

static int setup(void **state)
{
	(void)state;
	tp = (struct trigger_params){ 0 };
	pp = (struct predict_params){ .guard = { .enforce = true, .cost_factor = 2 } };
	predict_default_params(&pp);
	trigger_init(&t, 100 * MB);
	win = (struct predict_window){ 0 };
	d = (struct engine_decision){ 0 };
	return 0;
}

static void decide(uint64_t rss, int64_t now, const struct guard_input *guard)
{
	struct engine_facts f = { .rss = rss, .now_ms = now, .guard = guard };
	engine_decide(&tp, guard ? &pp : NULL, &t, &win, &f, &d);
}

/* Application RSS growing 1 MB/s, one sample a second from t = 0 to 5 s. */
static void grow_window(void)
{
	for (int i = 0; i <= 5; i++)
		predict_window_add(&win, (uint64_t)i * 1000, 100 * MB + (uint64_t)i * MB, 0);
}

static void test_capture_secs(void **state)
{
	(void)state;
	assert_float_equal(engine_capture_secs(0), 1.0, 1e-9);
	assert_float_equal(engine_capture_secs(100 * MB), 16.0, 1e-9); /* 0.15 s per MB + 1 s */
}

static void test_growth_rate(void **state)
{
	(void)state;
	assert_float_equal(engine_growth_rate(&win, 0), 0, 0); /* no samples */
	predict_window_add(&win, 0, 100 * MB, 0);
	assert_float_equal(engine_growth_rate(&win, 0), 0, 0); /* one sample */
	win.n = 0;
	grow_window();
	assert_float_equal(engine_growth_rate(&win, 5000), (double)MB, 1);
	/* quiet since the last sample: at most one step (8 MB) over the quiet time */
	assert_float_equal(engine_growth_rate(&win, 5000 + 16000), (double)ENGINE_RSS_STEP / 16.0, 1);
	/* shrinking: 0, never negative */
	win.n = 0;
	predict_window_add(&win, 0, 200 * MB, 0);
	predict_window_add(&win, 1000, 100 * MB, 0);
	assert_float_equal(engine_growth_rate(&win, 1000), 0, 0);
}

static void test_baseline_in_time(void **state)
{
	(void)state;
	struct engine_too_late why = { 0 };
	tp.growth_bytes = 100 * MB; /* incident at 200 MB */

	/* no incident level, already past it, heap not measured: no ground to skip */
	assert_true(engine_baseline_in_time(&(struct trigger_params){ 0 }, &t, 150 * MB, 50 * MB, 1e9, 0, &why));
	assert_true(engine_baseline_in_time(&tp, &t, 200 * MB, 50 * MB, 1e9, 0, &why));
	assert_true(engine_baseline_in_time(&tp, &t, 150 * MB, 0, 1e9, 0, &why));
	/* 50 MB left, a 100 MB heap takes 16 s: in time below 50/16 MB/s */
	assert_true(engine_baseline_in_time(&tp, &t, 150 * MB, 100 * MB, 3.0 * MB, 0, &why));
	assert_false(engine_baseline_in_time(&tp, &t, 150 * MB, 100 * MB, 3.2 * MB, 0, &why));
	assert_float_equal(why.rate_bps, 3.2 * MB, 1);
	assert_int_equal(why.remaining_bytes, 50 * MB);
	assert_float_equal(why.capture_secs, 16.0, 1e-9);
	/* one capture queued ahead: twice the time */
	assert_false(engine_baseline_in_time(&tp, &t, 150 * MB, 100 * MB, 2.0 * MB, 1, &why));
	assert_float_equal(why.capture_secs, 32.0, 1e-9);
	/* levels are in application RSS: the capture offset is not growth */
	t.capture_offset = 40 * MB;
	assert_true(engine_baseline_in_time(&tp, &t, 150 * MB, 100 * MB, 3.2 * MB, 0, &why));
}

static void test_incident(void **state)
{
	(void)state;
	tp.growth_bytes = 50 * MB;
	decide(140 * MB, 1000, NULL);
	assert_int_equal(d.action, ENGINE_NONE);
	decide(151 * MB, 2000, NULL);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.reason, TRIGGER_GROWTH);
	assert_int_equal(d.threshold_bytes, 150 * MB);
	assert_int_equal(d.hold, ENGINE_HOLD_NONE);
	assert_int_equal(d.retry_at_ms, 0);
	assert_int_equal(d.predict.action, PREDICT_WAIT);
	assert_int_equal(t.captures, 1);
	assert_int_equal(d.app_rss, 151 * MB);
	/* every report is a sample of the growth window, in application RSS */
	assert_int_equal(win.n, 2);
	assert_int_equal(win.s[1].t_ms, 2000);
	assert_int_equal(win.s[1].bytes, 151 * MB);
}

/* Levels are in application RSS: what the agent's captures left is not growth. */
static void test_incident_in_app_rss(void **state)
{
	(void)state;
	tp.growth_bytes = 50 * MB;
	t.capture_offset = 20 * MB;
	decide(160 * MB, 1000, NULL);
	assert_int_equal(d.action, ENGINE_NONE);
	decide(171 * MB, 2000, NULL);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.threshold_bytes, 170 * MB); /* as the kernel compares it */
	assert_int_equal(d.app_rss, 151 * MB);
	assert_int_equal(win.s[1].bytes, 151 * MB);
}

static void test_holds(void **state)
{
	(void)state;
	tp.rss_bytes = 150 * MB;
	tp.cooldown_s = 60;
	tp.max_per_process = 2;
	decide(150 * MB, 1000, NULL);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.reason, TRIGGER_RSS);
	decide(200 * MB, 2000, NULL);
	assert_int_equal(d.action, ENGINE_HOLD);
	assert_int_equal(d.hold, ENGINE_HOLD_COOLDOWN);
	assert_int_equal(d.reason, TRIGGER_RSS);
	assert_int_equal(d.retry_at_ms, 61000);
	assert_string_equal(engine_hold_name(d.hold), "cooldown");
	decide(200 * MB, 61000, NULL);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	decide(400 * MB, 200000, NULL);
	assert_int_equal(d.action, ENGINE_HOLD);
	assert_int_equal(d.hold, ENGINE_HOLD_MAX_PER_PROCESS);
	assert_int_equal(d.retry_at_ms, 0);
	assert_string_equal(engine_hold_name(d.hold), "max_per_process");
}

static void test_baseline(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.baseline_pct = 50; /* baseline at 150 MB */
	struct engine_facts f = { .rss = 150 * MB, .heap_used = 100 * MB, .now_ms = 6000 };
	engine_decide(&tp, NULL, &t, &win, &f, &d); /* no growth seen: in time */
	assert_int_equal(d.action, ENGINE_BASELINE);
	assert_int_equal(d.reason, TRIGGER_BASELINE);
	assert_int_equal(d.threshold_bytes, 150 * MB);
	assert_true(t.baseline_requested);
	assert_int_equal(t.captures, 0);
}

static void test_baseline_too_late(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.baseline_pct = 50;
	for (int i = 0; i <= 5; i++) /* 10 MB/s */
		predict_window_add(&win, (uint64_t)i * 1000, 100 * MB + (uint64_t)i * 10 * MB, 0);
	struct engine_facts f = { .rss = 160 * MB, .heap_used = 100 * MB, .now_ms = 6000 };
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_HOLD);
	assert_int_equal(d.hold, ENGINE_HOLD_BASELINE_TOO_LATE);
	assert_string_equal(engine_hold_name(d.hold), "baseline too late");
	assert_int_equal(d.reason, TRIGGER_BASELINE);
	assert_int_equal(d.retry_at_ms, 0);
	assert_int_equal(d.too_late.remaining_bytes, 40 * MB);
	assert_float_equal(d.too_late.capture_secs, 16.0, 1e-9);
	assert_true(d.too_late.rate_bps > 9.0 * MB);
	/* asked once: the baseline is not taken later either */
	assert_true(t.baseline_requested);
	f.rss = 170 * MB, f.now_ms = 7000;
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_int_equal(d.heap_used, 100 * MB);
	/* a fired baseline never asks the predictive trigger */
	assert_int_equal(d.predict.action, PREDICT_WAIT);
}

/* 1 MB/s in a cgroup of 100 MB with 70 used and a 10 MB heap at factor 2: 30 MB
 * free, 20 needed; the margin (10 MB) is gone in ~3 s, less than a capture takes. */
static const struct guard_input tight = { .heap_used_bytes = 10 * MB, .rss_bytes = 106 * MB,
					  .cgroup_limit_bytes = 100 * MB, .cgroup_usage_bytes = 70 * MB };

static void test_predictive_incident(void **state)
{
	(void)state;
	grow_window();
	decide(106 * MB, 6000, &tight);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.reason, TRIGGER_PREDICTIVE);
	assert_int_equal(d.threshold_bytes, 106 * MB); /* the RSS itself */
	assert_int_equal(d.predict.action, PREDICT_CAPTURE);
	assert_true(d.predict.reason[0]);
	assert_int_equal(t.captures, 1);
}

static void test_predictive_not_asked(void **state)
{
	(void)state;
	grow_window();
	decide(106 * MB, 6000, NULL); /* predictive off, or limits unreadable */
	assert_int_equal(d.action, ENGINE_NONE);
	assert_int_equal(d.predict.action, PREDICT_WAIT);
	struct engine_facts f = { .rss = 107 * MB, .now_ms = 7000, .guard = &tight, .capture_running = true };
	engine_decide(&tp, &pp, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_int_equal(d.predict.action, PREDICT_WAIT);
	assert_int_equal(t.captures, 0);
	/* a threshold incident fires first: no prediction */
	tp.rss_bytes = 100 * MB;
	decide(108 * MB, 8000, &tight);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.reason, TRIGGER_RSS);
	assert_int_equal(d.predict.action, PREDICT_WAIT);
}

static void test_predictive_held(void **state)
{
	(void)state;
	tp.rss_bytes = 100 * MB;
	tp.cooldown_s = 60;
	decide(100 * MB, 0, NULL);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	win.n = 0;
	grow_window();
	/* the threshold's re-arm level is 110 MB: not reached; the predictive incident is
	 * held by the same cooldown */
	decide(106 * MB, 6000, &tight);
	assert_int_equal(d.action, ENGINE_HOLD);
	assert_int_equal(d.reason, TRIGGER_PREDICTIVE);
	assert_int_equal(d.hold, ENGINE_HOLD_COOLDOWN);
	assert_int_equal(d.retry_at_ms, 60000);
	assert_int_equal(d.predict.action, PREDICT_CAPTURE);
}

static void test_predictive_too_late(void **state)
{
	(void)state;
	struct guard_input full = tight;
	full.cgroup_usage_bytes = 90 * MB; /* 10 MB free, 20 needed */
	decide(106 * MB, 6000, &full);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_int_equal(d.predict.action, PREDICT_TOO_LATE);
	assert_non_null(strstr(d.predict.reason, "too late"));
	assert_int_equal(t.captures, 0);
}

static void test_leak_incident(void **state)
{
	(void)state;
	tp.cooldown_s = 10;
	engine_incident(&tp, &t, TRIGGER_LEAK, 300 * MB, 40 * MB, 60 * MB, 1000, &d);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.reason, TRIGGER_LEAK);
	assert_int_equal(d.threshold_bytes, 40 * MB);
	assert_int_equal(d.app_rss, 300 * MB);
	assert_int_equal(d.heap_used, 60 * MB);
	assert_int_equal(d.predict.action, PREDICT_WAIT);
	engine_incident(&tp, &t, TRIGGER_LEAK, 310 * MB, 40 * MB, 60 * MB, 2000, &d);
	assert_int_equal(d.action, ENGINE_HOLD);
	assert_int_equal(d.hold, ENGINE_HOLD_COOLDOWN);
	assert_int_equal(d.retry_at_ms, 11000);
}

/* The profiler point (issue 20): from the baseline point on the process runs the
 * sampling profiler. A baseline job starts it; when the baseline is skipped (too late,
 * baselines off, the leak's incident too close) a profiler-only job does, once; an
 * incident of the same decision goes first. */
static void test_profiler_with_baseline(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.baseline_pct = 50;
	tp.profiler = true;
	struct engine_facts f = { .rss = 150 * MB, .heap_used = 100 * MB, .now_ms = 6000 };
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_BASELINE);
	assert_false(d.start_profiler); /* the baseline job starts it */
	assert_true(t.profiler_requested);
	f.rss = 201 * MB, f.now_ms = 7000;
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_false(d.start_profiler);
}

static void test_profiler_baseline_too_late(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.baseline_pct = 50;
	tp.profiler = true;
	for (int i = 0; i <= 5; i++) /* 10 MB/s */
		predict_window_add(&win, (uint64_t)i * 1000, 100 * MB + (uint64_t)i * 10 * MB, 0);
	struct engine_facts f = { .rss = 160 * MB, .heap_used = 100 * MB, .now_ms = 6000 };
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.hold, ENGINE_HOLD_BASELINE_TOO_LATE);
	assert_true(d.start_profiler);
	assert_true(t.profiler_requested);
	/* not twice: neither the next report nor the incident asks again */
	f.rss = 170 * MB, f.now_ms = 7000;
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_false(d.start_profiler);
	f.rss = 201 * MB, f.now_ms = 8000;
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_false(d.start_profiler);
	/* off: never */
	setup(NULL);
	tp.growth_bytes = 100 * MB;
	tp.baseline_pct = 50;
	for (int i = 0; i <= 5; i++)
		predict_window_add(&win, (uint64_t)i * 1000, 100 * MB + (uint64_t)i * 10 * MB, 0);
	f.rss = 160 * MB, f.now_ms = 6000;
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.hold, ENGINE_HOLD_BASELINE_TOO_LATE);
	assert_false(d.start_profiler);
}

/* A jump past the baseline point and the incident level at once: the incident is the
 * decision (its capture is submitted first), the profiler-only job follows it. */
static void test_profiler_incident_first(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.baseline_pct = 50;
	tp.profiler = true;
	struct engine_facts f = { .rss = 230 * MB, .heap_used = 100 * MB, .now_ms = 6000 };
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_int_equal(d.reason, TRIGGER_GROWTH);
	assert_true(d.start_profiler);
	f.rss = 240 * MB, f.now_ms = 7000;
	engine_decide(&tp, NULL, &t, &win, &f, &d);
	assert_false(d.start_profiler);
	/* an incident the leak heuristic found first does the same, once */
	setup(NULL);
	tp.profiler = true;
	engine_incident(&tp, &t, TRIGGER_LEAK, 300 * MB, 40 * MB, 60 * MB, 1000, &d);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_true(d.start_profiler);
	tp.cooldown_s = 0;
	engine_incident(&tp, &t, TRIGGER_LEAK, 310 * MB, 40 * MB, 60 * MB, 2000, &d);
	assert_false(d.start_profiler);
	/* ... but not when no incident will follow to collect it */
	setup(NULL);
	tp.profiler = true;
	tp.max_per_process = 1;
	engine_incident(&tp, &t, TRIGGER_LEAK, 300 * MB, 40 * MB, 60 * MB, 1000, &d);
	assert_int_equal(d.action, ENGINE_INCIDENT);
	assert_false(d.start_profiler);
}

/* baseline_pct = 0: no baseline, the profiler alone at half of growth_mb. */
static void test_profiler_baselines_off(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.profiler = true;
	assert_int_equal(trigger_profiler_level(&tp, &t), 150 * MB);
	decide(149 * MB, 1000, NULL);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_false(d.start_profiler);
	decide(150 * MB, 2000, NULL);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_true(d.start_profiler);
	decide(160 * MB, 3000, NULL);
	assert_false(d.start_profiler);
	tp.baseline_pct = 20;
	assert_int_equal(trigger_profiler_level(&tp, &t), 120 * MB);
	tp.profiler = false;
	assert_int_equal(trigger_profiler_level(&tp, &t), TRIGGER_NEVER);
}

/* The leak heuristic leans: a baseline when far enough below the leak, else the
 * profiler alone; once. */
static void test_profiler_leaning(void **state)
{
	(void)state;
	tp.baseline_pct = 50;
	tp.profiler = true;
	engine_leaning(&tp, &t, true, &d);
	assert_int_equal(d.action, ENGINE_BASELINE);
	assert_int_equal(d.reason, TRIGGER_BASELINE);
	assert_false(d.start_profiler);
	assert_true(t.baseline_requested && t.profiler_requested);
	engine_leaning(&tp, &t, true, &d);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_false(d.start_profiler);

	setup(NULL);
	tp.baseline_pct = 50;
	tp.profiler = true;
	engine_leaning(&tp, &t, false, &d); /* its incident too close for a diff */
	assert_int_equal(d.action, ENGINE_NONE);
	assert_true(d.start_profiler);
	assert_true(t.baseline_requested);
	engine_leaning(&tp, &t, false, &d);
	assert_false(d.start_profiler);

	setup(NULL);
	tp.profiler = true; /* baselines off */
	engine_leaning(&tp, &t, true, &d);
	assert_int_equal(d.action, ENGINE_NONE);
	assert_true(d.start_profiler);
	assert_false(t.baseline_requested);
}

static void test_arm_level(void **state)
{
	(void)state;
	struct engine_arm_facts f = { .last_rss = 100 * MB };
	tp.growth_bytes = 100 * MB; /* incident at 200 MB */

	/* the growth steps are reported below the incident level */
	assert_int_equal(engine_arm_level(&tp, &t, &f, 0), 100 * MB + ENGINE_RSS_STEP);
	f.last_rss = 195 * MB;
	assert_int_equal(engine_arm_level(&tp, &t, &f, 0), 200 * MB);
	/* in raw RSS: the capture offset is added */
	t.capture_offset = 30 * MB;
	f.last_rss = 225 * MB;
	assert_int_equal(engine_arm_level(&tp, &t, &f, 0), 230 * MB);
	/* disarmed while an incident's capture runs or a timer pends */
	f.capture_running = true;
	assert_int_equal(engine_arm_level(&tp, &t, &f, 0), TRIGGER_NEVER);
	f.capture_baseline = true; /* a queued baseline keeps the incident armed */
	assert_int_equal(engine_arm_level(&tp, &t, &f, 0), 230 * MB);
	f.capture_running = f.capture_baseline = false;
	f.waiting = true;
	assert_int_equal(engine_arm_level(&tp, &t, &f, 0), TRIGGER_NEVER);
	/* no trigger at all: the steps alone */
	f.waiting = false;
	assert_int_equal(engine_arm_level(&(struct trigger_params){ 0 }, &t, &f, 0), 225 * MB + ENGINE_RSS_STEP);
}

#define T(f) cmocka_unit_test_setup(f, setup)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_capture_secs),      T(test_growth_rate),        T(test_baseline_in_time),
		T(test_incident),          T(test_incident_in_app_rss), T(test_holds),              T(test_baseline),
		T(test_baseline_too_late), T(test_predictive_incident), T(test_predictive_not_asked),
		T(test_predictive_held),   T(test_predictive_too_late), T(test_leak_incident),
		T(test_arm_level),         T(test_profiler_with_baseline), T(test_profiler_baseline_too_late),
		T(test_profiler_incident_first), T(test_profiler_baselines_off), T(test_profiler_leaning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
