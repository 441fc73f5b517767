// SPDX-License-Identifier: Apache-2.0
/* Unit tests for agent/track/symbols.c: the name rule, and resolution against this very test
 * binary, which defines functions under V8-like mangled names (global, local-only as in
 * Node >= 24.11, and a .constprop clone). The offsets are checked by reading the file at
 * the returned offset and comparing with the function's bytes in memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "track/symbols.h"

/* Distinct bodies so the linker cannot fold them. */
__attribute__((noinline, used)) int fake_scavenge(int x) __asm__("_ZN2v88internal4Heap8ScavengeEv");
__attribute__((noinline, used)) int fake_scavenge(int x) { return x * 3 + 1; }

/* Local (hidden) symbol: only in .symtab. */
__attribute__((noinline, used)) static int fake_mark_compact(int x) __asm__("_ZN2v88internal4Heap11MarkCompactEv");
__attribute__((noinline, used)) static int fake_mark_compact(int x) { return x * 5 + 7; }

/* Only a clone exists. */
__attribute__((noinline, used)) int fake_perform(int x) __asm__("_ZN2v88internal4Heap24PerformGarbageCollectionENS0_16GarbageCollectorE.constprop.0");
__attribute__((noinline, used)) int fake_perform(int x) { return x * 11 - 2; }

static void check_offset(uint64_t offset, const void *fn)
{
	unsigned char file_bytes[16];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file_bytes, sizeof(file_bytes), (off_t)offset), sizeof(file_bytes));
	close(fd);
	assert_memory_equal(file_bytes, fn, sizeof(file_bytes));
}

static void test_name_rule(void **state)
{
	bool clone, cold;
	const char *p = "_ZN2v88internal4Heap14CollectGarbageE";

	(void)state;
	assert_true(symbols_name_matches("_ZN2v88internal4Heap14CollectGarbageENS0_15AllocationSpaceE", p, &clone, &cold));
	assert_false(clone);
	assert_true(symbols_name_matches("_ZN2v88internal4Heap14CollectGarbageEv.constprop.3", p, &clone, &cold));
	assert_true(clone);
	assert_false(cold);
	assert_true(symbols_name_matches("_ZN2v88internal4Heap14CollectGarbageEv.cold", p, &clone, &cold));
	assert_true(cold);
	assert_false(symbols_name_matches("_ZN2v88internal4Heap14CollectGarbageForTesting", "_ZN2v88internal4Heap14CollectGarbage", NULL, NULL));
	assert_false(symbols_name_matches("_ZN2v88internal4Heap13SizeOfObjectsEv", p, NULL, NULL));
	/* Plain names: exact or clone only. */
	assert_true(symbols_name_matches("foo", "foo", NULL, NULL));
	assert_true(symbols_name_matches("foo.isra.0", "foo", &clone, NULL));
	assert_true(clone);
	assert_false(symbols_name_matches("foobar", "foo", NULL, NULL));
}

static void test_resolve_self(void **state)
{
	struct sym_query q[] = {
		{ .prefix = "_ZN2v88internal4Heap8ScavengeE" },
		{ .prefix = "_ZN2v88internal4Heap11MarkCompactE" },
		{ .prefix = "_ZN2v88internal4Heap24PerformGarbageCollectionE" },
		{ .prefix = "_ZN2v88internal4Heap14CollectGarbageE" },
	};
	struct sym_file_info info;
	char err[256] = "";
	const struct sym_match *m;

	(void)state;
	assert_int_equal(symbols_resolve("/proc/self/exe", q, 4, &info, err, sizeof(err)), 3);
	assert_true(info.has_symtab);
	assert_true(info.function_symbols > 10);

	m = symbols_entry(&q[0]);
	assert_non_null(m);
	assert_false(m->clone);
	check_offset(m->offset, (const void *)fake_scavenge);

	m = symbols_entry(&q[1]);
	assert_non_null(m);
	assert_true(m->from_symtab);
	check_offset(m->offset, (const void *)fake_mark_compact);

	m = symbols_entry(&q[2]);
	assert_non_null(m);
	assert_true(m->clone);
	check_offset(m->offset, (const void *)fake_perform);

	assert_int_equal(q[3].count, 0);
	assert_null(symbols_entry(&q[3]));
	/* Keep the bodies referenced. */
	assert_int_equal(fake_scavenge(1) + fake_mark_compact(1) + fake_perform(1), 4 + 12 + 9);
}

static void test_errors(void **state)
{
	struct sym_query q[] = { { .prefix = "x" } };
	char err[256] = "";
	char path[] = "/tmp/test_symbols_XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(symbols_resolve("/nonexistent/node", q, 1, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\necho not elf\n", 23), 23);
	close(fd);
	assert_int_equal(symbols_resolve(path, q, 1, NULL, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not an ELF"));
	unlink(path);
}

static void test_dedupe_and_order(void **state)
{
	/* The exported test function is in both .symtab and .dynsym only if exported; in
	 * any case one address must yield one match. */
	struct sym_query q[] = { { .prefix = "_ZN2v88internal4Heap8ScavengeE" } };
	char err[256];

	(void)state;
	assert_int_equal(symbols_resolve("/proc/self/exe", q, 1, NULL, err, sizeof(err)), 1);
	assert_int_equal(q[0].count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rule),
		cmocka_unit_test(test_resolve_self),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_dedupe_and_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
