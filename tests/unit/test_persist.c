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

#include "persist.h"

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
		  .trig = { .baseline_rss = 50ULL << 20, .last_capture_rss = 300ULL << 20,
			    .last_capture_ms = 987654321, .captures = 2, .baseline_requested = true },
		  .baseline_id = "20261127T081502Z-42-a1b2" },
		{ .pid = 7, .start_time = 1, .trig = { .baseline_rss = 1 } },
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
	assert_int_equal(out[0].trig.baseline_rss, 4);
	free(out);
}

static void test_journal(void **state)
{
	(void)state;
	struct capture_journal a = { .pid = 11, .start_time = 99, .method = "signal", .reason = "growth",
				     .rss_bytes = 5, .threshold_bytes = 4, .triggered_wall_ms = 1000,
				     .started_wall_ms = 1001, .baseline = true };
	struct capture_journal b = { .pid = 12, .start_time = 7, .method = "inspector", .reason = "leak" };
	struct capture_journal *out;
	size_t n;

	assert_int_equal(journal_write(path, &a), 0);
	assert_int_equal(journal_write(path, &b), 0);
	assert_int_equal(journal_write(path, &b), 0); /* rewritten, not doubled */
	journal_remove(path, 12);
	assert_int_equal(journal_write(path, &b), 0);
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 2);
	struct capture_journal *ga = out[0].pid == 11 ? &out[0] : &out[1];
	struct capture_journal *gb = out[0].pid == 11 ? &out[1] : &out[0];
	assert_int_equal(ga->start_time, 99);
	assert_string_equal(ga->method, "signal");
	assert_string_equal(ga->reason, "growth");
	assert_int_equal(ga->rss_bytes, 5);
	assert_int_equal(ga->threshold_bytes, 4);
	assert_int_equal(ga->triggered_wall_ms, 1000);
	assert_int_equal(ga->started_wall_ms, 1001);
	assert_true(ga->baseline);
	assert_int_equal(gb->start_time, 7);
	assert_string_equal(gb->method, "inspector");
	assert_string_equal(gb->reason, "leak");
	assert_false(gb->baseline);
	free(out);
	/* taken: the files are gone */
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

/* An unanswered signal's journal lives beside a new capture's journal of the same
 * process, is taken by the next run, and goes when the sweep is done with it. */
static void test_journal_unanswered(void **state)
{
	(void)state;
	struct capture_journal a = { .pid = 11, .start_time = 99, .method = "signal", .reason = "growth",
				     .started_wall_ms = 1001 };
	struct capture_journal b = { .pid = 11, .start_time = 99, .method = "inspector", .reason = "growth" };
	struct capture_journal *out;
	size_t n;

	assert_int_equal(journal_keep_unanswered(path, 11), -ENOENT);
	assert_int_equal(journal_write(path, &a), 0);
	assert_int_equal(journal_keep_unanswered(path, 11), 0);
	assert_int_equal(journal_write(path, &b), 0);
	journal_remove(path, 11);
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].method, "signal");
	assert_int_equal(out[0].started_wall_ms, 1001);
	free(out);

	assert_int_equal(journal_write(path, &a), 0);
	assert_int_equal(journal_keep_unanswered(path, 11), 0);
	journal_remove_unanswered(path, 11);
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

/* Batched saving (issue 10): a change is written at once only when nothing was written
 * yet or it is urgent; otherwise at most every PERSIST_BATCH_MS; a text the file holds
 * already is not written again (no fsync for a burst of short-lived processes). */
static void test_batch(void **state)
{
	(void)state;
	struct persisted one = { .pid = 42, .start_time = 7, .trig = { .baseline_rss = 1 } };
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
		cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_unanswered, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
