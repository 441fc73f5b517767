// SPDX-License-Identifier: Apache-2.0
/* The Alertmanager alert lifecycle (fire, resend, resolve, re-send the resolution,
 * forget, table bound) and the backoff the senders share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/am_alerts.h"
#include "export/backoff.h"
#include "export/http_post.h"

#define RESEND 60000
#define WALL0 1764547200000LL /* 2025-12-01T00:00:00Z */

static struct am_table t;

static size_t due(int64_t now, size_t *out)
{
	return am_due(&t, now, out, AM_MAX_ALERTS);
}

static void test_fire_resend_resolve(void **state)
{
	(void)state;
	size_t d[AM_MAX_ALERTS];
	am_table_init(&t, RESEND);
	struct am_alert *a = am_fire(&t, AM_MEMORY_GROWTH, 42, WALL0, 1000);
	assert_non_null(a);
	snprintf(a->app, sizeof(a->app), "server.js");
	assert_int_equal(due(1000, d), 1);          /* due at once */
	assert_int_equal(due(1001, d), 0);          /* not again before resend */
	assert_int_equal(due(1000 + RESEND - 1, d), 0);
	assert_int_equal(due(1000 + RESEND, d), 1); /* re-sent every resend interval */

	/* the same alert fired again: refreshed, not duplicated, same startsAt */
	assert_ptr_equal(am_fire(&t, AM_MEMORY_GROWTH, 42, WALL0 + 5000, 2000), a);
	assert_int_equal(t.n, 1);
	assert_int_equal(a->starts_wall_ms, WALL0);

	/* active: endsAt 4 resend intervals ahead of now */
	json_t *j = am_alert_json(&t, a, "h1", "http://h1:9837/metrics", WALL0 + 10000);
	assert_string_equal(json_string_value(json_object_get(j, "startsAt")), "2025-12-01T00:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(j, "endsAt")), "2025-12-01T00:04:10.000Z");
	json_t *l = json_object_get(j, "labels");
	assert_string_equal(json_string_value(json_object_get(l, "alertname")), "HeapsnapMemoryGrowth");
	assert_string_equal(json_string_value(json_object_get(l, "pid")), "42");
	assert_string_equal(json_string_value(json_object_get(l, "app")), "server.js");
	assert_string_equal(json_string_value(json_object_get(l, "host")), "h1");
	assert_null(json_object_get(l, "container")); /* none: no empty label */
	assert_string_equal(json_string_value(json_object_get(j, "generatorURL")), "http://h1:9837/metrics");
	json_decref(j);

	/* resolved: endsAt = the resolution time, due now, then re-sent */
	assert_int_equal(am_resolve(&t, AM_KINDS, 42, WALL0 + 30000, 500000), 1);
	assert_null(am_find_active(&t, AM_MEMORY_GROWTH, 42));
	assert_int_equal(due(500000, d), 1);
	j = am_alert_json(&t, a, "h1", "", WALL0 + 99000);
	assert_string_equal(json_string_value(json_object_get(j, "endsAt")), "2025-12-01T00:00:30.000Z");
	assert_null(json_object_get(j, "generatorURL"));
	json_decref(j);
	assert_int_equal(due(500000 + RESEND, d), 1);
	/* resolving twice does nothing */
	assert_int_equal(am_resolve(&t, AM_KINDS, 42, WALL0 + 40000, 600000), 0);
	/* kept while AM_RESOLVED_KEEP_MS runs, then forgotten */
	assert_int_equal(due(500000 + AM_RESOLVED_KEEP_MS, d), 1);
	assert_int_equal(t.n, 1);
	assert_int_equal(due(500000 + AM_RESOLVED_KEEP_MS + 1, d), 0);
	assert_int_equal(t.n, 0);
}

static void test_kinds_and_refire(void **state)
{
	(void)state;
	size_t d[AM_MAX_ALERTS];
	am_table_init(&t, RESEND);
	am_fire(&t, AM_MEMORY_GROWTH, 7, WALL0, 0);
	am_fire(&t, AM_CAPTURE_FAILED, 7, WALL0, 0);
	am_fire(&t, AM_CAPTURE_FAILED, 8, WALL0, 0);
	assert_int_equal(due(0, d), 3);
	/* one kind of one pid */
	assert_int_equal(am_resolve(&t, AM_CAPTURE_FAILED, 7, WALL0 + 1, 10), 1);
	assert_non_null(am_find_active(&t, AM_MEMORY_GROWTH, 7));
	assert_non_null(am_find_active(&t, AM_CAPTURE_FAILED, 8));
	assert_int_equal(due(10, d), 1);
	/* fired again after its resolution: the same slot, active, a new startsAt */
	struct am_alert *a = am_fire(&t, AM_CAPTURE_FAILED, 7, WALL0 + 20, 20);
	assert_int_equal(t.n, 3);
	assert_int_equal(a->resolved_ms, 0);
	assert_int_equal(a->ends_wall_ms, 0);
	assert_int_equal(a->starts_wall_ms, WALL0 + 20);
	assert_string_equal(am_kind_name(AM_CAPTURE_REFUSED), "HeapsnapCaptureRefused");
	assert_string_equal(am_kind_name(AM_LEAK_SUSPECTED), "HeapsnapLeakSuspected");
	/* every alert of a pid */
	assert_int_equal(am_resolve(&t, AM_KINDS, 7, WALL0 + 30, 30), 2);
	/* touch: changed annotations are due at once */
	a = am_find_active(&t, AM_CAPTURE_FAILED, 8);
	due(RESEND, d);
	am_touch(a, RESEND + 5);
	assert_int_equal(due(RESEND + 5, d), 1);
}

static void test_table_bound(void **state)
{
	(void)state;
	am_table_init(&t, RESEND);
	for (int i = 0; i < AM_MAX_ALERTS; i++)
		assert_non_null(am_fire(&t, AM_MEMORY_GROWTH, 1000 + i, WALL0, 0));
	/* full of active alerts: a new one is refused, an existing one still refreshes */
	assert_null(am_fire(&t, AM_MEMORY_GROWTH, 5, WALL0, 0));
	assert_non_null(am_fire(&t, AM_MEMORY_GROWTH, 1000, WALL0, 0));
	/* the oldest resolved one makes room */
	am_resolve(&t, AM_KINDS, 1003, WALL0, 100);
	am_resolve(&t, AM_KINDS, 1001, WALL0, 50);
	assert_non_null(am_fire(&t, AM_LEAK_SUSPECTED, 5, WALL0, 200));
	assert_int_equal(t.n, AM_MAX_ALERTS);
	for (size_t i = 0; i < t.n; i++)
		assert_int_not_equal(t.a[i].pid, 1001);
}

static void test_backoff(void **state)
{
	(void)state;
	struct backoff b;
	backoff_init(&b, 1000, 30000, 12345);
	/* retry n waits in [d/2, d], d = 1 s, 2 s, 4 s ... capped at 30 s */
	static const uint32_t step[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	for (int round = 0; round < 200; round++)
		for (unsigned n = 1; n <= 8; n++) {
			uint32_t v = backoff_delay_ms(&b, n);
			assert_in_range(v, step[n - 1] / 2, step[n - 1]);
		}
	/* attempt 0 counts as the first; huge attempts do not overflow */
	assert_in_range(backoff_delay_ms(&b, 0), 500, 1000);
	assert_in_range(backoff_delay_ms(&b, 4000000000u), 15000, 30000);
	/* jitter: the delays of one step are not all alike, and two seeds differ */
	uint32_t first = backoff_delay_ms(&b, 6);
	bool varied = false;
	for (int i = 0; i < 50 && !varied; i++)
		varied = backoff_delay_ms(&b, 6) != first;
	assert_true(varied);
	struct backoff c;
	backoff_init(&c, 1000, 30000, 999);
	backoff_init(&b, 1000, 30000, 12345);
	bool differ = false;
	for (int i = 0; i < 10; i++)
		differ |= backoff_delay_ms(&b, 5) != backoff_delay_ms(&c, 5);
	assert_true(differ);
}

static void origin(const char *url, const char *want)
{
	char out[128];
	http_url_origin(url, out, sizeof(out));
	assert_string_equal(out, want);
}

/* What the log shows of a webhook URL: never its path or query. */
static void test_url_origin(void **state)
{
	(void)state;
	origin("https://hooks.example/services/T0/B0/SECRET", "https://hooks.example/...");
	origin("http://127.0.0.1:19104/hook", "http://127.0.0.1:19104/...");
	origin("http://h:1?token=x", "http://h:1/...");
	origin("http://h:1/", "http://h:1");
	origin("http://h", "http://h");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fire_resend_resolve),
		cmocka_unit_test(test_kinds_and_refire),
		cmocka_unit_test(test_table_bound),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_url_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
