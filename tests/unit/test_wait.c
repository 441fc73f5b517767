// SPDX-License-Identifier: Apache-2.0
/* Unit tests for agent/base/wait.c: the one bounded wait of the capture runtime. A
 * deadline ends it, a cancel token fired from another thread wakes it at once, the
 * target's pidfd ends it when the target exits, and a ready fd is reported. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/loop.h"
#include "base/wait.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_timeout(void **state)
{
	(void)state;
	struct wait_spec w = wait_in(150, NULL, -1);
	int64_t t0 = mono_ms();
	assert_int_equal(wait_poll(&w, NULL, 0), WAIT_TIMEOUT);
	int64_t took = mono_ms() - t0;
	assert_true(took >= 149 && took < 1000);
	/* A deadline already gone: at once, even with a ready fd. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	w.deadline_ms = mono_ms() - 1;
	assert_int_equal(wait_fd(&w, p[0], POLLIN), WAIT_TIMEOUT);
	close(p[0]);
	close(p[1]);
}

struct firer {
	struct cancel_token *tok;
	int delay_ms;
};

static void *fire_later(void *arg)
{
	struct firer *f = arg;
	sleep_ms(f->delay_ms);
	cancel_token_fire(f->tok);
	return NULL;
}

static void test_cancel_wakes_waiter_at_once(void **state)
{
	(void)state;
	struct cancel_token tok;
	int p[2];
	assert_int_equal(cancel_token_init(&tok), 0);
	assert_int_equal(pipe(p), 0);
	struct firer f = { .tok = &tok, .delay_ms = 100 };
	pthread_t th;
	struct wait_spec w = wait_in(10000, &tok, -1);
	int64_t t0 = mono_ms();
	assert_int_equal(pthread_create(&th, NULL, fire_later, &f), 0);
	assert_int_equal(wait_fd(&w, p[0], POLLIN), WAIT_CANCELLED);
	int64_t took = mono_ms() - t0;
	pthread_join(th, NULL);
	/* No sleep slices: woken within milliseconds of the fire, not at a 100/250 ms tick. */
	assert_true(took >= 99 && took < 230);
	assert_true(cancel_token_is_set(&tok));
	/* Stays cancelled until reset; a reset token waits again. */
	assert_int_equal(wait_pause(&w, 10), WAIT_CANCELLED);
	cancel_token_reset(&tok);
	assert_false(cancel_token_is_set(&tok));
	assert_int_equal(wait_pause(&w, 10), WAIT_READY);
	cancel_token_destroy(&tok);
	cancel_token_destroy(&tok); /* idempotent */
	cancel_token_destroy(NULL);
	assert_false(cancel_token_is_set(NULL));
	close(p[0]);
	close(p[1]);
}

static void test_pidfd_exit(void **state)
{
	(void)state;
	pid_t child = fork();
	if (child == 0) {
		sleep_ms(100);
		_exit(0);
	}
	assert_true(child > 0);
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	assert_true(pidfd >= 0);
	assert_false(wait_target_exited(pidfd, 0));
	struct wait_spec w = wait_in(10000, NULL, pidfd);
	int64_t t0 = mono_ms();
	assert_int_equal(wait_poll(&w, NULL, 0), WAIT_EXITED);
	assert_true(mono_ms() - t0 < 2000);
	assert_true(wait_target_exited(pidfd, 0));
	assert_false(wait_target_exited(-1, 0));
	/* An exit wins over a ready fd. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(wait_fd(&w, p[0], POLLIN), WAIT_EXITED);
	waitpid(child, NULL, 0);
	close(pidfd);
	close(p[0]);
	close(p[1]);
}

static void test_fd_ready(void **state)
{
	(void)state;
	struct cancel_token tok;
	int p[2];
	assert_int_equal(cancel_token_init(&tok), 0);
	assert_int_equal(pipe(p), 0);
	struct wait_spec w = wait_in(5000, &tok, -1);
	assert_int_equal(wait_fd(&w, p[1], POLLOUT), WAIT_READY);
	struct pollfd fds[2] = { { .fd = -1, .events = POLLIN }, { .fd = p[0], .events = POLLIN } };
	w = wait_in(100, &tok, -1);
	assert_int_equal(wait_poll(&w, fds, 2), WAIT_TIMEOUT);
	assert_int_equal(write(p[1], "x", 1), 1);
	w = wait_in(5000, &tok, -1);
	assert_int_equal(wait_poll(&w, fds, 2), WAIT_READY);
	assert_true(fds[1].revents & POLLIN);
	/* A pause ends with READY before the deadline, TIMEOUT at it. */
	w = wait_in(5000, NULL, -1);
	assert_int_equal(wait_pause(&w, 5), WAIT_READY);
	w = wait_in(5, NULL, -1);
	assert_int_equal(wait_pause(&w, 1000), WAIT_TIMEOUT);
	cancel_token_destroy(&tok);
	close(p[0]);
	close(p[1]);
}

static void test_strings(void **state)
{
	(void)state;
	assert_string_equal(wait_result_str(WAIT_TIMEOUT), "timed out");
	assert_string_equal(wait_result_str(WAIT_CANCELLED), "cancelled (agent stopping)");
	assert_string_equal(wait_result_str(WAIT_EXITED), "process exited during capture");
	assert_non_null(wait_result_str(WAIT_READY));
	assert_non_null(wait_result_str(WAIT_ERROR));
	assert_non_null(wait_result_str((enum wait_result)99));
	assert_int_equal(wait_result_errno(WAIT_READY), 0);
	assert_int_equal(wait_result_errno(WAIT_TIMEOUT), -ETIMEDOUT);
	assert_int_equal(wait_result_errno(WAIT_CANCELLED), -ECANCELED);
	assert_int_equal(wait_result_errno(WAIT_EXITED), -ESRCH);
	assert_int_equal(wait_result_errno(WAIT_ERROR), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cancel_wakes_waiter_at_once),
		cmocka_unit_test(test_pidfd_exit),
		cmocka_unit_test(test_fd_ready),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
