// SPDX-License-Identifier: Apache-2.0
/* Unit tests for agent/track/pidfd.c: a pidfd is only handed out for the process whose start
 * time matches, so a recycled PID is never signalled. Uses /bin/sleep children. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_fixture.h"

#include "track/procs.h"

static pid_t spawn_sleep(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool still_running(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

static void test_open_and_signal(void **state)
{
	(void)state;
	pid_t pid = spawn_sleep();
	int fd = procs_pidfd_open(pid, start_time_of(pid));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(procs_pidfd_signal(fd, 0), 0);
	assert_int_equal(procs_pidfd_signal(fd, SIGTERM), 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	/* the process is gone: signalling through its pidfd says so */
	assert_int_equal(procs_pidfd_signal(fd, SIGTERM), -ESRCH);
	close(fd);
}

static void test_wrong_start_time_is_esrch_and_no_signal(void **state)
{
	(void)state;
	pid_t pid = spawn_sleep();
	assert_int_equal(procs_pidfd_open(pid, start_time_of(pid) + 1), -ESRCH);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_true(still_running(pid));
	reap(pid);
}

static void test_reaped_process_is_esrch(void **state)
{
	(void)state;
	pid_t pid = spawn_sleep();
	uint64_t st = start_time_of(pid);
	reap(pid);
	assert_int_equal(procs_pidfd_open(pid, st), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_signal),
		cmocka_unit_test(test_wrong_start_time_is_esrch_and_no_signal),
		cmocka_unit_test(test_reaped_process_is_esrch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
