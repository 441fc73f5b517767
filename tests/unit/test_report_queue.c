// SPDX-License-Identifier: Apache-2.0
/* Unit tests for report_queue_next (agent/capture/report_queue.c): a small incident's
 * report does not wait behind a large one being made, and reports made at once never
 * parse more than report.max_mb of snapshots together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capture/report_queue.h"

#define MB(n) ((uint64_t)(n) << 20)

static void test_oldest_first_when_idle(void **state)
{
	(void)state;
	uint64_t raw[] = { MB(900), MB(10) };
	assert_int_equal(report_queue_next(raw, 2, 0, 0, MB(1000)), 0);
	assert_int_equal(report_queue_next(raw, 0, 0, 0, MB(1000)), -1);
}

/* A 900 MB report is being made: the big one queued behind waits, the small one after it starts. */
static void test_small_passes_big_in_flight(void **state)
{
	(void)state;
	uint64_t raw[] = { MB(900), MB(50) };
	assert_int_equal(report_queue_next(raw, 2, 1, MB(900), MB(1000)), 1);
	assert_int_equal(report_queue_next(raw, 1, 1, MB(900), MB(1000)), -1);
}

static void test_at_most_two_at_once(void **state)
{
	(void)state;
	uint64_t raw[] = { MB(1) };
	assert_int_equal(report_queue_next(raw, 1, REPORT_THREADS, MB(2), MB(1000)), -1);
}

/* Above max: skipped without a parse, so it may start beside anything. */
static void test_over_max_always_starts(void **state)
{
	(void)state;
	uint64_t raw[] = { MB(2000) };
	assert_int_equal(report_queue_next(raw, 1, 1, MB(900), MB(1000)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oldest_first_when_idle),
		cmocka_unit_test(test_small_passes_big_in_flight),
		cmocka_unit_test(test_at_most_two_at_once),
		cmocka_unit_test(test_over_max_always_starts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
