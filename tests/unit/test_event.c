// SPDX-License-Identifier: Apache-2.0
/* Unit tests of alert/event.c: the one serializer gives, for each kind, exactly the
 * JSON the agent wrote before events had a type (names, members, order: the contract
 * metrics, Alertmanager, webhooks and operators' scripts read), and event_kind_of
 * reads the kind back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alert/event.h"

static void expect(const struct event *e, const char *want)
{
	json_t *o = event_json(e);
	assert_non_null(o);
	char *got = json_dumps(o, JSON_COMPACT);
	assert_string_equal(got, want);
	enum event_kind k;
	assert_int_equal(event_kind_of(o, &k), 0);
	assert_int_equal(k, e->kind);
	free(got);
	json_decref(o);
}

#define BASE(kind_) .kind = (kind_), .pid = 42, .reason = TRIGGER_GROWTH, .rss_bytes = 300, .threshold_bytes = 200
#define BASE_JSON(name) "{\"event\":\"" name "\",\"pid\":42,\"reason\":\"growth\",\"rss_bytes\":300,\"threshold_bytes\":200"

static void test_trigger(void **state)
{
	(void)state;
	struct event e = { BASE(EVENT_TRIGGER) };
	e.trigger.rss_first_seen = 50;
	e.trigger.app_rss_bytes = 290;
	e.trigger.capture_offset_bytes = 10;
	e.trigger.heap_used_bytes = 120;
	e.trigger.heap_at_trigger_bytes = 125;
	expect(&e, BASE_JSON("trigger") ",\"baseline_rss_bytes\":50,\"app_rss_bytes\":290,"
				       "\"capture_offset_bytes\":10,\"heap_used_bytes\":120,\"heap_at_trigger_bytes\":125}");
}

static void test_capture_start(void **state)
{
	(void)state;
	struct event e = { BASE(EVENT_CAPTURE_START) };
	e.start.method = "signal";
	e.start.wait_ms = 3;
	e.start.memory_wait_ms = 1;
	e.start.rss_at_start_bytes = 310;
	e.start.heap_used_bytes = 120;
	e.start.heap_at_start_bytes = 130;
	e.start.heap_at_trigger_bytes = 125;
	expect(&e, BASE_JSON("capture_start") ",\"method\":\"signal\",\"wait_ms\":3,\"memory_wait_ms\":1,"
					     "\"rss_at_start_bytes\":310,\"heap_used_bytes\":120,\"heap_at_start_bytes\":130,\"heap_at_trigger_bytes\":125}");
}

static void test_capture_done(void **state)
{
	(void)state;
	json_t *brief = json_pack("{s:s, s:[]}", "report", "done", "top_growth");
	struct event e = { BASE(EVENT_CAPTURE_DONE) };
	e.done.brief = brief;
	e.done.method = "inspector";
	e.done.snapshot_id = "20261127T081502Z-42-a1b2";
	e.done.path = "/var/lib/heapsnap/20261127T081502Z-42-a1b2.heapsnapshot.gz";
	e.done.raw_bytes = 1000;
	e.done.size_bytes = 100;
	e.done.capture_ms = 2500;
	e.done.inspector_opened = true;
	e.done.inspector_window_ms = 900;
	expect(&e, BASE_JSON("capture_done") ",\"report\":\"done\",\"top_growth\":[],\"method\":\"inspector\","
					    "\"snapshot_id\":\"20261127T081502Z-42-a1b2\",\"path\":"
					    "\"/var/lib/heapsnap/20261127T081502Z-42-a1b2.heapsnapshot.gz\","
					    "\"raw_bytes\":1000,\"size_bytes\":100,\"capture_ms\":2500,"
					    "\"inspector_window_ms\":900,\"baseline\":false}");
	assert_int_equal(brief->refcount, 1); /* not taken */
	/* a baseline: no brief, no inspector window */
	e.reason = TRIGGER_BASELINE;
	e.done.brief = NULL;
	e.done.method = "signal";
	e.done.inspector_opened = false;
	e.done.baseline = true;
	expect(&e, "{\"event\":\"capture_done\",\"pid\":42,\"reason\":\"baseline\",\"rss_bytes\":300,"
		   "\"threshold_bytes\":200,\"method\":\"signal\",\"snapshot_id\":\"20261127T081502Z-42-a1b2\","
		   "\"path\":\"/var/lib/heapsnap/20261127T081502Z-42-a1b2.heapsnapshot.gz\",\"raw_bytes\":1000,"
		   "\"size_bytes\":100,\"capture_ms\":2500,\"baseline\":true}");
	json_decref(brief);
}

static void test_capture_failed(void **state)
{
	(void)state;
	struct event e = { BASE(EVENT_CAPTURE_FAILED) };
	e.failed.method = "none";
	e.failed.error = "no capture route: x; y";
	expect(&e, BASE_JSON("capture_failed") ",\"method\":\"none\",\"error\":\"no capture route: x; y\"}");
	e.failed.method = "inspector";
	e.failed.inspector_opened = true;
	e.failed.inspector_window_ms = 12;
	expect(&e, BASE_JSON("capture_failed") ",\"method\":\"inspector\",\"error\":\"no capture route: x; y\","
					      "\"inspector_window_ms\":12}");
}

static void test_capture_refused(void **state)
{
	(void)state;
	struct event e = { BASE(EVENT_CAPTURE_REFUSED) };
	e.refused.error = "snapshot needs about 844 MiB";
	e.refused.limit = "cgroup memory.max";
	e.refused.needed_bytes = 844;
	e.refused.headroom_bytes = 150;
	e.refused.heap_used_bytes = 60;
	e.refused.heap_estimated = true;
	expect(&e, BASE_JSON("capture_refused") ",\"error\":\"snapshot needs about 844 MiB\","
					       "\"limit\":\"cgroup memory.max\",\"needed_bytes\":844,"
					       "\"headroom_bytes\":150,\"heap_used_bytes\":60,\"heap_estimated\":true}");
}

static void test_kind_names(void **state)
{
	(void)state;
	static const char *const names[] = { "trigger", "capture_start", "capture_done", "capture_failed",
					      "capture_refused" };
	for (int k = 0; k < EVENT_KINDS; k++)
		assert_string_equal(event_kind_name((enum event_kind)k), names[k]);
	enum event_kind k;
	json_t *o = json_pack("{s:s}", "event", "capture_exploded");
	assert_int_equal(event_kind_of(o, &k), -EINVAL);
	json_decref(o);
	o = json_pack("{s:i}", "pid", 1);
	assert_int_equal(event_kind_of(o, &k), -EINVAL);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger),
		cmocka_unit_test(test_capture_start),
		cmocka_unit_test(test_capture_done),
		cmocka_unit_test(test_capture_failed),
		cmocka_unit_test(test_capture_refused),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
