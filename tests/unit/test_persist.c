// SPDX-License-Identifier: Apache-2.0
/* Unit tests of persist.c: round trip, a missing file, a damaged file, batched saving. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/persist.h"

static char dir[] = "/tmp/hs-persist-XXXXXX";
static char path[256];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/hs-persist-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/state", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct persisted in[2] = {
		{ .pid = 42, .start_time = 123456789012ULL,
		  .trig = { .rss_first_seen = 50ULL << 20, .last_capture_rss = 300ULL << 20,
			    .last_capture_ms = 987654321, .captures = 2, .baseline_requested = true },
		  .baseline_id = "20261127T081502Z-42-a1b2" },
		{ .pid = 7, .start_time = 1, .trig = { .rss_first_seen = 1 } },
	};
	struct persisted *out;
	size_t n;

	assert_int_equal(persist_save(path, in, 2), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(persist_load(path, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(&out[0], &in[0], sizeof(in[0]));
	assert_memory_equal(&out[1], &in[1], sizeof(in[1]));
	free(out);

	/* replaced atomically: no temp file remains */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_missing_is_empty(void **state)
{
	(void)state;
	struct persisted *out;
	size_t n = 9;
	assert_int_equal(persist_load(path, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

static void test_damaged_is_error(void **state)
{
	(void)state;
	struct persisted *out;
	size_t n;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[{\"pid\": 1, \"start_ti", f);
	fclose(f);
	assert_int_equal(persist_load(path, &out, &n), -EINVAL);
	assert_int_equal(n, 0);

	/* an entry with a missing member is skipped, the others kept */
	f = fopen(path, "w");
	fputs("[{\"pid\":1},{\"pid\":2,\"start_time\":3,\"baseline_rss\":4,\"last_capture_rss\":0,"
	      "\"last_capture_ms\":0,\"captures\":0,\"baseline_requested\":false,\"baseline_id\":\"\"}]", f);
	fclose(f);
	assert_int_equal(persist_load(path, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].pid, 2);
	assert_int_equal(out[0].trig.rss_first_seen, 4);
	free(out);
}

/* Batched saving: a change is written at once only when nothing was written
 * yet or it is urgent; otherwise at most every PERSIST_BATCH_MS; a text the file holds
 * already is not written again (no fsync for a burst of short-lived processes). */
static void test_batch(void **state)
{
	(void)state;
	struct persisted one = { .pid = 42, .start_time = 7, .trig = { .rss_first_seen = 1 } };
	struct persist_batch b = { 0 };
	struct stat st;
	int64_t t = 1000000;

	assert_false(persist_batch_due(&b, t)); /* nothing changed */
	persist_batch_changed(&b, false);
	assert_true(persist_batch_due(&b, t)); /* nothing written yet: at once */
	assert_int_equal(persist_batch_write(&b, path, persist_dump(&one, 1), t), 1);
	assert_false(persist_batch_due(&b, t));

	/* a burst of changes within the batch interval: not due until it has passed */
	persist_batch_changed(&b, false);
	assert_false(persist_batch_due(&b, t + 10));
	assert_false(persist_batch_due(&b, t + PERSIST_BATCH_MS - 1));
	assert_true(persist_batch_due(&b, t + PERSIST_BATCH_MS));

	/* the same text again: nothing written (the file is not even recreated) */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(persist_batch_write(&b, path, persist_dump(&one, 1), t + PERSIST_BATCH_MS), 0);
	assert_int_not_equal(stat(path, &st), 0);
	assert_false(persist_batch_due(&b, t + 2 * PERSIST_BATCH_MS));

	/* urgent (a capture started): due at once, within the interval */
	one.trig.captures = 1;
	persist_batch_changed(&b, true);
	assert_true(persist_batch_due(&b, t + 1));
	assert_int_equal(persist_batch_write(&b, path, persist_dump(&one, 1), t + 1), 1);
	struct persisted *out;
	size_t n;
	assert_int_equal(persist_load(path, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].trig.captures, 1);
	free(out);

	/* a failed write stays dirty: tried again at the next flush */
	persist_batch_changed(&b, true);
	assert_true(persist_batch_write(&b, "/nonexistent-dir/state", persist_dump(&one, 0), t + 2) < 0);
	assert_true(b.dirty);
	persist_batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_is_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
