// SPDX-License-Identifier: Apache-2.0
/* Unit tests of trigger.c: every rule of the policy and its edges (0 thresholds,
 * equal values, cooldown boundaries, max_per_process, re-arm levels, baseline,
 * overflow near UINT64_MAX). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/config.h"
#include "decide/trigger.h"

#define MB (1ULL << 20)

static struct trigger_params tp;
static struct trigger_proc t;
static struct trigger_decision d;

static int setup(void **state)
{
	(void)state;
	tp = (struct trigger_params){ 0 }; /* every trigger off */
	return 0;
}

static void eval(uint64_t rss, int64_t now)
{
	trigger_evaluate(&tp, &t, rss, now, &d);
}

static void assert_fired(enum trigger_reason reason, uint64_t threshold)
{
	assert_true(d.fire);
	assert_false(d.baseline);
	assert_int_equal(d.reason, reason);
	assert_int_equal(d.threshold_bytes, threshold);
	assert_null(d.held_back);
	assert_int_equal(d.retry_at_ms, 0);
}

static void assert_quiet(void)
{
	assert_false(d.fire);
	assert_false(d.baseline);
	assert_null(d.held_back);
	assert_int_equal(d.retry_at_ms, 0);
}

static void test_all_off(void **state)
{
	(void)state;
	trigger_init(&t, 100 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), TRIGGER_NEVER);
	eval(UINT64_MAX - 1, 1);
	assert_quiet();
	tp.baseline_pct = 50; /* baseline needs growth_mb */
	assert_int_equal(trigger_arm_level(&tp, &t, 0), TRIGGER_NEVER);
	eval(UINT64_MAX - 1, 1);
	assert_quiet();
}

static void test_init(void **state)
{
	(void)state;
	memset(&t, 0xff, sizeof(t));
	trigger_init(&t, 42);
	assert_int_equal(t.rss_first_seen, 42);
	assert_int_equal(t.captures, 0);
	assert_int_equal(t.last_capture_rss, 0);
	assert_int_equal(t.last_capture_ms, 0);
	assert_false(t.baseline_requested);
}

static void test_growth_threshold(void **state)
{
	(void)state;
	tp.growth_bytes = 200 * MB;
	trigger_init(&t, 100 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 300 * MB);
	eval(300 * MB - 1, 10);
	assert_quiet();
	eval(300 * MB, 20); /* equal fires */
	assert_fired(TRIGGER_GROWTH, 300 * MB);
	assert_int_equal(t.captures, 1);
	assert_int_equal(t.last_capture_rss, 300 * MB);
	assert_int_equal(t.last_capture_ms, 20);
}

static void test_rss_threshold(void **state)
{
	(void)state;
	tp.rss_bytes = 1024 * MB;
	trigger_init(&t, 100 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 1024 * MB);
	eval(1024 * MB - 1, 1);
	assert_quiet();
	eval(1024 * MB, 2);
	assert_fired(TRIGGER_RSS, 1024 * MB);
}

static void test_rss_already_above_when_seen(void **state)
{
	(void)state;
	tp.rss_bytes = 500 * MB;
	trigger_init(&t, 800 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 500 * MB);
	eval(800 * MB, 1);
	assert_fired(TRIGGER_RSS, 500 * MB);
	/* re-armed 10% above the RSS at the capture */
	assert_int_equal(trigger_arm_level(&tp, &t, 1), 880 * MB);
}

static void test_both_thresholds_lowest_wins(void **state)
{
	(void)state;
	tp.rss_bytes = 1000 * MB;
	tp.growth_bytes = 200 * MB;
	trigger_init(&t, 100 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 300 * MB);
	eval(300 * MB, 1);
	assert_fired(TRIGGER_GROWTH, 300 * MB);

	trigger_init(&t, 900 * MB); /* rss level is now the lower one */
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 1000 * MB);
	eval(1000 * MB, 1);
	assert_fired(TRIGGER_RSS, 1000 * MB);
	/* re-arm uses growth_mb as the step when set */
	assert_int_equal(trigger_arm_level(&tp, &t, 1), 1200 * MB);
	eval(1100 * MB, 2); /* 1100 = baseline + growth: crossed, but below the re-arm level */
	assert_quiet();
	eval(1200 * MB, 3);
	assert_fired(TRIGGER_GROWTH, 1200 * MB);
}

