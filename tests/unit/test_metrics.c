// SPDX-License-Identifier: Apache-2.0
/* Metrics: event counting, the text format (escaping, the per-process cap and its
 * aggregate, the histogram), health/ready, and the app/container labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/metrics.h"
#include "base/loop.h"

static char *render(struct metrics *m)
{
	char *text;
	size_t len;
	assert_int_equal(metrics_render(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void observe(struct metrics *m, const char *json)
{
	json_error_t e;
	json_t *ev = json_loads(json, 0, &e);
	assert_non_null(ev);
	metrics_observe_event(m, ev);
	json_decref(ev);
}

static void test_counters_from_events(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(10);
	observe(m, "{\"event\":\"trigger\",\"reason\":\"growth\"}");
	observe(m, "{\"event\":\"trigger\",\"reason\":\"growth\"}");
	observe(m, "{\"event\":\"trigger\",\"reason\":\"weird\"}");
	observe(m, "{\"event\":\"capture_start\",\"reason\":\"growth\",\"method\":\"signal\"}");
	observe(m, "{\"event\":\"capture_done\",\"reason\":\"growth\",\"method\":\"signal\",\"capture_ms\":1500}");
	observe(m, "{\"event\":\"capture_done\",\"reason\":\"leak\",\"method\":\"inspector\",\"capture_ms\":40000}");
	observe(m, "{\"event\":\"capture_failed\",\"reason\":\"rss\",\"method\":\"signal\"}");
	observe(m, "{\"event\":\"capture_refused\",\"reason\":\"growth\"}");
	metrics_sink_result(m, SINK_WEBHOOK, true);
	metrics_sink_result(m, SINK_WEBHOOK, false);
	metrics_sink_result(m, SINK_WEBHOOK, false);
	metrics_sink_dropped(m, SINK_ALERTMANAGER);
	char *t = render(m);
	assert_non_null(strstr(t, "heapsnap_triggers_total{reason=\"growth\"} 2\n"));
	assert_non_null(strstr(t, "heapsnap_triggers_total{reason=\"other\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_triggers_total{reason=\"rss\"} 0\n"));
	assert_non_null(strstr(t, "heapsnap_captures_total{result=\"done\",method=\"signal\",reason=\"growth\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_captures_total{result=\"done\",method=\"inspector\",reason=\"leak\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_captures_total{result=\"failed\",method=\"signal\",reason=\"rss\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_captures_total{result=\"refused\",method=\"none\",reason=\"growth\"} 1\n"));
	/* capture_start is not a result */
	assert_null(strstr(t, "result=\"start"));
	/* histogram: cumulative buckets, +Inf = count, sum in seconds */
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_bucket{le=\"1\"} 0\n"));
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_bucket{le=\"2.5\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_bucket{le=\"30\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_bucket{le=\"60\"} 2\n"));
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_sum 41.500\n"));
	assert_non_null(strstr(t, "heapsnap_capture_duration_seconds_count 2\n"));
	assert_non_null(strstr(t, "heapsnap_alerts_sent_total{sink=\"webhook\"} 1\n"));
	assert_non_null(strstr(t, "heapsnap_alerts_failed_total{sink=\"webhook\"} 2\n"));
	assert_non_null(strstr(t, "heapsnap_alerts_dropped_total{sink=\"alertmanager\"} 1\n"));
	assert_non_null(strstr(t, "# TYPE heapsnap_captures_total counter\n"));
	assert_non_null(strstr(t, "# TYPE heapsnap_capture_duration_seconds histogram\n"));
	assert_non_null(strstr(t, "heapsnap_build_info{version=\""));
	free(t);
	metrics_free(m);
}

/* A label from a command line with invalid UTF-8 (or cut inside a character) is
 * rendered valid (U+FFFD): Prometheus refuses the whole scrape otherwise. */
static void test_label_utf8(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(10);
	struct metrics_proc p[1] = { { .pid = 10, .app = "bad\xff\xfe-\xc3", .container = "\xe2\x82", .rss_bytes = 1 } };
	assert_int_equal(metrics_publish_procs(m, p, 1), 0);
	char *t = render(m);
	assert_non_null(strstr(t, "heapsnap_process_rss_bytes{pid=\"10\",app=\"bad\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd\","
				  "container=\"\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"));
	free(t);
	metrics_free(m);
}

static void test_process_cap_and_escaping(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(2);
	struct metrics_proc p[4] = {
		{ .pid = 10, .app = "small", .rss_bytes = 100, .heap_used_bytes = 7, .gc_known = true },
		{ .pid = 11, .app = "big\"one\\x\ny", .container = "0123456789ab", .rss_bytes = 5000,
		  .heap_used_bytes = 300, .gc_minor = 4, .gc_major = 2, .gc_known = true },
		{ .pid = 12, .app = "mid", .rss_bytes = 2000 },
		{ .pid = 13, .app = "tiny", .rss_bytes = 50, .heap_used_bytes = 5, .gc_known = true },
	};
	assert_int_equal(metrics_publish_procs(m, p, 4), 0);
	metrics_publish_store(m, 3, 12345);
	char *t = render(m);
	assert_non_null(strstr(t, "heapsnap_watched_processes 4\n"));
	/* the two largest by RSS get series; the label value is escaped */
	assert_non_null(strstr(t, "heapsnap_process_rss_bytes{pid=\"11\",app=\"big\\\"one\\\\x\\ny\","
				  "container=\"0123456789ab\"} 5000\n"));
	assert_non_null(strstr(t, "heapsnap_process_rss_bytes{pid=\"12\",app=\"mid\",container=\"\"} 2000\n"));
	assert_null(strstr(t, "pid=\"10\""));
	assert_null(strstr(t, "pid=\"13\""));
	assert_non_null(strstr(t, "heapsnap_process_gcs_total{pid=\"11\",app=\"big\\\"one\\\\x\\ny\","
				  "container=\"0123456789ab\",kind=\"major\"} 2\n"));
	/* no GC probes on pid 12: no heap or GC series for it */
	assert_null(strstr(t, "heapsnap_process_heap_used_bytes{pid=\"12\""));
	assert_null(strstr(t, "heapsnap_process_gcs_total{pid=\"12\""));
	assert_non_null(strstr(t, "heapsnap_omitted_processes 2\n"));
	assert_non_null(strstr(t, "heapsnap_omitted_processes_rss_bytes 150\n"));
	assert_non_null(strstr(t, "heapsnap_omitted_processes_heap_used_bytes 12\n"));
	assert_non_null(strstr(t, "heapsnap_store_snapshots 3\n"));
	assert_non_null(strstr(t, "heapsnap_store_bytes 12345\n"));
	free(t);
	/* a new table replaces the old one */
	assert_int_equal(metrics_publish_procs(m, p, 1), 0);
	t = render(m);
	assert_non_null(strstr(t, "heapsnap_watched_processes 1\n"));
	assert_non_null(strstr(t, "heapsnap_omitted_processes 0\n"));
	assert_null(strstr(t, "pid=\"11\""));
	free(t);
	metrics_free(m);
}

static void test_health_ready(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(1);
	assert_false(metrics_ready(m));
	assert_false(metrics_healthy(m, 5000, 10000)); /* no heartbeat yet */
	metrics_heartbeat(m, 5000);
	assert_true(metrics_healthy(m, 15000, 10000));
	assert_false(metrics_healthy(m, 15001, 10000));
	metrics_set_ready(m, true);
	assert_true(metrics_ready(m));
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_from_events),
		cmocka_unit_test(test_process_cap_and_escaping),
		cmocka_unit_test(test_label_utf8),
		cmocka_unit_test(test_health_ready),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
