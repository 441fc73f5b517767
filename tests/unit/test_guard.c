// SPDX-License-Identifier: Apache-2.0
/* Unit tests for guard.c: the snapshot cost model and the allow/refuse verdict. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/config.h"
#include "decide/guard.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)

/* The guard on, factor 13 (the old default), 64 MB of headroom. */
static const struct guard_params guard_on = {
	.enforce = true, .cost_factor = 13, .min_headroom_bytes = 64 * MiB,
};

static void cost_is_factor_times_heap(void **state)
{
	(void)state;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 100 * MiB, .rss_bytes = 400 * MiB};
	assert_int_equal(guard_estimate_cost(&gp, &in), 1300 * MiB);
	gp.cost_factor = 4;
	assert_int_equal(guard_estimate_cost(&gp, &in), 400 * MiB);
}

static void unknown_heap_uses_rss(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.rss_bytes = 50 * MiB, .mem_available_bytes = 20 * GiB};
	assert_int_equal(guard_estimate_cost(&gp, &in), 650 * MiB);
	assert_true(guard_check(&gp, &in, &v));
	assert_true(v.heap_estimated);
	assert_non_null(strstr(v.reason, "RSS (heap used unknown)"));
}

static void cost_saturates(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = UINT64_MAX / 2, .mem_available_bytes = 1 * GiB};
	assert_int_equal(guard_estimate_cost(&gp, &in), UINT64_MAX);
	assert_false(guard_check(&gp, &in, &v));
	assert_int_equal(v.needed_bytes, UINT64_MAX);
}

static void cgroup_too_small_refuses(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	/* 60 MB heap -> 780 + 64 MB needed; 300 MB limit, 150 used -> 150 MB headroom */
	struct guard_input in = {.heap_used_bytes = 60 * MiB, .rss_bytes = 140 * MiB,
				 .cgroup_limit_bytes = 300 * MiB, .cgroup_usage_bytes = 150 * MiB,
				 .mem_available_bytes = 20 * GiB};
	assert_false(guard_check(&gp, &in, &v));
	assert_false(v.allow);
	assert_int_equal(v.cost_bytes, 780 * MiB);
	assert_int_equal(v.needed_bytes, 844 * MiB);
	assert_int_equal(v.headroom_bytes, 150 * MiB);
	assert_string_equal(v.limit, "cgroup memory.max");
	assert_non_null(strstr(v.reason, "cgroup memory.max leaves only 150 MiB"));
	assert_non_null(strstr(v.reason, "844 MiB"));
	assert_true(guard_margin(&v) < 0);
}

static void cgroup_roomy_allows(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 10 * MiB, .cgroup_limit_bytes = 1 * GiB,
				 .cgroup_usage_bytes = 100 * MiB, .mem_available_bytes = 20 * GiB};
	assert_true(guard_check(&gp, &in, &v));
	assert_int_equal(v.needed_bytes, 194 * MiB);
	assert_int_equal(v.headroom_bytes, 924 * MiB);
	assert_int_equal(guard_margin(&v), (int64_t)(730 * MiB));
	assert_non_null(strstr(v.reason, "leaves 924 MiB"));
}

static void exact_fit_allows(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 10 * MiB, .cgroup_limit_bytes = 294 * MiB,
				 .cgroup_usage_bytes = 100 * MiB};
	assert_true(guard_check(&gp, &in, &v)); /* needed 194 == headroom 194 */
	in.cgroup_usage_bytes++;
	assert_false(guard_check(&gp, &in, &v));
}

static void host_tighter_than_cgroup(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 100 * MiB, .cgroup_limit_bytes = 8 * GiB,
				 .cgroup_usage_bytes = 1 * GiB, .mem_available_bytes = 1 * GiB};
	assert_false(guard_check(&gp, &in, &v));
	assert_string_equal(v.limit, "host MemAvailable");
	assert_int_equal(v.headroom_bytes, 1 * GiB);
	assert_non_null(strstr(v.reason, "host MemAvailable leaves only 1024 MiB"));
}