static void test_rearm_growth(void **state)
{
	(void)state;
	tp.growth_bytes = 200 * MB;
	trigger_init(&t, 100 * MB);
	eval(350 * MB, 1); /* overshoot: next level from the RSS at capture */
	assert_fired(TRIGGER_GROWTH, 300 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 1), 550 * MB);
	eval(549 * MB, 2);
	assert_quiet();
	eval(550 * MB, 3);
	assert_fired(TRIGGER_GROWTH, 550 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 3), 750 * MB);
	assert_int_equal(t.captures, 2);
}

static void test_rearm_rss_only_ten_percent(void **state)
{
	(void)state;
	tp.rss_bytes = 1000 * MB;
	trigger_init(&t, 0);
	eval(1000 * MB, 1);
	assert_fired(TRIGGER_RSS, 1000 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 1), 1100 * MB);
	eval(1099 * MB, 2);
	assert_quiet();
	eval(1100 * MB, 3);
	assert_fired(TRIGGER_RSS, 1100 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 3), 1210 * MB);
}

static void test_rearm_rss_minimum_step(void **state)
{
	(void)state;
	tp.rss_bytes = 1; /* tiny threshold: the 10% step is below 1 MiB */
	trigger_init(&t, 0);
	eval(2 * MB, 1);
	assert_fired(TRIGGER_RSS, 1);
	assert_int_equal(trigger_arm_level(&tp, &t, 1), 3 * MB);
}

static void test_cooldown(void **state)
{
	(void)state;
	tp.growth_bytes = 10 * MB;
	tp.cooldown_s = 300;
	trigger_init(&t, 0);
	eval(10 * MB, 1000);
	assert_fired(TRIGGER_GROWTH, 10 * MB);
	/* level armed normally during the cooldown */
	assert_int_equal(trigger_arm_level(&tp, &t, 1001), 20 * MB);
	eval(25 * MB, 1001);
	assert_false(d.fire);
	assert_string_equal(d.held_back, "cooldown");
	assert_int_equal(d.retry_at_ms, 301000);
	assert_int_equal(d.reason, TRIGGER_GROWTH);
	assert_int_equal(d.threshold_bytes, 20 * MB);
	assert_int_equal(t.captures, 1);
	eval(25 * MB, 300999); /* last ms of the cooldown */
	assert_string_equal(d.held_back, "cooldown");
	assert_int_equal(d.retry_at_ms, 301000);
	eval(25 * MB, 301000); /* boundary: cooldown over */
	assert_fired(TRIGGER_GROWTH, 20 * MB);
	assert_int_equal(t.last_capture_rss, 25 * MB);
	assert_int_equal(t.last_capture_ms, 301000);
}

static void test_cooldown_retry_below_level(void **state)
{
	(void)state;
	tp.growth_bytes = 10 * MB;
	tp.cooldown_s = 1;
	trigger_init(&t, 0);
	eval(10 * MB, 0);
	assert_true(d.fire);
	eval(21 * MB, 500);
	assert_string_equal(d.held_back, "cooldown");
	eval(15 * MB, d.retry_at_ms); /* RSS fell back by the retry: nothing */
	assert_quiet();
}

static void test_cooldown_zero(void **state)
{
	(void)state;
	tp.growth_bytes = 10 * MB;
	trigger_init(&t, 0);
	eval(10 * MB, 5);
	assert_true(d.fire);
	eval(20 * MB, 5); /* same ms */
	assert_fired(TRIGGER_GROWTH, 20 * MB);
}

