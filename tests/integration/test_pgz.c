// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the parallel gzip writer (agent/store/pgz.c): round trips of random and
 * snapshot data across block boundaries, read back by zlib and by /bin/gzip; the size
 * against gzip -6 of the same bytes; the dictionary carried across blocks; failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <zlib.h>

#include "snapshot_fixture.h"
#include "store/pgz.h"

#define BLOCK PGZ_MIN_BLOCK_BYTES

struct sink_buf {
	unsigned char *data;
	size_t len, cap;
	size_t fail_after;         /* 0: never fail */
};

static int to_memory(const void *buf, size_t len, void *ctx)
{
	struct sink_buf *s = ctx;

	if (s->fail_after && s->len + len > s->fail_after)
		return -ENOSPC;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->data = realloc(s->data, s->cap);
		assert_non_null(s->data);
	}
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	return 0;
}

/* Compress in uneven pieces (chunk bytes at a time), every block at `level`. */
static int compress_pgz(const unsigned char *in, size_t len, int level, unsigned threads, size_t chunk,
			struct sink_buf *out)
{
	struct pgz_opts o = { .level = level, .threads = threads, .block_bytes = BLOCK, .fixed_level = true };
	struct pgz *z;
	int rc = pgz_new(&o, to_memory, out, &z);

	assert_int_equal(rc, 0);
	for (size_t off = 0; off < len && rc == 0; off += chunk)
		rc = pgz_write(z, in + off, len - off < chunk ? len - off : chunk);
	if (rc == 0)
		rc = pgz_finish(z);
	if (rc == 0)
		assert_int_equal(pgz_out_bytes(z), out->len);
	pgz_free(z);
	return rc;
}

/* zlib's gzip reader: the whole stream (CRC and length checked) and nothing after it. */
static void assert_inflates_to(const struct sink_buf *gz, const unsigned char *want, size_t len)
{
	unsigned char *got = malloc(len + 1);
	z_stream s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(inflateInit2(&s, 15 + 16), Z_OK);
	s.next_in = gz->data;
	s.avail_in = (uInt)gz->len;
	s.next_out = got;
	s.avail_out = (uInt)len + 1;
	assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
	assert_int_equal(s.avail_in, 0);
	assert_int_equal(s.total_out, len);
	assert_memory_equal(got, want, len);
	inflateEnd(&s);
	free(got);
}

/* One gzip member made by zlib in one stream, the size pgz is held to. */
static size_t single_stream_size(const unsigned char *in, size_t len, int level)
{
	uLong cap = compressBound((uLong)len) + 64;
	unsigned char *out = malloc(cap);
	z_stream s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)len;
	s.next_out = out;
	s.avail_out = (uInt)cap;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	size_t n = s.total_out;
	deflateEnd(&s);
	free(out);
	return n;
}

static unsigned char *random_bytes(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);

	srand(seed);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)rand();
	return p;
}

static void test_random_round_trips(void **state)
{
	static const size_t sizes[] = { 0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, 9 * BLOCK + 5 };
	static const size_t chunks[] = { 7, 4096, 65536 + 3, 10 * BLOCK };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *in = random_bytes(sizes[i], (unsigned)i + 1);

		for (unsigned threads = 1; threads <= 3; threads++) {
			size_t chunk = chunks[(i + threads) % 4];
			struct sink_buf out = { 0 };

			assert_int_equal(compress_pgz(in, sizes[i], threads == 2 ? 1 : 6, threads, chunk, &out), 0);
			assert_inflates_to(&out, in, sizes[i]);
			free(out.data);
		}
		free(in);
	}
}

/* A 20 KiB pattern repeated: each block's start matches the end of the block before
 * it only through the dictionary, so the size shows that it is carried. */
static void test_dictionary_crosses_blocks(void **state)
{
	size_t len = 12 * BLOCK;
	unsigned char *pattern = random_bytes(20000, 99), *in = malloc(len);
	struct sink_buf out = { 0 };

	(void)state;
	for (size_t i = 0; i < len; i++)
		in[i] = pattern[i % 20000];
	assert_int_equal(compress_pgz(in, len, 6, 2, 65536, &out), 0);
	assert_inflates_to(&out, in, len);
	size_t single = single_stream_size(in, len, 6);
	print_message("repeated pattern: pgz %zu bytes, zlib single stream %zu\n", out.len, single);
	/* without the dictionary each block would pay the 20 KB pattern again */
	assert_true(out.len < single + 12 * 64);
	free(out.data);
	free(pattern);
	free(in);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static size_t file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (size_t)sb.st_size;
}

/* A real Node snapshot: /bin/gzip reads it back (gzip -t, gzip -dc), and it is no larger
 * than gzip -6 of the same bytes. */
