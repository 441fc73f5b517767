// SPDX-License-Identifier: Apache-2.0
/* Unit tests of track/features.c's pure parts: the names features_describe prints (the
 * --version and start-up line), HEAPSNAP_FEATURES_OFF's exact-name matching (task_btf
 * must not switch off task_storage, tp_btf_rss not tp_btf_sched), and when the GC side
 * uses task storage. The probes themselves need a kernel: e2e/90 and 91 run them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "track/features.h"

static struct features all(void)
{
	return (struct features){ .bpf = true, .btf = true, .rss_pre62 = true, .tp_btf_rss = true,
				  .tp_btf_sched = true, .ringbuf = true, .task_storage = true, .task_btf = true,
				  .sock_addr = true, .netns_cookie = true, .uprobe_pmu = true, .uprobe_tracefs = true };
}

static void describe_names_present_only(void **state)
{
	(void)state;
	struct features f = { .btf = true, .ringbuf = true, .task_btf = true };
	char buf[256];

	assert_string_equal(features_describe(&f, buf, sizeof(buf)), "btf ringbuf task_btf");
	f = (struct features){ 0 };
	assert_string_equal(features_describe(&f, buf, sizeof(buf)), "");
}

static void describe_truncates_whole_names(void **state)
{
	(void)state;
	struct features f = all();
	char buf[12];

	assert_string_equal(features_describe(&f, buf, sizeof(buf)), "bpf btf");
}

static void switch_off_exact_names(void **state)
{
	(void)state;
	struct features f = all();

	features_switch_off(&f, "task_btf,tp_btf_rss");
	assert_false(f.task_btf);
	assert_true(f.task_storage);
	assert_false(f.tp_btf_rss);
	assert_true(f.tp_btf_sched);
	assert_true(f.btf);
	features_switch_off(&f, "task,btf_x,ringbu");
	assert_true(f.task_storage);
	assert_true(f.ringbuf);
	assert_true(f.btf);
	features_switch_off(&f, NULL);
	features_switch_off(&f, "uprobe_pmu");
	assert_false(f.uprobe_pmu);
	assert_true(f.uprobe_tracefs);
}

static void gc_task_storage_needs_both(void **state)
{
	(void)state;
	struct features f = all();

	assert_true(features_gc_task_storage(&f));
	f.task_btf = false;
	assert_false(features_gc_task_storage(&f));
	f = all();
	f.task_storage = false;
	assert_false(features_gc_task_storage(&f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(describe_names_present_only),
		cmocka_unit_test(describe_truncates_whole_names),
		cmocka_unit_test(switch_off_exact_names),
		cmocka_unit_test(gc_task_storage_needs_both),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