static void test_cooldown_time_overflow(void **state)
{
	(void)state;
	tp.growth_bytes = 10 * MB;
	tp.cooldown_s = 7 * 86400;
	trigger_init(&t, 0);
	eval(10 * MB, INT64_MAX - 5);
	assert_true(d.fire);
	eval(30 * MB, INT64_MAX - 1);
	assert_string_equal(d.held_back, "cooldown");
	assert_int_equal(d.retry_at_ms, INT64_MAX);
}

static void test_max_per_process(void **state)
{
	(void)state;
	tp.growth_bytes = 10 * MB;
	tp.max_per_process = 2;
	trigger_init(&t, 0);
	eval(10 * MB, 1);
	assert_true(d.fire);
	eval(20 * MB, 2);
	assert_true(d.fire);
	assert_int_equal(trigger_arm_level(&tp, &t, 3), TRIGGER_NEVER);
	eval(100 * MB, 3);
	assert_false(d.fire);
	assert_string_equal(d.held_back, "max_per_process");
	assert_int_equal(d.retry_at_ms, 0);
	assert_int_equal(t.captures, 2);
	eval(5 * MB, 4); /* not crossed: no reason to say anything */
	assert_quiet();
}

static void test_max_per_process_zero_is_unlimited(void **state)
{
	(void)state;
	tp.growth_bytes = 1 * MB;
	trigger_init(&t, 0);
	for (unsigned i = 1; i <= 100; i++) {
		eval(i * MB, i);
		assert_true(d.fire);
	}
	assert_int_equal(t.captures, 100);
	assert_int_equal(trigger_arm_level(&tp, &t, 101), 101 * MB);
}

static void test_max_beats_cooldown(void **state)
{
	(void)state;
	tp.growth_bytes = 10 * MB;
	tp.max_per_process = 1;
	tp.cooldown_s = 60;
	trigger_init(&t, 0);
	eval(10 * MB, 0);
	assert_true(d.fire);
	eval(50 * MB, 1); /* no retry promised when no capture can ever follow */
	assert_string_equal(d.held_back, "max_per_process");
	assert_int_equal(d.retry_at_ms, 0);
}

static void test_baseline(void **state)
{
	(void)state;
	tp.growth_bytes = 200 * MB;
	tp.baseline_pct = 50;
	tp.max_per_process = 1;
	tp.cooldown_s = 300;
	trigger_init(&t, 100 * MB);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 200 * MB);
	eval(199 * MB, 1);
	assert_quiet();
	eval(200 * MB, 2);
	assert_true(d.fire);
	assert_true(d.baseline);
	assert_int_equal(d.reason, TRIGGER_BASELINE);
	assert_int_equal(d.threshold_bytes, 200 * MB);
	/* a baseline is no incident: no capture counted, no cooldown */
	assert_int_equal(t.captures, 0);
	assert_true(t.baseline_requested);
	assert_int_equal(trigger_arm_level(&tp, &t, 2), 300 * MB);
	eval(250 * MB, 3);
	assert_quiet();
	eval(300 * MB, 4);
	assert_fired(TRIGGER_GROWTH, 300 * MB);
}

static void test_baseline_skipped_by_jump(void **state)
{
	(void)state;
	tp.growth_bytes = 200 * MB;
	tp.baseline_pct = 50;
	trigger_init(&t, 100 * MB);
	eval(400 * MB, 1); /* past both levels at once: the incident only */
	assert_fired(TRIGGER_GROWTH, 300 * MB);
	assert_true(t.baseline_requested);
	assert_int_equal(trigger_arm_level(&tp, &t, 1), 600 * MB);
}

static void test_baseline_needs_growth(void **state)
{
	(void)state;
	tp.rss_bytes = 1000 * MB;
	tp.baseline_pct = 50;
	trigger_init(&t, 0);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 1000 * MB);
	eval(999 * MB, 1);
	assert_quiet();
}