static void test_snapshot_against_gzip(void **state)
{
	struct blob snap;
	char dir[] = "/tmp/hs-pgz-test-XXXXXX", raw[64], gz[64], back[64], ref[64], cmd[512];
	struct sink_buf out = { 0 };

	(void)state;
	if (fixture_snapshot_blob(fixture_node20(), &snap) < 0) {
		if (getenv("CI"))
			fail_msg("no node to make a snapshot with");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(raw, sizeof(raw), "%s/raw", dir);
	snprintf(gz, sizeof(gz), "%s/pgz.gz", dir);
	snprintf(back, sizeof(back), "%s/back", dir);
	snprintf(ref, sizeof(ref), "%s/ref.gz", dir);
	assert_int_equal(compress_pgz(snap.data, snap.len, 6, 2, 65536, &out), 0);
	assert_inflates_to(&out, snap.data, snap.len);
	write_file(raw, snap.data, snap.len);
	write_file(gz, out.data, out.len);
	snprintf(cmd, sizeof(cmd), "gzip -t %s && gzip -dc < %s > %s && cmp -s %s %s && gzip -6 -c %s > %s", gz,
		 gz, back, back, raw, raw, ref);
	assert_int_equal(system(cmd), 0);
	size_t single = single_stream_size(snap.data, snap.len, 6);
	print_message("snapshot %zu bytes: pgz -6 %zu, gzip -6 %zu (%.4fx), zlib single stream -6 %zu\n", snap.len,
		      out.len, file_size(ref), (double)out.len / (double)file_size(ref), single);
	assert_true(out.len <= file_size(ref) + 64);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(out.data);
	free(snap.data);
}

static void test_sink_failure_is_returned(void **state)
{
	size_t len = 6 * BLOCK;
	unsigned char *in = random_bytes(len, 7);
	struct sink_buf out = { .fail_after = BLOCK };

	(void)state;
	assert_int_equal(compress_pgz(in, len, 1, 2, 4096, &out), -ENOSPC);
	free(out.data);
	free(in);
}

static void test_bad_options(void **state)
{
	struct pgz_opts o = { .level = 6, .threads = 2, .block_bytes = BLOCK };
	struct pgz *z = (struct pgz *)&o;

	(void)state;
	o.level = 0;
	assert_int_equal(pgz_new(&o, to_memory, NULL, &z), -EINVAL);
	assert_null(z);
	o.level = 6;
	o.threads = 0;
	assert_int_equal(pgz_new(&o, to_memory, NULL, &z), -EINVAL);
	o.threads = 2;
	o.block_bytes = 4096;
	assert_int_equal(pgz_new(&o, to_memory, NULL, &z), -EINVAL);
	pgz_free(NULL);
}

/* Freed in the middle (a capture abandoned): blocks queued and in flight, no leak, no hang. */
static void test_free_midway(void **state)
{
	size_t len = 5 * BLOCK + 100;
	unsigned char *in = random_bytes(len, 3);
	struct pgz_opts o = { .level = 9, .threads = 2, .block_bytes = BLOCK };
	struct sink_buf out = { 0 };
	struct pgz *z;

	(void)state;
	assert_int_equal(pgz_new(&o, to_memory, &out, &z), 0);
	assert_int_equal(pgz_write(z, in, len), 0);
	pgz_free(z);
	free(out.data);
	free(in);
}

/* Text that deflates well but slowly at level 9: JSON-like records, random numbers. */
static unsigned char *records(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len + 64);
	size_t n = 0;

	srand(seed);
	while (n < len)
		n += (size_t)snprintf((char *)p + n, 64, "{\"id\":%d,\"name\":\"node%d\",\"size\":%d},\n",
				      rand() % 100000, rand() % 5000, rand() % 1000);
	return p;
}

/* Feeds `len` bytes in block-sized writes, sleeping pause_ms between them. */
static struct pgz *compress_adaptive(const unsigned char *in, size_t len, int level, unsigned threads,
				     int pause_ms, struct sink_buf *out)
{
	struct pgz_opts o = { .level = level, .threads = threads, .block_bytes = BLOCK };
	struct timespec pause = { 0, pause_ms * 1000000L };
	struct pgz *z;

	assert_int_equal(pgz_new(&o, to_memory, out, &z), 0);
	for (size_t off = 0; off < len; off += BLOCK) {
		assert_int_equal(pgz_write(z, in + off, len - off < BLOCK ? len - off : BLOCK), 0);
		if (pause_ms)
			nanosleep(&pause, NULL);
	}
	assert_int_equal(pgz_finish(z), 0);
	return z;
}

/* A producer far faster than level-9 deflate on one thread (everything in one write):
 * blocks queued while no worker is free go at level 1, and the stream they make with
 * the level-9 blocks reads back byte-exact (zlib checks the CRC and length). */
static void test_behind_goes_fast(void **state)
{
	size_t len = 24 * BLOCK;
	unsigned char *in = records(len, 5);
	struct sink_buf out = { 0 };
	struct pgz *z;

	(void)state;
	z = compress_adaptive(in, len, 9, 1, 0, &out);
	print_message("fast producer, level 9, 1 thread: %llu of %llu blocks at level 1\n",
		      (unsigned long long)pgz_fast_blocks(z), (unsigned long long)pgz_blocks(z));
	assert_int_equal(pgz_blocks(z), 24 + 1);
	assert_true(pgz_fast_blocks(z) > 0);
	assert_true(pgz_fast_blocks(z) < pgz_blocks(z));
	assert_inflates_to(&out, in, len);
	pgz_free(z);
	free(out.data);
	free(in);
}

/* A producer compression keeps up with (one block every 20 ms, two level-6 workers):
 * every block at the configured level. */
static void test_keeping_up_stays_at_level(void **state)
{
	size_t len = 12 * BLOCK;
	unsigned char *in = records(len, 6);
	struct sink_buf out = { 0 };
	struct pgz *z;

	(void)state;
	z = compress_adaptive(in, len, 6, 2, 20, &out);
	assert_int_equal(pgz_fast_blocks(z), 0);
	assert_inflates_to(&out, in, len);
	pgz_free(z);
	free(out.data);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_round_trips),
		cmocka_unit_test(test_dictionary_crosses_blocks),
		cmocka_unit_test(test_snapshot_against_gzip),
		cmocka_unit_test(test_sink_failure_is_returned),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_free_midway),
		cmocka_unit_test(test_behind_goes_fast),
		cmocka_unit_test(test_keeping_up_stays_at_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
