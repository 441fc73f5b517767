// SPDX-License-Identifier: Apache-2.0
/* Unit tests for predict.c: predictive capture on synthetic RSS/heap series. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "decide/predict.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)

/* The default tuning, the guard on with factor 13 and 64 MB of headroom. */
static struct predict_params guarded(void)
{
	struct predict_params p = {
		.guard = { .enforce = true, .cost_factor = 13, .min_headroom_bytes = 64 * MiB },
	};

	predict_default_params(&p);
	return p;
}

/* A process whose heap is heap_mb(t) and whose RSS is 60 MB more, sampled once a
 * second in a cgroup of limit_mb. Runs predict_decide after each sample and returns
 * the first second where the action is not WAIT (or -1 within max_s). */
struct sim {
	double heap0_mb, growth_mb_s, noise_mb;
	uint64_t limit_mb, mem_available_mb;
};

static double heap_at(const struct sim *s, int t)
{
	double noise = (t % 2 ? 1 : -1) * s->noise_mb; /* GC sawtooth */
	return s->heap0_mb + s->growth_mb_s * t + noise;
}

static struct guard_input input_at(const struct sim *s, int t)
{
	double heap = heap_at(s, t);
	struct guard_input in = {
		.heap_used_bytes = (uint64_t)(heap * MiB),
		.rss_bytes = (uint64_t)((heap + 60) * MiB),
		.cgroup_limit_bytes = s->limit_mb * MiB,
		.cgroup_usage_bytes = (uint64_t)((heap + 60) * MiB),
		.mem_available_bytes = s->mem_available_mb * MiB,
	};
	return in;
}

static int run_sim(const struct predict_params *pp, const struct sim *s, int max_s, struct predict_verdict *v)
{
	struct predict_window w = {0};
	for (int t = 0; t <= max_s; t++) {
		struct guard_input in = input_at(s, t);
		predict_window_add(&w, (uint64_t)t * 1000, in.rss_bytes, 30000);
		if (predict_decide(pp, w.s, w.n, &in, v) != PREDICT_WAIT)
			return t;
	}
	return -1;
}

static void fast_growth_fires_while_it_fits(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	/* 2 MB/s towards a 1.5 GiB cgroup: the snapshot stops fitting at
	 * 1536 - 70 - 64 - 14 x heap < 0, i.e. heap > 100 MB, t = 45 s. */
	struct sim s = {.heap0_mb = 10, .growth_mb_s = 2, .noise_mb = 1, .limit_mb = 1536, .mem_available_mb = 20000};
	int t = run_sim(&pp, &s, 600, &v);
	assert_true(t > 0);
	assert_int_equal(v.action, PREDICT_CAPTURE);
	assert_true(v.guard.allow);                  /* it still fits when fired */
	assert_true(v.secs_until_no_fit > 0);
	assert_true(v.secs_until_no_fit < v.capture_secs);
	assert_true(t < 45);
	assert_true(t > 45 - 40);                    /* not absurdly early */
	assert_true(v.growth_bps > 1.5 * MiB && v.growth_bps < 2.5 * MiB);
	assert_non_null(strstr(v.reason, "capture now"));
	assert_non_null(strstr(v.reason, "cgroup memory.max"));
}

static void very_fast_growth_fires_as_soon_as_data_allows(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	/* 5 MB/s into 1 GiB: margin 760 - 70 t MB, gone at t = 10.9 s */
	struct sim s = {.heap0_mb = 10, .growth_mb_s = 5, .limit_mb = 1024};
	int t = run_sim(&pp, &s, 60, &v);
	assert_int_equal(t, 5); /* >= 4 samples over >= 5 s */
	assert_int_equal(v.action, PREDICT_CAPTURE);
	assert_true(v.guard.allow);
}

static void flat_never_fires(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	/* big heap, tight limit, but not growing (GC noise only) */
	struct sim s = {.heap0_mb = 60, .growth_mb_s = 0, .noise_mb = 3, .limit_mb = 1024};
	assert_int_equal(run_sim(&pp, &s, 600, &v), -1);
	assert_int_equal(v.action, PREDICT_WAIT);
	assert_non_null(strstr(v.reason, "not growing"));
}

static void growth_far_from_limit_waits(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	/* 1 MB/s with 64 GiB: ~4600 s until it stops fitting */
	struct sim s = {.heap0_mb = 10, .growth_mb_s = 1, .noise_mb = 2, .limit_mb = 65536};
	assert_int_equal(run_sim(&pp, &s, 300, &v), -1);
	assert_int_equal(v.action, PREDICT_WAIT);
	assert_true(v.secs_until_no_fit > 1000);
	assert_non_null(strstr(v.reason, "more than"));
}