static void test_baseline_pct_rounding(void **state)
{
	(void)state;
	tp.growth_bytes = 1 * MB;
	tp.baseline_pct = 1;
	trigger_init(&t, 0);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), MB / 100);
	tp.growth_bytes = 99; /* 99 * 1% rounds to 0: no baseline */
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 99);
	tp.baseline_pct = 99;
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 98);
}

static void test_overflow_near_max(void **state)
{
	(void)state;
	tp.growth_bytes = UINT64_MAX / 2;
	tp.baseline_pct = 99;
	trigger_init(&t, UINT64_MAX - 10); /* baseline + growth saturates: never */
	assert_int_equal(trigger_arm_level(&tp, &t, 0), TRIGGER_NEVER);
	eval(UINT64_MAX - 1, 1);
	assert_quiet();

	setup(NULL);
	tp.rss_bytes = UINT64_MAX - 100;
	trigger_init(&t, 0);
	eval(UINT64_MAX - 50, 1);
	assert_fired(TRIGGER_RSS, UINT64_MAX - 100);
	/* re-arm step saturates: no further level */
	assert_int_equal(trigger_arm_level(&tp, &t, 1), TRIGGER_NEVER);
	eval(UINT64_MAX - 1, 2);
	assert_quiet();

	setup(NULL);
	tp.growth_bytes = UINT64_MAX; /* percent_of must not overflow */
	tp.baseline_pct = 99;
	trigger_init(&t, 0);
	uint64_t want = UINT64_MAX / 100 * 99 + UINT64_MAX % 100 * 99 / 100;
	assert_int_equal(trigger_arm_level(&tp, &t, 0), want);
	eval(want, 1);
	assert_true(d.baseline);
}

static void test_rss_zero_baseline(void **state)
{
	(void)state;
	tp.growth_bytes = 1 * MB;
	trigger_init(&t, 0);
	assert_int_equal(trigger_arm_level(&tp, &t, 0), 1 * MB);
	eval(0, 0);
	assert_quiet();
}

/* An incident from another detector obeys the same holds and moves the re-arm level. */
static void test_incident_from_other_detector(void **state)
{
	(void)state;
	tp.growth_bytes = 100 * MB;
	tp.cooldown_s = 60;
	tp.max_per_process = 2;
	trigger_init(&t, 50 * MB);
	trigger_incident(&tp, &t, TRIGGER_LEAK, 80 * MB, 70 * MB, 1000, &d);
	assert_fired(TRIGGER_LEAK, 70 * MB);
	assert_int_equal(t.captures, 1);
	assert_int_equal(trigger_arm_level(&tp, &t, 1000), 180 * MB);
	trigger_incident(&tp, &t, TRIGGER_PREDICTIVE, 90 * MB, 90 * MB, 2000, &d);
	assert_false(d.fire);
	assert_string_equal(d.held_back, "cooldown");
	assert_int_equal(d.retry_at_ms, 61000);
	trigger_incident(&tp, &t, TRIGGER_PREDICTIVE, 90 * MB, 90 * MB, 61000, &d);
	assert_fired(TRIGGER_PREDICTIVE, 90 * MB);
	trigger_incident(&tp, &t, TRIGGER_LEAK, 95 * MB, 95 * MB, 500000, &d);
	assert_false(d.fire);
	assert_string_equal(d.held_back, "max_per_process");
	assert_int_equal(trigger_arm_level(&tp, &t, 500000), TRIGGER_NEVER);
}

/* ---- the agent's own capture is not growth ---- */

