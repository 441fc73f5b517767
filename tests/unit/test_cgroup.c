// SPDX-License-Identifier: Apache-2.0
/* Unit tests for cgroup.c: /proc/PID/cgroup parsing and memory limits read from fake
 * cgroup trees (v2 unified, v2 hybrid, v1) built in a temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "track/cgroup.h"

#define MiB (1024ULL * 1024ULL)

struct tree {
	char root[128];
};

static void write_file(const char *root, const char *rel, const char *fmt, ...)
{
	char path[512], text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	/* mkdir -p of the parent */
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int make_tree(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "/tmp/hs-test-cgroup.XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	*state = t;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int remove_tree(void **state)
{
	struct tree *t = *state;
	int rc = nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return rc;
}

static void parse_v2_only(void **state)
{
	(void)state;
	struct cgroup_ref ref;
	assert_int_equal(cgroup_parse("0::/system.slice/app.service\n", &ref), 0);
	assert_string_equal(ref.v2_path, "/system.slice/app.service");
	assert_string_equal(ref.v1_path, "");
}

static void parse_hybrid_v1_memory(void **state)
{
	(void)state;
	struct cgroup_ref ref;
	const char *text = "9:name=systemd:/\n5:cpu,cpuacct:/x\n4:memory:/process_api/abc\n0::/\n";
	assert_int_equal(cgroup_parse(text, &ref), 0);
	assert_string_equal(ref.v1_path, "/process_api/abc");
	assert_string_equal(ref.v2_path, "/");
}

static void parse_v1_combined_controllers(void **state)
{
	(void)state;
	struct cgroup_ref ref;
	assert_int_equal(cgroup_parse("3:cpu,memory:/docker/123", &ref), 0);
	assert_string_equal(ref.v1_path, "/docker/123");
	/* "memoryx" or "name=memory" are not the memory controller */
	assert_int_equal(cgroup_parse("3:memoryx:/a\n4:name=memory:/b\n", &ref), -EINVAL);
	assert_int_equal(cgroup_parse("", &ref), -EINVAL);
	assert_int_equal(cgroup_parse("garbage without colons\n", &ref), -EINVAL);
}

/* Parse a /proc/PID/cgroup text, read the tree's memory limits into m: both succeed
 * and the version found is the one expected. */
static void read_ok(struct tree *t, const char *proc_cgroup, struct cgroup_mem *m, int version)
{
	struct cgroup_ref ref;

	assert_int_equal(cgroup_parse(proc_cgroup, &ref), 0);
	assert_int_equal(cgroup_memory_read(t->root, &ref, m), 0);
	assert_int_equal(m->version, version);
}

/* The binding level read: its limit, usage, reclaimable cache, path and limit file. */
static void assert_level(const struct cgroup_mem *m, unsigned long long limit, unsigned long long usage,
			 unsigned long long inactive, const char *binding, const char *limit_name)
{
	assert_int_equal(m->limit_bytes, limit);
	assert_int_equal(m->usage_bytes, usage);
	assert_int_equal(m->inactive_file_bytes, inactive);
	assert_string_equal(m->binding_path, binding);
	assert_string_equal(m->limit_name, limit_name);
}

static void v2_leaf_limit(void **state)
{
	struct tree *t = *state;
	struct cgroup_mem m;
	write_file(t->root, "cgroup.controllers", "cpuset cpu io memory pids\n");
	write_file(t->root, "app/memory.max", "%llu\n", 300 * MiB);
	write_file(t->root, "app/memory.current", "%llu\n", 100 * MiB);
	write_file(t->root, "app/memory.stat", "anon 90000000\nfile 10485760\ninactive_file %llu\nactive_file 0\n", 8 * MiB);
	read_ok(t, "0::/app\n", &m, 2);
	assert_level(&m, 300 * MiB, 100 * MiB, 8 * MiB, "/app", "cgroup memory.max");
}

static void v2_ancestor_is_tighter(void **state)
{
	struct tree *t = *state;
	struct cgroup_mem m;
	write_file(t->root, "cgroup.controllers", "memory\n");
	/* leaf: generous limit; parent: limit 1 GiB but siblings use 900 MiB of it */
	write_file(t->root, "pod/memory.max", "%llu\n", 1024 * MiB);
	write_file(t->root, "pod/memory.current", "%llu\n", 900 * MiB);
	write_file(t->root, "pod/app/memory.max", "%llu\n", 800 * MiB);
	write_file(t->root, "pod/app/memory.current", "%llu\n", 200 * MiB);
	write_file(t->root, "pod/app/leaf/memory.max", "max\n");
	write_file(t->root, "pod/app/leaf/memory.current", "%llu\n", 150 * MiB);
	read_ok(t, "0::/pod/app/leaf\n", &m, 2);
	assert_string_equal(m.binding_path, "/pod");
	assert_int_equal(m.limit_bytes, 1024 * MiB);
	assert_int_equal(m.usage_bytes, 900 * MiB);
}

static void v2_no_limit_anywhere(void **state)
{
	struct tree *t = *state;
	struct cgroup_mem m;
	write_file(t->root, "cgroup.controllers", "memory\n");
	write_file(t->root, "a/memory.max", "max\n");
	write_file(t->root, "a/memory.current", "123\n");
	read_ok(t, "0::/a/b\n", &m, 2); /* b has no memory files */
	assert_int_equal(m.limit_bytes, 0);
	assert_string_equal(m.binding_path, "");
}

static void v2_hybrid_unified(void **state)
{
	struct tree *t = *state;
	struct cgroup_mem m;
	write_file(t->root, "unified/cgroup.controllers", "memory pids\n");
	write_file(t->root, "unified/svc/memory.max", "%llu\n", 64 * MiB);
	write_file(t->root, "unified/svc/memory.current", "%llu\n", 10 * MiB);
	read_ok(t, "1:name=systemd:/svc\n0::/svc\n", &m, 2);
	assert_int_equal(m.limit_bytes, 64 * MiB);
}

static void v2_without_memory_controller(void **state)
{
	struct tree *t = *state;
	struct cgroup_mem m;
	write_file(t->root, "unified/cgroup.controllers", "hugetlb\n");
	write_file(t->root, "unified/svc/memory.max", "%llu\n", 64 * MiB); /* must be ignored */
	read_ok(t, "0::/svc\n", &m, 0);
	assert_int_equal(m.limit_bytes, 0);
}

static void v1_limit_and_unlimited_parent(void **state)
{
	struct tree *t = *state;
	struct cgroup_mem m;
	write_file(t->root, "memory/memory.limit_in_bytes", "9223372036854771712\n");
	write_file(t->root, "memory/memory.usage_in_bytes", "%llu\n", 5000 * MiB);
	write_file(t->root, "memory/docker/memory.limit_in_bytes", "9223372036854771712\n");
	write_file(t->root, "memory/docker/memory.usage_in_bytes", "%llu\n", 900 * MiB);
	write_file(t->root, "memory/docker/c1/memory.limit_in_bytes", "%llu\n", 512 * MiB);
	write_file(t->root, "memory/docker/c1/memory.usage_in_bytes", "%llu\n", 300 * MiB);
	write_file(t->root, "memory/docker/c1/memory.stat", "cache 1\ninactive_file 5\ntotal_inactive_file %llu\n", 20 * MiB);
	read_ok(t, "4:memory:/docker/c1\n0::/\n", &m, 1);
	assert_level(&m, 512 * MiB, 300 * MiB, 20 * MiB, "/docker/c1", "cgroup memory.limit_in_bytes");
}

static void unreadable_value_is_an_error(void **state)
{
	struct tree *t = *state;
	struct cgroup_ref ref;
	struct cgroup_mem m;
	write_file(t->root, "cgroup.controllers", "memory\n");
	write_file(t->root, "a/memory.max", "lots\n");
	write_file(t->root, "a/memory.current", "1\n");
	assert_int_equal(cgroup_parse("0::/a\n", &ref), 0);
	assert_int_equal(cgroup_memory_read(t->root, &ref, &m), -EINVAL);
	assert_int_equal(m.version, 0);
}

static void outside_namespace_is_an_error(void **state)
{
	struct tree *t = *state;
	struct cgroup_ref ref;
	struct cgroup_mem m;
	write_file(t->root, "cgroup.controllers", "memory\n");
	assert_int_equal(cgroup_parse("0::/../../other/app\n", &ref), 0);
	assert_int_equal(cgroup_memory_read(t->root, &ref, &m), -EXDEV);
	assert_int_equal(cgroup_parse("0::/a/..\n", &ref), 0);
	assert_int_equal(cgroup_memory_read(t->root, &ref, &m), -EXDEV);
	/* a name merely starting with two dots is fine */
	assert_int_equal(cgroup_parse("0::/..app\n", &ref), 0);
	assert_int_equal(cgroup_memory_read(t->root, &ref, &m), 0);
}

static void meminfo_available(void **state)
{
	struct tree *t = *state;
	char path[256];
	uint64_t avail = 0;
	write_file(t->root, "meminfo", "MemTotal:       24684000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n");
	snprintf(path, sizeof(path), "%s/meminfo", t->root);
	assert_int_equal(cgroup_host_mem_available(path, &avail), 0);
	assert_int_equal(avail, 2048 * 1024);
	write_file(t->root, "meminfo2", "MemTotal: 1 kB\n");
	snprintf(path, sizeof(path), "%s/meminfo2", t->root);
	assert_int_equal(cgroup_host_mem_available(path, &avail), -ENOENT);
	snprintf(path, sizeof(path), "%s/absent", t->root);
	assert_int_equal(cgroup_host_mem_available(path, &avail), -ENOENT);
}

static void live_self_and_gone_pid(void **state)
{
	(void)state;
	struct cgroup_mem m;
	uint64_t avail = 0;
	/* whatever this machine has, reading ourselves must work */
	assert_int_equal(cgroup_memory_of_pid(NULL, getpid(), &m), 0);
	assert_int_equal(cgroup_host_mem_available(NULL, &avail), 0);
	assert_true(avail > 0);
	assert_int_equal(cgroup_memory_of_pid(NULL, 0x3ffffff0, &m), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_v2_only),
		cmocka_unit_test(parse_hybrid_v1_memory),
		cmocka_unit_test(parse_v1_combined_controllers),
		cmocka_unit_test_setup_teardown(v2_leaf_limit, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(v2_ancestor_is_tighter, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(v2_no_limit_anywhere, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(v2_hybrid_unified, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(v2_without_memory_controller, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(v1_limit_and_unlimited_parent, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(unreadable_value_is_an_error, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(outside_namespace_is_an_error, make_tree, remove_tree),
		cmocka_unit_test_setup_teardown(meminfo_available, make_tree, remove_tree),
		cmocka_unit_test(live_self_and_gone_pid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
