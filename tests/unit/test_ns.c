// SPDX-License-Identifier: Apache-2.0
/* Unit tests of ns.c's error convention (err.h): a process that is gone is -ENOENT
 * from both calls, never -1 with errno; our own namespace gives a plain socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/ns.h"

#define GONE_PID 0x3ffffff  /* above any pid_max */

static void test_own_namespace(void **state)
{
	(void)state;
	assert_int_equal(ns_net_differs(getpid()), 0);
	int fd = ns_socket(getpid(), AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	close(fd);
}

static void test_gone_process(void **state)
{
	(void)state;
	assert_int_equal(ns_net_differs(GONE_PID), -ENOENT);
	assert_int_equal(ns_socket(GONE_PID, AF_INET, SOCK_STREAM, 0), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_namespace),
		cmocka_unit_test(test_gone_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