static void test_offset_shifts_every_level(void **state)
{
	(void)state;
	tp.growth_bytes = 40 * MB;
	tp.baseline_pct = 50;
	trigger_init(&t, 50 * MB);
	eval(70 * MB, 1000);
	assert_true(d.fire && d.baseline);
	t.capture_offset = 150 * MB; /* the baseline's snapshot left 150 MB */
	assert_int_equal(trigger_app_rss(&t, 220 * MB), 70 * MB);
	assert_int_equal(trigger_app_rss(&t, 100 * MB), 0);
	/* the kernel is armed at the application level plus the offset */
	assert_int_equal(trigger_arm_level(&tp, &t, 2000), 240 * MB);
	eval(239 * MB, 2000);
	assert_quiet();
	eval(240 * MB, 3000);
	assert_fired(TRIGGER_GROWTH, 240 * MB);
	assert_int_equal(t.last_capture_rss, 90 * MB); /* application RSS */
	assert_int_equal(trigger_arm_level(&tp, &t, 3000), 280 * MB);
}

static void test_offset_rss_mb_rearm(void **state)
{
	(void)state;
	tp.rss_bytes = 200 * MB;
	trigger_init(&t, 50 * MB);
	eval(200 * MB, 1000);
	assert_fired(TRIGGER_RSS, 200 * MB);
	t.capture_offset = 300 * MB;
	/* re-armed 10% above the application's RSS at the capture, not the inflated RSS */
	assert_int_equal(trigger_arm_level(&tp, &t, 1000), 220 * MB + 300 * MB);
}

static void test_capture_offset_flat_process(void **state)
{
	(void)state;
	/* RSS 72 -> 222 MB across a snapshot, the heap unchanged: all of it is cost */
	struct capture_cost c = { .active = true, .offset_before = 0, .rss_before = 72 * MB,
				  .heap_before = 20 * MB, .started_ms = 1000, .ended_ms = 3000 };
	assert_int_equal(trigger_capture_offset(&c, 222 * MB, true, 20 * MB, 5000), 150 * MB);
	/* a heap that shrank is no negative growth */
	assert_int_equal(trigger_capture_offset(&c, 222 * MB, true, 10 * MB, 5000), 150 * MB);
	/* on top of an earlier capture's offset */
	c.offset_before = 30 * MB;
	assert_int_equal(trigger_capture_offset(&c, 222 * MB, true, 20 * MB, 5000), 180 * MB);
}

static void test_capture_offset_growth_is_not_cost(void **state)
{
	(void)state;
	struct capture_cost c = { .active = true, .rss_before = 100 * MB, .heap_before = 60 * MB,
				  .app_rate_bps = 4.0 * MB, .started_ms = 1000, .ended_ms = 6000 };
	/* the heap grew 25 MB since the snapshot's own GC: that much is the application's */
	assert_int_equal(trigger_capture_offset(&c, 300 * MB, true, 85 * MB, 8000), 175 * MB);
	/* no major GC since: the rate before the capture over the 2 s since it ended */
	assert_int_equal(trigger_capture_offset(&c, 300 * MB, false, 0, 8000), 192 * MB);
	/* the heap is unusable without its value at the start */
	c.heap_before = 0;
	assert_int_equal(trigger_capture_offset(&c, 300 * MB, true, 85 * MB, 8000), 192 * MB);
	/* growth larger than what RSS gained: no cost, never a negative offset */
	c.heap_before = 60 * MB;
	assert_int_equal(trigger_capture_offset(&c, 110 * MB, true, 85 * MB, 8000), 0);
	/* RSS fell below where it started */
	assert_int_equal(trigger_capture_offset(&c, 90 * MB, false, 0, 6000), 0);
}

static void test_capture_offset_saturates(void **state)
{
	(void)state;
	struct capture_cost c = { .offset_before = UINT64_MAX - MB, .rss_before = 0, .ended_ms = 1 };
	assert_int_equal(trigger_capture_offset(&c, 100 * MB, false, 0, 1), UINT64_MAX);
	t.capture_offset = UINT64_MAX - MB;
	tp.growth_bytes = 40 * MB;
	trigger_init(&t, 10 * MB);
	t.capture_offset = UINT64_MAX - MB;
	assert_int_equal(trigger_arm_level(&tp, &t, 0), TRIGGER_NEVER);
}

