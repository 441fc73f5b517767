// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the streaming snapshot verifier (agent/snapshot/verify.c): whole,
 * byte-by-byte and randomly split input; truncation at every/many offsets; corrupted
 * and empty input; real Node 20 (7 node fields) and Node 24 (6 fields) snapshots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snapshot_fixture.h"
#include "snapshot/verify.h"

static struct blob tiny, node20, node24;

/* Feed data in pieces: piece = 0 means random sizes (seeded), else that size. */
static int verify_pieces(const unsigned char *data, size_t len, size_t piece, unsigned seed,
			 struct snap_verify_info *info, char *err, size_t errlen)
{
	struct snap_verify *v = snap_verify_new();
	size_t off = 0;
	int rc;

	assert_non_null(v);
	srand(seed);
	while (off < len) {
		size_t n = piece ? piece : 1 + (size_t)rand() % 70000;

		if (rand() % 4 == 0 && !piece)
			n = 1 + (size_t)rand() % 7;  /* small pieces cut tokens often */
		if (n > len - off)
			n = len - off;
		if (snap_verify_feed(v, data + off, n) < 0)
			break;
		off += n;
	}
	rc = snap_verify_finish(v, info, err, errlen);
	snap_verify_free(v);
	return rc;
}

static int verify_text(const char *text, char *err, size_t errlen)
{
	return verify_pieces((const unsigned char *)text, strlen(text), 0, 1, NULL, err, errlen);
}

static void test_tiny_whole_and_byte_by_byte(void **state)
{
	struct snap_verify_info info;
	char err[256];

	(void)state;
	assert_int_equal(verify_pieces(tiny.data, tiny.len, tiny.len, 0, &info, err, sizeof(err)), 0);
	assert_int_equal(info.node_fields, 7);
	assert_int_equal(info.edge_fields, 3);
	assert_int_equal(info.node_count, 2);
	assert_int_equal(info.nodes_len, 14);
	assert_int_equal(info.edges_len, 3);
	assert_int_equal(info.strings, 4);
	assert_int_equal(info.bytes, tiny.len);
	assert_int_equal(verify_pieces(tiny.data, tiny.len, 1, 0, &info, err, sizeof(err)), 0);
	for (unsigned seed = 1; seed < 50; seed++)
		assert_int_equal(verify_pieces(tiny.data, tiny.len, 0, seed, NULL, err, sizeof(err)), 0);
}

/* Every proper prefix that cuts the closing brace is rejected, byte by byte too. */
static void test_tiny_truncated_everywhere(void **state)
{
	size_t end = tiny.len;
	char err[256];

	(void)state;
	while (end > 0 && tiny.data[end - 1] != '}')
		end--;
	for (size_t cut = 0; cut < end; cut++) {
		assert_int_equal(verify_pieces(tiny.data, cut, 0, (unsigned)cut, NULL, err, sizeof(err)), -EINVAL);
		assert_int_equal(verify_pieces(tiny.data, cut, 1, 0, NULL, err, sizeof(err)), -EINVAL);
	}
}