static void host_limit_counts_too(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	/* no cgroup limit; the host has 1.5 GB available, shrinking as the process grows */
	struct predict_window w = {0};
	int fired = -1;
	for (int t = 0; t <= 120 && fired < 0; t++) {
		double heap = 10 + 2.0 * t;
		struct guard_input in = {.heap_used_bytes = (uint64_t)(heap * MiB),
					 .rss_bytes = (uint64_t)((heap + 60) * MiB),
					 .mem_available_bytes = (uint64_t)((1536 - heap) * MiB)};
		predict_window_add(&w, (uint64_t)t * 1000, in.rss_bytes, 0);
		if (predict_decide(&pp, w.s, w.n, &in, &v) != PREDICT_WAIT)
			fired = t;
	}
	assert_true(fired > 0);
	assert_int_equal(v.action, PREDICT_CAPTURE);
	assert_string_equal(v.guard.limit, "host MemAvailable");
}

static void already_too_big_is_too_late(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	struct guard_input in = {.heap_used_bytes = 200 * MiB, .rss_bytes = 300 * MiB,
				 .cgroup_limit_bytes = 1 * GiB, .cgroup_usage_bytes = 300 * MiB};
	assert_int_equal(predict_decide(&pp, NULL, 0, &in, &v), PREDICT_TOO_LATE);
	assert_false(v.guard.allow);
	assert_true(v.secs_until_no_fit < 0);
	assert_non_null(strstr(v.reason, "too late"));
}

static void no_limit_known_waits(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	struct predict_sample s[] = {{0, 100 * MiB}, {2000, 200 * MiB}, {4000, 300 * MiB}, {6000, 400 * MiB}};
	struct guard_input in = {.heap_used_bytes = 400 * MiB};
	assert_int_equal(predict_decide(&pp, s, 4, &in, &v), PREDICT_WAIT);
	assert_non_null(strstr(v.reason, "no memory limit"));
}

static void too_few_samples_waits(void **state)
{
	(void)state;
	struct predict_verdict v;
	struct predict_params pp = guarded();
	struct predict_sample s[] = {{0, 100 * MiB}, {500, 200 * MiB}, {1000, 300 * MiB}, {1500, 400 * MiB}};
	struct guard_input in = {.heap_used_bytes = 10 * MiB, .cgroup_limit_bytes = 1 * GiB,
				 .cgroup_usage_bytes = 400 * MiB};
	/* 4 samples but only 1.5 s of span (default minimum 5 s) */
	assert_int_equal(predict_decide(&pp, s, 4, &in, &v), PREDICT_WAIT);
	assert_non_null(strstr(v.reason, "not enough"));
	pp.min_span_ms = 1000;
	assert_int_equal(predict_decide(&pp, s, 4, &in, &v), PREDICT_CAPTURE);
}

static void growth_rate_is_least_squares(void **state)
{
	(void)state;
	struct predict_sample lin[] = {{10000, 1 * MiB}, {11000, 3 * MiB}, {12000, 5 * MiB}, {14000, 9 * MiB}};
	assert_float_equal(predict_growth_rate(lin, 4), 2.0 * MiB, 1.0);
	struct predict_sample down[] = {{0, 9 * MiB}, {1000, 8 * MiB}};
	assert_float_equal(predict_growth_rate(down, 2), -1.0 * MiB, 1.0);
	assert_float_equal(predict_growth_rate(lin, 1), 0, 0);
	struct predict_sample same_t[] = {{5, 1}, {5, 9}};
	assert_float_equal(predict_growth_rate(same_t, 2), 0, 0);
}

static void window_keeps_newest(void **state)
{
	(void)state;
	struct predict_window w = {0};
	for (uint64_t i = 0; i < PREDICT_WINDOW + 5; i++)
		predict_window_add(&w, i * 100, i, 0);
	assert_int_equal(w.n, PREDICT_WINDOW);
	assert_int_equal(w.s[0].bytes, 5);
	assert_int_equal(w.s[PREDICT_WINDOW - 1].bytes, PREDICT_WINDOW + 4);
	/* max age drops old samples but always keeps the newest */
	predict_window_add(&w, 100000, 7, 1000);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.s[0].bytes, 7);
	/* time going backwards restarts the window */
	predict_window_add(&w, 200000, 8, 0);
	predict_window_add(&w, 150000, 9, 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.s[0].t_ms, 150000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fast_growth_fires_while_it_fits),
		cmocka_unit_test(very_fast_growth_fires_as_soon_as_data_allows),
		cmocka_unit_test(flat_never_fires),
		cmocka_unit_test(growth_far_from_limit_waits),
		cmocka_unit_test(host_limit_counts_too),
		cmocka_unit_test(already_too_big_is_too_late),
		cmocka_unit_test(no_limit_known_waits),
		cmocka_unit_test(too_few_samples_waits),
		cmocka_unit_test(growth_rate_is_least_squares),
		cmocka_unit_test(window_keeps_newest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
