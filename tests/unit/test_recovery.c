// SPDX-License-Identifier: Apache-2.0
/* Unit tests of recovery.c: journals (written, rewritten, taken, kept for an
 * unanswered signal; on disk the method stays a string), the resume jobs made from
 * them, and the adoption of a snapshot file a killed run left Node writing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/recovery.h"
#include "capture/resume.h"
#include "capture/signal/signal_adopt.h"

/* One directory for the group; each test names its own state file in it. */
static char dir[] = "/tmp/hs-recovery-XXXXXX";
static char path[256];

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Before each test that writes journals: its own state file. */
static int fresh_state(void **state)
{
	static int seq;
	(void)state;
	snprintf(path, sizeof(path), "%s/state%d", dir, ++seq);
	return 0;
}

static void test_resume_method_strings(void **state)
{
	(void)state;
	enum route m;
	assert_string_equal(route_name(ROUTE_NONE), "none");
	assert_string_equal(route_name(ROUTE_SIGNAL), "signal");
	assert_string_equal(route_name(ROUTE_INSPECTOR), "inspector");
	assert_int_equal(route_from_name("inspector", &m), 0);
	assert_int_equal(m, ROUTE_INSPECTOR);
	assert_int_equal(route_from_name("signal", &m), 0);
	assert_int_equal(m, ROUTE_SIGNAL);
	assert_int_equal(route_from_name("bogus", &m), -EINVAL);
}

static void test_journal(void **state)
{
	(void)state;
	struct capture_journal a = { .pid = 11, .start_time = 99, .method = ROUTE_SIGNAL, .reason = "growth",
				     .rss_bytes = 5, .threshold_bytes = 4, .triggered_wall_ms = 1000,
				     .started_wall_ms = 1001, .baseline = true };
	struct capture_journal b = { .pid = 12, .start_time = 7, .method = ROUTE_INSPECTOR, .reason = "leak" };
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
	assert_int_equal(ga->method, ROUTE_SIGNAL);
	assert_string_equal(ga->reason, "growth");
	assert_int_equal(ga->rss_bytes, 5);
	assert_int_equal(ga->threshold_bytes, 4);
	assert_int_equal(ga->triggered_wall_ms, 1000);
	assert_int_equal(ga->started_wall_ms, 1001);
	assert_true(ga->baseline);
	assert_int_equal(gb->start_time, 7);
	assert_int_equal(gb->method, ROUTE_INSPECTOR);
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
	struct capture_journal a = { .pid = 11, .start_time = 99, .method = ROUTE_SIGNAL, .reason = "growth",
				     .started_wall_ms = 1001 };
	struct capture_journal b = { .pid = 11, .start_time = 99, .method = ROUTE_INSPECTOR, .reason = "growth" };
	struct capture_journal *out;
	size_t n;

	assert_int_equal(journal_keep_unanswered(path, 11), -ENOENT);
	assert_int_equal(journal_write(path, &a), 0);
	assert_int_equal(journal_keep_unanswered(path, 11), 0);
	assert_int_equal(journal_write(path, &b), 0);
	journal_remove(path, 11);
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].method, ROUTE_SIGNAL);
	assert_int_equal(out[0].started_wall_ms, 1001);
	free(out);

	assert_int_equal(journal_write(path, &a), 0);
	assert_int_equal(journal_keep_unanswered(path, 11), 0);
	journal_remove_unanswered(path, 11);
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

/* The journal's file keeps "method": "signal"; an unknown method is not resumed. */
static void test_journal_on_disk(void **state)
{
	(void)state;
	struct capture_journal a = { .pid = 13, .start_time = 5, .method = ROUTE_SIGNAL, .reason = "rss" };
	char jpath[300], buf[512];
	assert_int_equal(journal_write(path, &a), 0);
	snprintf(jpath, sizeof(jpath), "%s.capture.13", path);
	FILE *f = fopen(jpath, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "\"method\":\"signal\""));
	f = fopen(jpath, "w");
	assert_non_null(f);
	fputs("{\"pid\":13,\"start_time\":5,\"method\":\"carrier-pigeon\",\"reason\":\"rss\",\"rss_bytes\":0,"
	      "\"threshold_bytes\":0,\"triggered_wall_ms\":0,\"started_wall_ms\":0,\"baseline\":false}", f);
	fclose(f);
	struct capture_journal *out;
	assert_int_equal(journal_take_all(path, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

struct seen_jobs {
	struct capture_job jobs[4];
	size_t n;
};

static void collect(void *arg, struct capture_job *job)
{
	struct seen_jobs *s = arg;
	assert_true(s->n < 4);
	s->jobs[s->n++] = *job;
}

static void test_resume_jobs(void **state)
{
	(void)state;
	struct capture_journal a = { .pid = 21, .start_time = 3, .method = ROUTE_INSPECTOR, .reason = "leak",
				     .rss_bytes = 9, .threshold_bytes = 8, .triggered_wall_ms = 100,
				     .started_wall_ms = 200, .baseline = false };
	struct seen_jobs s = { .n = 0 };
	assert_int_equal(journal_write(path, &a), 0);
	recovery_resume_interrupted(path, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.jobs[0].pid, 21);
	assert_int_equal(s.jobs[0].start_time, 3);
	assert_int_equal(s.jobs[0].resume_method, ROUTE_INSPECTOR);
	assert_int_equal(s.jobs[0].resume_after_ms, 200);
	assert_int_equal(s.jobs[0].rss_bytes, 9);
	assert_int_equal(s.jobs[0].reason, TRIGGER_LEAK);
	assert_string_equal(s.jobs[0].baseline_id, "");
	/* taken: a second run finds nothing */
	s.n = 0;
	recovery_resume_interrupted(path, collect, &s);
	assert_int_equal(s.n, 0);
	recovery_resume_interrupted("", collect, &s);
	assert_int_equal(s.n, 0);
}

static int count_old(void *arg, const char *name)
{
	(void)name;
	(*(int *)arg)++;
	return 0;
}

static void touch(const char *name, time_t mtime)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static void test_adopt_snapshot(void **state)
{
	(void)state;
	time_t now = time(NULL);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[256];
	int old = 0;
	assert_true(dfd >= 0);
	assert_int_equal(recovery_adopt_snapshot(dfd, 77, (int64_t)now * 1000, name, sizeof(name), count_old, &old), 1);
	touch("Heap.20260101.000000.77.0.001.heapsnapshot", now - 3600);    /* before the capture */
	touch("Heap.20260101.000000.78.0.001.heapsnapshot", now);           /* another process */
	touch("Heap.20260101.000001.77.0.002.heapsnapshot", now);           /* the one */
	assert_int_equal(recovery_adopt_snapshot(dfd, 77, (int64_t)now * 1000, name, sizeof(name), count_old, &old), 0);
	assert_string_equal(name, "Heap.20260101.000001.77.0.002.heapsnapshot");
	assert_int_equal(old, 1);
	close(dfd);
	assert_true(recovery_adopt_snapshot(-1, 77, 0, name, sizeof(name), count_old, &old) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_method_strings),
		cmocka_unit_test_setup(test_journal, fresh_state),
		cmocka_unit_test_setup(test_journal_unanswered, fresh_state),
		cmocka_unit_test_setup(test_journal_on_disk, fresh_state),
		cmocka_unit_test_setup(test_resume_jobs, fresh_state),
		cmocka_unit_test_setup(test_adopt_snapshot, fresh_state),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
