// SPDX-License-Identifier: Apache-2.0
/* Test helper: a process's start time (field 22 of /proc/PID/stat), read
 * independently of the code under test (header-only, shared by test_pidfd and
 * test_capture_signal). Include after <cmocka.h>. */
#ifndef HS_TEST_PROC_FIXTURE_H
#define HS_TEST_PROC_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static uint64_t start_time_of(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	assert_non_null(p);
	unsigned long long v = 0;
	/* after ") ": state is field 3, start time field 22 */
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
				"%*d %*d %*d %*d %*d %*d %llu", &v), 1);
	return v;
}

#endif