static void test_capture_refined(void **state)
{
	(void)state;
	/* settled at 222 MB from 72 MB (150 MB gained); the settle estimate guessed 10 MB of growth */
	struct capture_cost c = { .rss_before = 72 * MB, .heap_before = 20 * MB, .rss_settled = 222 * MB,
				  .offset_before = 5 * MB };
	/* the heap did not grow: all of it is the capture's, and a little creep too */
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 222 * MB, 20 * MB), 155 * MB);
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 230 * MB, 20 * MB), 163 * MB);
	/* ... but no more than a quarter over the settle measurement: past it, RSS growth the
	 * heap does not show (Buffers) is growth */
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 400 * MB, 20 * MB), 5 * MB + 187 * MB + MB / 2);
	/* the heap grew 30 MB: that much is not the capture's */
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 252 * MB, 50 * MB), 155 * MB);
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 222 * MB, 80 * MB), 95 * MB);
	/* unknown heap at the start or not settled yet: unchanged */
	c.heap_before = 0;
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 222 * MB, 20 * MB), 145 * MB);
	c.heap_before = 20 * MB;
	c.rss_settled = 0;
	assert_int_equal(trigger_capture_refined(&c, 145 * MB, 222 * MB, 20 * MB), 145 * MB);
}

static void test_baseline_in_time(void **state)
{
	(void)state;
	/* 60 MB to go at 20 MB/s: a 2 s capture fits, a 3 s one does not */
	assert_true(trigger_baseline_in_time(60 * MB, 20.0 * MB, 2.0));
	assert_false(trigger_baseline_in_time(60 * MB, 20.0 * MB, 3.0));
	assert_true(trigger_baseline_in_time(60 * MB, 0, 1000.0)); /* rate unknown: take it */
	assert_false(trigger_baseline_in_time(0, 1.0, 0.5));
}

/* Leak incidents judge the baseline on the heap: a quarter of the incident's heap, 8 MB. */
static void test_baseline_usable_heap(void **state)
{
	(void)state;
	trigger_init(&t, 50 * MB);
	assert_false(trigger_baseline_usable_heap(&t, 400 * MB)); /* heap unknown at the baseline */
	t.baseline_heap = 300 * MB;
	assert_false(trigger_baseline_usable_heap(&t, 301 * MB)); /* near-identical snapshots */
	assert_false(trigger_baseline_usable_heap(&t, 399 * MB)); /* 99 of 399: under a quarter */
	assert_true(trigger_baseline_usable_heap(&t, 400 * MB));
	assert_false(trigger_baseline_usable_heap(&t, 0));        /* heap unknown now */
	t.baseline_heap = 10 * MB;
	assert_false(trigger_baseline_usable_heap(&t, 17 * MB));  /* under 8 MB */
	assert_true(trigger_baseline_usable_heap(&t, 19 * MB));
}

static void test_baseline_usable(void **state)
{
	(void)state;
	tp.growth_bytes = 60 * MB;
	trigger_init(&t, 50 * MB);
	assert_false(trigger_baseline_usable(&tp, &t, 200 * MB)); /* none taken */
	t.baseline_app_rss = 80 * MB;
	assert_false(trigger_baseline_usable(&tp, &t, 94 * MB)); /* 14 MB: under a quarter of 60 */
	assert_true(trigger_baseline_usable(&tp, &t, 95 * MB));
	assert_false(trigger_baseline_usable(&tp, &t, 70 * MB)); /* below the baseline */
	tp.growth_bytes = 8 * MB; /* a quarter is 2 MB: at least 8 MB */
	assert_false(trigger_baseline_usable(&tp, &t, 87 * MB));
	assert_true(trigger_baseline_usable(&tp, &t, 88 * MB));
	tp.growth_bytes = 0; /* rss_mb only: a quarter of the incident's RSS */
	assert_false(trigger_baseline_usable(&tp, &t, 100 * MB));
	assert_true(trigger_baseline_usable(&tp, &t, 108 * MB));
}