static void test_empty_input(void **state)
{
	struct snap_verify *v = snap_verify_new();
	char err[256];

	(void)state;
	assert_int_equal(snap_verify_feed(v, "", 0), 0);
	assert_int_equal(snap_verify_finish(v, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty snapshot (0 bytes)");
	snap_verify_free(v);
	assert_int_equal(verify_text("  \n", err, sizeof(err)), -EINVAL);
}

/* The tiny snapshot with one substitution: FROM (first occurrence) -> TO. */
static int verify_edited(const char *from, const char *to, char *err, size_t errlen)
{
	char *text = calloc(1, tiny.len + strlen(to) + 1), *at;
	int rc;

	assert_non_null(text);
	memcpy(text, tiny.data, tiny.len);
	at = strstr(text, from);
	assert_non_null(at);
	memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	memcpy(at, to, strlen(to));
	rc = verify_text(text, err, errlen);
	free(text);
	return rc;
}

static void expect_rejected(const char *from, const char *to, const char *reason_part)
{
	char err[256];

	if (verify_edited(from, to, err, sizeof(err)) != -EINVAL)
		fail_msg("edit '%s' -> '%s' was accepted", from, to);
	if (!strstr(err, reason_part))
		fail_msg("edit '%s' -> '%s': reason '%s' lacks '%s'", from, to, err, reason_part);
}

static void test_corrupted(void **state)
{
	(void)state;
	expect_rejected(",1,2,3,16,0,0,0]", ",1,2,3,16,0,0]",
			"nodes has 13 numbers, expected 14 (node_count 2 x 7 fields)");
	expect_rejected("\"node_count\":2", "\"node_count\":3", "nodes has 14 numbers, expected 21");
	expect_rejected("[1,2,7]", "[1,2,7,0]", "edges has 4 numbers, expected 3 (edge_count 1 x 3 fields)");
	expect_rejected("[1,2,7]", "[1,\"2\",7]", "in edges: an element is not a number");
	expect_rejected("[1,2,7]", "[1,2,,7]", "in edges");
	expect_rejected("[1,2,7]", "[1,02,7]", "leading zero");
	expect_rejected("[1,2,7]", "[1,2-,7]", "in edges");
	expect_rejected("[1,2,7]", "[1,2,7}", "mismatched");
	expect_rejected("\"Foo\"", "\"F\x01oo\"", "control character");
	expect_rejected("\"Foo\"", "\"F\\xoo\"", "bad escape");
	expect_rejected("\\u00e9", "\\u00g9", "bad \\u escape digit");
	expect_rejected("\"node_count\":2", "\"node_count\":-2", "not a non-negative integer");
	expect_rejected("\"node_count\":2", "\"node_count\":2.5", "not a non-negative integer");
	expect_rejected("\"node_count\":2", "\"node_count\":\"2\"", "expected a number");
	expect_rejected("\"nodes\":[", "\"nodes\":{\"a\":", "expected an array");
	expect_rejected("\"node_fields\"", "\"node_fieldz\"", "no snapshot.meta.node_fields");
	expect_rejected("\"edge_count\":1", "\"edge_counts\":1", "no snapshot.node_count/edge_count");
	expect_rejected("\"strings\":[\"\",", "\"strings\":[tru,", "bad literal");
	expect_rejected("\"Foo\",\"\"]}", "\"Foo\",\"\"]}}", "data after the end");
	expect_rejected("\"Foo\",\"\"]}", "\"Foo\",\"\"]}x", "data after the end");
	expect_rejected("{\"snapshot\"", "[{\"snapshot\"", "top level must be an object");
}

static void test_literals_and_numbers_accepted(void **state)
{
	char err[256];

	(void)state;
	/* Other members may hold any JSON value; nodes may hold any JSON number. */
	assert_int_equal(verify_edited("\"samples\":[]", "\"samples\":[true,false,null,-1.5e+3,0.25,{}]",
				       err, sizeof(err)), 0);
	assert_int_equal(verify_edited("[1,2,7]", "[ 1 ,\t2.0e0 ,\r\n-7 ]", err, sizeof(err)), 0);
}

static void test_deep_nesting_bounded(void **state)
{
	char text[512] = "{\"a\":", err[256];

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(text, "[");
	assert_int_equal(verify_text(text, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nesting deeper than 64"));
}

static void check_real_snapshot(const struct blob *b, unsigned fields)
{
	struct snap_verify_info info;
	char err[256];

	assert_int_equal(verify_pieces(b->data, b->len, 65536, 0, &info, err, sizeof(err)), 0);
	assert_int_equal(info.node_fields, fields);
	assert_int_equal(info.edge_fields, 3);
	assert_true(info.node_count > 1000);
	assert_int_equal(info.nodes_len, info.node_count * fields);
	assert_int_equal(info.edges_len, info.edge_count * 3);
	assert_true(info.strings > 100);
	assert_int_equal(verify_pieces(b->data, b->len, 1, 0, NULL, err, sizeof(err)), 0);
	for (unsigned seed = 1; seed <= 5; seed++)
		assert_int_equal(verify_pieces(b->data, b->len, 0, seed, NULL, err, sizeof(err)), 0);
}

/* Cuts at many offsets (spread over the file plus around every section start). */
static void check_real_truncations(const struct blob *b)
{
	static const char *const marks[] = { "\"nodes\":", "\"edges\":", "\"strings\":", "\"locations\":" };
	char err[256];
	size_t cuts = 0;

	for (size_t i = 0; i < 41; i++) {
		size_t cut = b->len * i / 41;

		assert_int_equal(verify_pieces(b->data, cut, 0, (unsigned)i, NULL, err, sizeof(err)), -EINVAL);
		cuts++;
	}
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		unsigned char *at = memmem(b->data, b->len, marks[m], strlen(marks[m]));

		assert_non_null(at);
		for (size_t d = 0; d < 12; d++) {
			size_t cut = (size_t)(at - b->data) + d;

			assert_int_equal(verify_pieces(b->data, cut, 0, (unsigned)d, NULL, err, sizeof(err)), -EINVAL);
			cuts++;
		}
	}
	/* the last bytes: the closing brackets */
	for (size_t d = 1; d < 8; d++)
		assert_int_equal(verify_pieces(b->data, b->len - d, 0, 3, NULL, err, sizeof(err)), -EINVAL);
	/* a cut in the middle of nodes says so */
	{
		unsigned char *nodes = memmem(b->data, b->len, "\"nodes\":[", 9);
		unsigned char *edges = memmem(b->data, b->len, "\"edges\":[", 9);
		size_t mid = (size_t)(nodes - b->data) + (size_t)(edges - nodes) / 2;

		assert_int_equal(verify_pieces(b->data, mid, 0, 9, NULL, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "truncated inside nodes"));
	}
	assert_true(cuts > 80);
}

static void test_node20_snapshot(void **state)
{
	(void)state;
	if (!node20.data)
		skip();
	check_real_snapshot(&node20, 7);
	check_real_truncations(&node20);
}

static void test_node24_snapshot(void **state)
{
	(void)state;
	if (!node24.data) {
		print_message("node 24 not found: set HEAPSNAP_NODE24 or see tests/unit/snapshot_fixture.h\n");
		skip();
	}
	check_real_snapshot(&node24, 6);
	check_real_truncations(&node24);
}

static void test_corrupted_real_snapshot(void **state)
{
	unsigned char *copy, *nodes;
	char err[256];

	(void)state;
	if (!node20.data)
		skip();
	copy = malloc(node20.len);
	assert_non_null(copy);
	memcpy(copy, node20.data, node20.len);
	nodes = memmem(copy, node20.len, "\"nodes\":[", 9);
	assert_non_null(nodes);
	nodes[20] = 'x';  /* a letter in the middle of the numbers */
	assert_int_equal(verify_pieces(copy, node20.len, 0, 5, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "in nodes"));
	free(copy);
}

static int group_setup(void **state)
{
	char buf[4096];

	(void)state;
	if (fixture_tiny(&tiny) < 0) {
		fprintf(stderr, "cannot read tests/fixtures/tiny.heapsnapshot (set HEAPSNAP_ROOT)\n");
		return -1;
	}
	fixture_snapshot_blob(fixture_node20(), &node20);
	fixture_snapshot_blob(fixture_node24(buf, sizeof(buf)), &node24);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(tiny.data);
	free(node20.data);
	free(node24.data);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny_whole_and_byte_by_byte),
		cmocka_unit_test(test_tiny_truncated_everywhere),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_literals_and_numbers_accepted),
		cmocka_unit_test(test_deep_nesting_bounded),
		cmocka_unit_test(test_node20_snapshot),
		cmocka_unit_test(test_node24_snapshot),
		cmocka_unit_test(test_corrupted_real_snapshot),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
