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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* The file's owner truncates it and writes it back, over and over, while the agent
 * resolves symbols in it: a mapping of the file would fault (SIGBUS kills the test);
 * pread sees a short file and fails cleanly. */
struct flipper {
	int fd;
	const char *image;
	size_t size;
	atomic_bool stop;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;

	while (!atomic_load(&f->stop)) {
		assert_int_equal(ftruncate(f->fd, 4096), 0);
		assert_int_equal(pwrite(f->fd, f->image + 4096, f->size - 4096, 4096), (ssize_t)(f->size - 4096));
	}
	return NULL;
}

static char *read_self(size_t *size)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *image;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	image = malloc((size_t)st.st_size);
	assert_non_null(image);
	assert_int_equal(pread(fd, image, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return image;
}

static void test_truncated_while_read(void **state)
{
	struct sym_query q[] = { { .prefix = "_ZN2v88internal4Heap8ScavengeE" } };
	char path[] = "/tmp/test_symbols_trunc_XXXXXX", err[256];
	struct flipper f = { .stop = false };
	struct timespec t0, t;
	pthread_t th;
	int ok = 0, failed = 0;

	(void)state;
	f.image = read_self(&f.size);
	f.fd = mkstemp(path);
	assert_true(f.fd >= 0);
	assert_int_equal(pwrite(f.fd, f.image, f.size, 0), (ssize_t)f.size);
	assert_int_equal(pthread_create(&th, NULL, flip, &f), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (symbols_resolve(path, q, 1, NULL, err, sizeof(err)) == 1)
			ok++;
		else
			failed++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	close(f.fd);
	unlink(path);
	free((void *)f.image);
	print_message("resolved %d times, failed cleanly %d times\n", ok, failed);
	assert_true(ok + failed > 10);
}

/* A FIFO where a file is expected: refused at once, not waited on. */
static void test_fifo(void **state)
{
	struct sym_query q[] = { { .prefix = "x" } };
	char dir[] = "/tmp/test_symbols_fifo_XXXXXX", path[64], err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libnode.so", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(symbols_resolve(path, q, 1, NULL, err, sizeof(err)), -EINVAL);
	alarm(0);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rule),
		cmocka_unit_test(test_resolve_self),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_dedupe_and_order),
		cmocka_unit_test(test_truncated_while_read),
		cmocka_unit_test(test_fifo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
