// SPDX-License-Identifier: Apache-2.0
/* The pure parts of the inspector connect guard (agent/capture/inspector/connect_guard.c): finding the
 * cgroup v2 root in a mount table, and which inspector hosts a guard can protect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "capture/inspector/connect_guard.h"

/* This machine's table: cgroup v1 controllers with cgroup2 beside them. */
static const char hybrid[] =
	"sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
	"cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

static void test_hybrid(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(cgroup2_mount_find(hybrid, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
}

static void test_unified_first_wins(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(cgroup2_mount_find("cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n"
					    "none /mnt/other cgroup2 rw 0 0\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
}

static void test_none(void **state)
{
	char out[256];
	(void)state;
	/* cgroup (v1) and a device literally named cgroup2 are not cgroup2 file systems. */
	assert_int_equal(cgroup2_mount_find("cgroup2 /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
					    "proc /proc proc rw 0 0", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup2_mount_find("", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup2_mount_find("garbage\n\n  \n", out, sizeof(out)), -ENOENT);
}

static void test_escapes_and_limits(void **state)
{
	char out[256], tiny[8];
	(void)state;
	assert_int_equal(cgroup2_mount_find("cg /run/my\\040cgroups\\011x cgroup2 rw 0 0", out, sizeof(out)), 0);
	assert_string_equal(out, "/run/my cgroups\tx");
	assert_int_equal(cgroup2_mount_find("cg /a/long/path cgroup2 rw 0 0", tiny, sizeof(tiny)), -ENAMETOOLONG);
	/* A trailing backslash without digits is kept as it is. */
	assert_int_equal(cgroup2_mount_find("cg /x\\ cgroup2 rw 0 0", out, sizeof(out)), 0);
	assert_string_equal(out, "/x\\");
	/* No newline at the end, tabs as separators. */
	assert_int_equal(cgroup2_mount_find("cg\t/y\tcgroup2\trw", out, sizeof(out)), 0);
	assert_string_equal(out, "/y");
}

static void test_loopback_hosts(void **state)
{
	(void)state;
	assert_true(inspect_host_is_loopback(""));
	assert_true(inspect_host_is_loopback("localhost"));
	assert_true(inspect_host_is_loopback("127.0.0.1"));
	assert_true(inspect_host_is_loopback("127.1.2.3"));
	assert_true(inspect_host_is_loopback("::1"));
	assert_true(inspect_host_is_loopback("[::1]"));
	assert_true(inspect_host_is_loopback("::ffff:127.0.0.1"));
	assert_false(inspect_host_is_loopback("0.0.0.0"));
	assert_false(inspect_host_is_loopback("::"));
	assert_false(inspect_host_is_loopback("[::]"));
	assert_false(inspect_host_is_loopback("10.0.0.5"));
	assert_false(inspect_host_is_loopback("example.com"));
	assert_false(inspect_host_is_loopback("["));
	assert_false(inspect_host_is_loopback("128.0.0.1"));
}

/* /proc/self/mountinfo: only a cgroup2 mount of the hierarchy's root ("/") will do. */
static void test_hierarchy_root(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(cgroup2_hierarchy_root_find(
		"25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
		"35 25 0:30 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory\n"
		"36 25 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n",
		out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	/* A container's view: its own subtree mounted; below the root, said with the first one. */
	assert_int_equal(cgroup2_hierarchy_root_find(
		"40 30 0:31 /kubepods/pod1 /sys/fs/cgroup ro - cgroup2 cgroup rw\n"
		"41 30 0:31 /.. /mnt/cg rw - cgroup2 cgroup rw\n", out, sizeof(out)), -EXDEV);
	assert_string_equal(out, "/sys/fs/cgroup");
	/* A later mount of the root wins over an earlier one below it; escapes decoded. */
	assert_int_equal(cgroup2_hierarchy_root_find(
		"40 30 0:31 /sub /a rw - cgroup2 cgroup rw\n"
		"41 30 0:31 / /run/my\\040cg rw master:1 - cgroup2 none rw\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/run/my cg");
	/* cgroup v1 only, an fstype that only starts with cgroup2, garbage. */
	assert_int_equal(cgroup2_hierarchy_root_find("35 25 0:30 / /c rw - cgroup cgroup rw\n", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(cgroup2_hierarchy_root_find("35 25 0:30 / /c rw - cgroup2x x rw\n", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(cgroup2_hierarchy_root_find("garbage - cgroup2\n\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup2_hierarchy_root_find("", out, sizeof(out)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_unified_first_wins),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_escapes_and_limits),
		cmocka_unit_test(test_loopback_hosts),
		cmocka_unit_test(test_hierarchy_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