static void usage_over_limit_is_zero_headroom(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 1 * MiB, .cgroup_limit_bytes = 100 * MiB,
				 .cgroup_usage_bytes = 120 * MiB, .cgroup_limit_name = "cgroup memory.limit_in_bytes"};
	assert_false(guard_check(&gp, &in, &v));
	assert_int_equal(v.headroom_bytes, 0);
	assert_string_equal(v.limit, "cgroup memory.limit_in_bytes");
}

static void no_limit_known_allows(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 100 * MiB};
	assert_true(guard_check(&gp, &in, &v));
	assert_string_equal(v.limit, "none");
	assert_int_equal(guard_margin(&v), INT64_MAX);
	assert_non_null(strstr(v.reason, "no memory limit is known"));
}

static void guard_off_allows_but_tells(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	gp.enforce = false;
	struct guard_input in = {.heap_used_bytes = 100 * MiB, .cgroup_limit_bytes = 200 * MiB,
				 .cgroup_usage_bytes = 150 * MiB};
	assert_true(guard_check(&gp, &in, &v));
	assert_int_equal(v.headroom_bytes, 50 * MiB);
	assert_non_null(strstr(v.reason, "guard off"));
}

static void file_on_tmpfs_costs_more(void **state)
{
	(void)state;
	struct guard_verdict v;
	struct guard_params gp = guard_on;
	struct guard_input in = {.heap_used_bytes = 22 * MiB, .cgroup_limit_bytes = 500 * MiB,
				 .cgroup_usage_bytes = 100 * MiB};
	assert_true(guard_check(&gp, &in, &v)); /* 13 x 22 + 64 = 350 <= 400 */
	in.file_in_memory = true;
	assert_int_equal(guard_estimate_cost(&gp, &in), (13 + GUARD_FILE_FACTOR) * 22 * MiB);
	assert_false(guard_check(&gp, &in, &v)); /* 16 x 22 + 64 = 416 > 400 */
	assert_non_null(strstr(v.reason, "file on tmpfs"));
}

/* The [capture] guard keys map one to one (config.c itself is tested elsewhere). */
static void params_from_config(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	cfg.guard = false;
	cfg.guard_cost_factor = 7;
	cfg.guard_min_headroom_bytes = 9 * MiB;
	struct guard_params p = guard_params_from(&cfg);
	assert_false(p.enforce);
	assert_int_equal(p.cost_factor, 7);
	assert_int_equal(p.min_headroom_bytes, 9 * MiB);
}

static void path_in_memory(void **state)
{
	(void)state;
	assert_int_equal(guard_path_in_memory("/dev/shm"), 1);
	assert_int_equal(guard_path_in_memory("/proc"), 0);
	assert_int_equal(guard_path_in_memory("/nonexistent/dir"), -ENOENT);
}

static void collect_self(void **state)
{
	(void)state;
	struct guard_input in;
	assert_int_equal(guard_collect(getpid(), 5 * MiB, NULL, NULL, &in), 0);
	assert_int_equal(in.heap_used_bytes, 5 * MiB);
	assert_true(in.rss_bytes > 0);
	assert_true(in.mem_available_bytes > 0);
	assert_int_equal(guard_collect(0x3ffffff0, 0, NULL, NULL, &in), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cost_is_factor_times_heap),
		cmocka_unit_test(params_from_config),
		cmocka_unit_test(unknown_heap_uses_rss),
		cmocka_unit_test(cost_saturates),
		cmocka_unit_test(cgroup_too_small_refuses),
		cmocka_unit_test(cgroup_roomy_allows),
		cmocka_unit_test(exact_fit_allows),
		cmocka_unit_test(host_tighter_than_cgroup),
		cmocka_unit_test(usage_over_limit_is_zero_headroom),
		cmocka_unit_test(no_limit_known_allows),
		cmocka_unit_test(guard_off_allows_but_tells),
		cmocka_unit_test(file_on_tmpfs_costs_more),
		cmocka_unit_test(path_in_memory),
		cmocka_unit_test(collect_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
