// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the capture pool (agent/capture/capture.c): every finished job's outcome
 * reaches the agent loop, however many finish before the loop takes them. The jobs
 * name a process that does not exist, so each fails at once ("process exited before
 * the capture started") without a store, alerter or target. And the queue's order
 * (a pool without workers keeps every job queued): incidents ahead of baselines and
 * profiler-only jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "capture/capturer.h"
#include "base/config.h"
#include "base/loop.h"

#define NO_SUCH_PID 0x3ffffff0
#define OLD_RING 64          /* the done[] ring's fixed size before it could grow */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void wait_idle(struct capturer *c)
{
	int64_t end = mono_ms() + 10000;
	while (capturer_pending(c) && mono_ms() < end)
		sleep_ms(5);
	assert_int_equal(capturer_pending(c), 0);
}

/* Three rings' worth of outcomes while the loop takes none: all arrive. */
static void test_outcomes_never_dropped(void **state)
{
	(void)state;
	struct config cfg;
	char err[256] = "";
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_concurrent = 2;
	struct capturer *c = capturer_new(&cfg, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(c);
	unsigned submitted = 0;
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < OLD_RING; i++) {
			struct capture_job job = { .pid = NO_SUCH_PID - (pid_t)submitted, .start_time = 1, .reason = TRIGGER_RSS };
			assert_int_equal(capturer_submit(c, &job), 0);
			submitted++;
		}
		wait_idle(c);
	}
	struct capture_outcome out;
	bool seen[3 * OLD_RING] = { false };
	unsigned got = 0;
	while (capturer_take(c, &out) == 1) {
		unsigned idx = (unsigned)(NO_SUCH_PID - out.pid);
		assert_true(idx < submitted);
		assert_false(seen[idx]);
		seen[idx] = true;
		assert_false(out.ok);
		assert_non_null(strstr(out.err, "exited before the capture started"));
		got++;
	}
	assert_int_equal(got, submitted);
	capturer_free(c);
}

static const struct capture_job *at(const struct capturer *c, unsigned i)
{
	return &c->queue[(c->q_head + i) % QUEUE_MAX];
}

/* Both due at once: the incident goes first. A queued baseline of the incident's
 * process is dropped (its outcome says so) but the profiler it would have started
 * stays queued, as a profiler-only job behind the incidents. */
static void test_incident_before_profiler(void **state)
{
	(void)state;
	struct config cfg;
	char err[256] = "";
	memset(&cfg, 0, sizeof(cfg)); /* max_concurrent 0: no workers, the queue stays */
	struct capturer *c = capturer_new(&cfg, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(c);
	const pid_t A = NO_SUCH_PID, B = NO_SUCH_PID - 1;
	struct capture_job base_a = { .pid = A, .start_time = 1, .reason = TRIGGER_BASELINE, .baseline = true };
	struct capture_job prof_b = { .pid = B, .start_time = 1, .reason = TRIGGER_BASELINE, .profile_only = true };
	struct capture_job inc_a = { .pid = A, .start_time = 1, .reason = TRIGGER_GROWTH };
	struct capture_job inc_b = { .pid = B, .start_time = 1, .reason = TRIGGER_GROWTH };
	assert_int_equal(capturer_submit(c, &base_a), 0);
	assert_int_equal(capturer_submit(c, &prof_b), 0);
	assert_int_equal(capturer_submit(c, &inc_a), 0);
	assert_int_equal(capturer_submit(c, &inc_b), 0);
	assert_int_equal(c->q_len, 4);
	assert_true(at(c, 0)->pid == A && !at(c, 0)->baseline && !at(c, 0)->profile_only);
	assert_true(at(c, 1)->pid == B && !at(c, 1)->baseline && !at(c, 1)->profile_only);
	assert_true(at(c, 2)->pid == A && at(c, 2)->profile_only && !at(c, 2)->baseline);
	assert_true(at(c, 3)->pid == B && at(c, 3)->profile_only);
	struct capture_outcome out;
	assert_int_equal(capturer_take(c, &out), 1); /* the dropped baseline's */
	assert_true(out.pid == A && out.baseline && out.preempted && !out.ok);
	assert_int_equal(capturer_take(c, &out), 0);
	capturer_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes_never_dropped),
		cmocka_unit_test(test_incident_before_profiler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