static void test_incident_level(void **state)
{
	(void)state;
	tp.growth_bytes = 40 * MB;
	tp.max_per_process = 1;
	trigger_init(&t, 50 * MB);
	t.capture_offset = 100 * MB;
	assert_int_equal(trigger_incident_level(&tp, &t), 90 * MB); /* application terms */
	eval(190 * MB, 1);
	assert_fired(TRIGGER_GROWTH, 190 * MB);
	assert_int_equal(trigger_incident_level(&tp, &t), TRIGGER_NEVER);
}

/* The names are what events, metrics and the journal carry: fixed, and parsed back. */
static void test_reason_names(void **state)
{
	static const char *const names[] = { "rss", "growth", "leak", "predictive", "baseline" };
	enum trigger_reason r = TRIGGER_LEAK;

	(void)state;
	assert_int_equal(TRIGGER_REASON_COUNT, sizeof(names) / sizeof(names[0]));
	for (unsigned i = 0; i < TRIGGER_REASON_COUNT; i++) {
		assert_string_equal(trigger_reason_name((enum trigger_reason)i), names[i]);
		assert_int_equal(trigger_reason_parse(names[i], &r), 0);
		assert_int_equal(r, i);
	}
	assert_string_equal(trigger_reason_name(TRIGGER_REASON_COUNT), "unknown");
	assert_int_equal(trigger_reason_parse("manual", &r), -EINVAL);
	assert_int_equal(trigger_reason_parse("", &r), -EINVAL);
	assert_int_equal(trigger_reason_parse(NULL, &r), -EINVAL);
	assert_int_equal(r, TRIGGER_BASELINE); /* untouched on failure */
}

/* The [trigger] keys map one to one (config.c itself is tested elsewhere). */
static void test_params_from_config(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	cfg.rss_bytes = 1;
	cfg.growth_bytes = 2;
	cfg.cooldown_s = 3;
	cfg.max_per_process = 4;
	cfg.baseline_pct = 5;
	struct trigger_params p = trigger_params_from(&cfg);
	assert_int_equal(p.rss_bytes, 1);
	assert_int_equal(p.growth_bytes, 2);
	assert_int_equal(p.cooldown_s, 3);
	assert_int_equal(p.max_per_process, 4);
	assert_int_equal(p.baseline_pct, 5);
}

#define T(f) cmocka_unit_test_setup(f, setup)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_all_off), T(test_init), T(test_growth_threshold), T(test_rss_threshold),
		T(test_rss_already_above_when_seen), T(test_both_thresholds_lowest_wins),
		T(test_rearm_growth), T(test_rearm_rss_only_ten_percent), T(test_rearm_rss_minimum_step),
		T(test_cooldown), T(test_cooldown_retry_below_level), T(test_cooldown_zero),
		T(test_cooldown_time_overflow), T(test_max_per_process),
		T(test_max_per_process_zero_is_unlimited), T(test_max_beats_cooldown), T(test_baseline),
		T(test_baseline_skipped_by_jump), T(test_baseline_needs_growth),
		T(test_baseline_pct_rounding), T(test_overflow_near_max), T(test_rss_zero_baseline),
		T(test_incident_from_other_detector), T(test_offset_shifts_every_level),
		T(test_offset_rss_mb_rearm), T(test_capture_offset_flat_process),
		T(test_capture_offset_growth_is_not_cost), T(test_capture_offset_saturates),
		T(test_capture_refined), T(test_baseline_in_time), T(test_baseline_usable), T(test_baseline_usable_heap), T(test_incident_level),
		T(test_reason_names), T(test_params_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
