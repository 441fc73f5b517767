// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the streaming snapshot parser: both field layouts, fields located
 * through meta, whitespace anywhere, string escapes, gzip and plain files, and
 * every truncation and several corruptions reported as errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "snapshot/parse.h"
#include "graph_fixture.h"

static const struct fx_node small_nodes[] = {
	{ "synthetic", "", 1, 0 },
	{ "object", "Foo", 3, 32 },
	{ "string", "hello", 5, 24 },
	{ "native", "Node / Thing", 7, 0 },
};
static const struct fx_edge small_edges[] = {
	{ 0, 1, "element", "1" },
	{ 1, 2, "property", "greeting" },
	{ 1, 3, "internal", "native" },
	{ 0, 3, "weak", "w" },
};

static char *small_json(int six)
{
	return fx_snapshot_json(small_nodes, 4, small_edges, 4, six);
}

static void check_small(const struct hs_snapshot *s)
{
	assert_int_equal(s->node_count, 4);
	assert_int_equal(s->edge_count, 4);
	assert_string_equal(hs_snapshot_node_type_name(s, 1), "object");
	assert_string_equal(hs_snapshot_string(s, s->node_name[1]), "Foo");
	assert_int_equal(s->node_id[2], 5);
	assert_int_equal(s->node_self_size[1], 32);
	/* root owns edges 0..1 (element, weak), Foo owns 2..3 */
	assert_int_equal(s->first_edge[0], 0);
	assert_int_equal(s->first_edge[1], 2);
	assert_int_equal(s->first_edge[2], 4);
	assert_int_equal(s->first_edge[4], 4);
	assert_int_equal(s->edge_to[0], 1);
	assert_int_equal(s->edge_type[0], s->e_element);
	assert_int_equal(s->edge_name[0], 1);
	assert_int_equal(s->edge_type[1], s->e_weak);
	assert_string_equal(hs_snapshot_string(s, s->edge_name[2]), "greeting");
	assert_int_equal(s->edge_to[2], 2);
	assert_int_equal(s->t_native, 8);
}

static void test_seven_fields(void **state)
{
	(void)state;
	char *j = small_json(0), err[256];
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), 0);
	check_small(s);
	hs_snapshot_free(s);
	free(j);
}

static void test_six_fields(void **state)
{
	(void)state;
	char *j = small_json(1), err[256];
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), 0);
	check_small(s);
	hs_snapshot_free(s);
	free(j);
}

/* Field order comes from meta, strings may come before nodes' consumers, blanks anywhere. */
static void test_reordered_fields_and_whitespace(void **state)
{
	(void)state;
	const char *j =
		" { \"snapshot\" : { \"node_count\" : 2 , \"meta\" : {\n"
		"  \"node_fields\" : [ \"id\" , \"edge_count\" , \"type\" , \"self_size\" , \"name\" ] ,\n"
		"  \"node_types\" : [ \"number\" , \"number\" , [ \"hidden\" , \"object\" ] , \"number\" , \"string\" ] ,\n"
		"  \"edge_fields\" : [ \"to_node\" , \"type\" , \"name_or_index\" ] ,\n"
		"  \"edge_types\" : [ \"node\" , [ \"property\" , \"weak\" ] , \"string_or_number\" ] ,\n"
		"  \"extra\" : { \"nested\" : [ 1 , [ 2 , { } ] , \"x\\\"]\" , true , null , -1.5e3 ] } } ,\n"
		"  \"edge_count\" : 1 } ,\r\n\t\"nodes\" : [ 11 , 1 , 0 , 0 , 0 ,\n 13 , 0 , 1 , 40 , 1 ] ,"
		" \"edges\" : [ 5 , 0 , 2 ] , \"samples\" : [ ] ,"
		" \"strings\" : [ \"\" , \"Bar\" , \"prop\" ] } ";
	char err[256];
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s->node_count, 2);
	assert_int_equal(s->node_id[1], 13);
	assert_int_equal(s->node_type[1], s->t_object);
	assert_int_equal(s->node_self_size[1], 40);
	assert_string_equal(hs_snapshot_string(s, s->node_name[1]), "Bar");
	assert_int_equal(s->edge_to[0], 1);
	assert_string_equal(hs_snapshot_string(s, s->edge_name[0]), "prop");
	assert_int_equal(s->t_code, HS_TYPE_NONE);
	hs_snapshot_free(s);
}

static void test_string_escapes(void **state)
{
	(void)state;
	const char *j =
		"{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"],"
		"\"node_types\":[[\"object\"]],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
		"\"edge_types\":[[\"property\"]]}},\"nodes\":[0,1,1,8,0],\"edges\":[],"
		"\"strings\":[\"\",\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\\t lone:\\udc00 \\ud800x\"]}";
	char err[256];
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), 0);
	assert_string_equal(hs_snapshot_string(s, 1),
			    "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \n\t lone:\xef\xbf\xbd \xef\xbf\xbdx");
	assert_string_equal(hs_snapshot_string(s, 99), "");
	hs_snapshot_free(s);
}

static void test_every_truncation_fails(void **state)
{
	(void)state;
	char *j = small_json(0), err[256];
	size_t len = strlen(j);
	size_t end = len;
	while (end > 0 && (j[end - 1] == '\n' || j[end - 1] == ' '))
		end--; /* trailing blanks after the closing brace are not content */
	size_t edges_at = (size_t)(strstr(j, "\"edges\"") - j) + 10;
	for (size_t cut = 0; cut < end; cut++) {
		struct hs_snapshot *s = NULL;
		int rc = hs_snapshot_parse_mem(j, cut, 0, &s, err, sizeof(err));
		if (rc == 0)
			fail_msg("prefix of %zu bytes parsed", cut);
		assert_null(s);
		if (cut == edges_at)
			assert_string_equal(err, "truncated snapshot (inside edges)");
	}
	free(j);
}

static void expect_malformed(const char *j, const char *needle)
{
	char err[256];
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), -EINVAL);
	assert_null(s);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

#define META "{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"]," \
	"\"node_types\":[[\"object\"]],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"]," \
	"\"edge_types\":[[\"property\"]]}"

static void test_corruptions(void **state)
{
	(void)state;
	expect_malformed(META "},\"nodes\":[0,0,1,0,1],\"edges\":[0,0,3],\"strings\":[\"\"]}", "is not a node");
	expect_malformed(META "},\"nodes\":[0,0,1,0,1],\"edges\":[0,0,5],\"strings\":[\"\"]}", "is not a node");
	expect_malformed(META "},\"nodes\":[0,0,1,0,2],\"edges\":[0,0,0],\"strings\":[\"\"]}", "edge counts say");
	expect_malformed(META "},\"nodes\":[0,0,1,0],\"edges\":[],\"strings\":[\"\"]}", "multiple of 5");
	expect_malformed(META "},\"nodes\":[3,0,1,0,0],\"edges\":[],\"strings\":[\"\"]}", "node type 3 out of range");
	expect_malformed(META ",\"node_count\":2},\"nodes\":[0,0,1,0,0],\"edges\":[],\"strings\":[\"\"]}", "node_count says 2");
	expect_malformed(META "},\"nodes\":[0,0,-1,0,0],\"edges\":[],\"strings\":[\"\"]}", "unsigned integer");
	expect_malformed(META "},\"nodes\":[0,0,99999999999999999999,0,0],\"edges\":[],\"strings\":[]}", "too large");
	expect_malformed("{\"nodes\":[0,0,1,0,0]}", "no snapshot.meta");
	expect_malformed(META "},\"nodes\":[0,0,1,0,0],\"strings\":[\"\"]}", "no edges array");
	expect_malformed(META "},\"edges\":[],\"nodes\":[0,0,1,0,0]}", "edges before nodes");
	expect_malformed(META "},\"nodes\":[0,0,1,0,0] \"edges\":[]}", "expected ',' or '}'");
	expect_malformed("[1,2]", "expected '{'");
	expect_malformed(META "},\"nodes\":[0,0,1,0,0],\"edges\":[],\"strings\":[\"\\x\"]}", "bad escape");
}

static char *write_temp(const char *data, size_t len, int gz)
{
	char *path = strdup("/tmp/hs-test-parse-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	if (gz) {
		gzFile g = gzdopen(fd, "wb");
		assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
		gzclose(g);
	} else {
		assert_int_equal(write(fd, data, len), (ssize_t)len);
		close(fd);
	}
	return path;
}

static void test_files_plain_and_gzip(void **state)
{
	(void)state;
	char *j = small_json(1), err[256];
	for (int gz = 0; gz < 2; gz++) {
		char *path = write_temp(j, strlen(j), gz);
		struct hs_snapshot *s = NULL;
		assert_int_equal(hs_snapshot_load(path, 0, &s, err, sizeof(err)), 0);
		check_small(s);
		assert_int_equal(s->input_bytes, strlen(j) - 1); /* up to the closing brace */
		hs_snapshot_free(s);
		/* edges validated but not kept */
		assert_int_equal(hs_snapshot_load(path, HS_PARSE_SKIP_EDGES, &s, err, sizeof(err)), 0);
		assert_null(s->edge_to);
		assert_int_equal(s->edge_count, 4);
		hs_snapshot_free(s);
		/* targets and types kept, names dropped */
		assert_int_equal(hs_snapshot_load(path, HS_PARSE_SKIP_EDGE_NAMES, &s, err, sizeof(err)), 0);
		assert_null(s->edge_name);
		assert_int_equal(s->edge_to[2], 2);
		assert_int_equal(s->edge_type[1], s->e_weak);
		hs_snapshot_free(s);
		unlink(path);
		free(path);
	}
	free(j);
}

static void test_truncated_gzip_file(void **state)
{
	(void)state;
	char *j = small_json(0), err[256];
	char *full = write_temp(j, strlen(j), 1);
	FILE *f = fopen(full, "rb");
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	char *cut = write_temp(buf, n / 2, 0); /* half the gzip stream */
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_load(cut, 0, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated snapshot (inside"));
	assert_int_equal(hs_snapshot_load("/nonexistent/x", 0, &s, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "No such file or directory");
	unlink(full);
	unlink(cut);
	free(full);
	free(cut);
	free(j);
}

/* Numbers and strings split across the 1 MiB read chunks. */
static void test_large_input_spans_chunks(void **state)
{
	(void)state;
	size_t n = 200000;
	/* a chain of n objects, written here (the fixture is quadratic in edges) */
	char *j = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&j, &len);
	fputs(META ",\"node_count\":200000},\"nodes\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s0,1,%zu,%zu,%d", i ? "," : "", 2 * i + 1, 1000000 + i, i + 1 < n);
	fputs("],\"edges\":[", f);
	for (size_t i = 1; i < n; i++)
		fprintf(f, "%s0,2,%zu", i > 1 ? "," : "", i * 5);
	fputs("],\"strings\":[\"\",\"Thing\",\"next\"]}", f);
	fclose(f);
	char *path = write_temp(j, len, 1), err[256];
	struct hs_snapshot *s = NULL;
	assert_int_equal(hs_snapshot_load(path, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s->node_count, n);
	assert_int_equal(s->edge_count, n - 1);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->node_id[i], 2 * i + 1);
		assert_int_equal(s->node_self_size[i], 1000000 + i);
	}
	assert_int_equal(s->edge_to[n - 2], n - 1);
	hs_snapshot_free(s);
	unlink(path);
	free(path);
	free(j);
}

/* Self sizes are held in 32 bits; 4 GiB and more (an ArrayBuffer's backing store)
 * come back exact from the side table. The summary's flag drops the node ids only. */
static void test_big_self_sizes_and_no_ids(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 0, 5000000000ull, 4294967295ull, 4294967294ull, 7, 1ull << 40 };
	const char *j = META "},\"nodes\":[0,0,1,0,0,0,0,3,5000000000,0,0,0,5,4294967295,0,"
		"0,0,7,4294967294,0,0,0,9,7,0,0,0,11,1099511627776,0],\"edges\":[],\"strings\":[\"\"]}";
	char err[256];
	for (unsigned flags = 0; flags <= HS_PARSE_SKIP_NODE_IDS; flags += HS_PARSE_SKIP_NODE_IDS) {
		struct hs_snapshot *s = NULL;
		if (hs_snapshot_parse_mem(j, strlen(j), flags, &s, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		assert_int_equal(s->node_count, 6);
		for (uint32_t v = 0; v < 6; v++)
			if (hs_node_self_size(s, v) != sizes[v])
				fail_msg("node %u: self size %llu, want %llu", v,
					 (unsigned long long)hs_node_self_size(s, v), (unsigned long long)sizes[v]);
		assert_int_equal(s->big_self_count, 3);
		if (flags)
			assert_null(s->node_id);
		else
			assert_int_equal(s->node_id[5], 11);
		hs_snapshot_free(s);
	}
}

/* A skipped scalar ("trace_function_count") split by the 1 MiB read boundary. */
static void test_skipped_scalar_across_chunks(void **state)
{
	(void)state;
	const char *head = "{\"snapshot\":{\"pad\":\"";
	const char *mid = "\",\"trace_function_count\":";
	const char *tail = "123456,\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\","
		"\"edge_count\"],\"node_types\":[[\"object\"]],\"edge_fields\":[\"type\",\"name_or_index\","
		"\"to_node\"],\"edge_types\":[[\"property\"]]}},\"nodes\":[0,0,1,0,0],\"edges\":[],\"strings\":[\"\"]}";
	size_t pad = (1u << 20) - 3 - strlen(head) - strlen(mid);
	size_t len = strlen(head) + pad + strlen(mid) + strlen(tail);
	char *j = malloc(len + 1), *p = j;
	p = stpcpy(p, head);
	memset(p, 'x', pad);
	p += pad;
	p = stpcpy(p, mid);
	assert_int_equal(p - j, (1u << 20) - 3); /* "123|456" straddles the boundary */
	strcpy(p, tail);
	char *path = write_temp(j, len, 0), err[256];
	struct hs_snapshot *s = NULL;
	if (hs_snapshot_load(path, 0, &s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(s->node_count, 1);
	hs_snapshot_free(s);
	unlink(path);
	free(path);
	free(j);
}

/* A gzip of a few hundred KB that decompresses to 64 MiB: with a 8 MiB limit the load
 * stops with -EFBIG after reading about 8 MiB, before anything grows with it. */
static void test_decompressed_limit(void **state)
{
	(void)state;
	char path[] = "/tmp/test_parse_bomb_XXXXXX", err[256] = "";
	static char zeros[1 << 16];
	struct hs_snapshot *s = NULL;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	gzFile gz = gzdopen(fd, "wb9");
	assert_non_null(gz);
	gzputs(gz, "{");
	memset(zeros, ' ', sizeof(zeros));   /* whitespace: valid JSON anywhere */
	for (int i = 0; i < 1024; i++)
		assert_int_equal(gzwrite(gz, zeros, sizeof(zeros)), (int)sizeof(zeros));
	gzputs(gz, "}");
	assert_int_equal(gzclose(gz), Z_OK);
	assert_int_equal(hs_snapshot_load_max(path, 0, (uint64_t)8 << 20, &s, err, sizeof(err)), -EFBIG);
	assert_null(s);
	assert_string_equal(err, "snapshot larger than 8 MiB decompressed");
	unlink(path);
}

/* ---- the numeric windows: SWAR digits and the two-thread split ---------------- */

#define BIG_NODES 150000u

static uint64_t big_id(uint32_t i)
{
	return (uint32_t)(i * 2654435761u) >> (i % 32); /* 1 to 10 digits */
}

static uint64_t big_size(uint32_t i)
{
	static const uint64_t pow10[] = { 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000 };
	if (i % 997 == 500)
		return 1000000000000000000ull + i; /* 19 digits: the side table */
	return (uint64_t)i * 40503u % pow10[i % 9];
}

static uint64_t big_to(uint32_t i, unsigned k)
{
	return ((uint64_t)i * 7919u + k) % BIG_NODES * 7;
}

/* A snapshot of BIG_NODES nodes (7 fields, V8's "\n," between records, blanks in
 * some) and two edges each, several megabytes: many windows, each cut in two.
 * The value of node bad_node's id, or of edge bad_edge's to_node, is written as
 * bad_text instead, its byte offset left in *bad_at. */
static char *big_json(size_t *len, uint32_t bad_node, uint32_t bad_edge, const char *bad_text, long *bad_at)
{
	char *j = NULL;
	FILE *f = open_memstream(&j, len);
	fputs("{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\","
	      "\"trace_node_id\",\"detachedness\"],\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\","
	      "\"code\",\"closure\",\"regexp\",\"number\",\"native\",\"synthetic\",\"concatenated string\","
	      "\"sliced string\",\"symbol\",\"bigint\",\"object shape\"],\"string\",\"number\",\"number\","
	      "\"number\",\"number\",\"number\"],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
	      "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\","
	      "\"weak\"],\"string_or_number\",\"node\"]},\"node_count\":150000,\"edge_count\":300000},\n"
	      "\"nodes\":[", f);
	for (uint32_t i = 0; i < BIG_NODES; i++) {
		const char *sep = i % 5 == 4 ? " , " : ",";
		fprintf(f, "%s%u%s%u%s", i ? "\n," : "", i % 15, sep, i % 3, sep);
		if (i == bad_node) {
			*bad_at = ftell(f);
			fputs(bad_text, f);
		} else {
			fprintf(f, "%llu", (unsigned long long)big_id(i));
		}
		fprintf(f, "%s%llu%s2%s0%s%u", sep, (unsigned long long)big_size(i), sep, sep, sep, i % 3);
	}
	fputs("],\n\"edges\":[", f);
	for (uint32_t e = 0; e < 2 * BIG_NODES; e++) {
		fprintf(f, "%s%u,%u,", e ? "\n," : "", e % 7, e * 13 % 100000);
		if (e == bad_edge) {
			*bad_at = ftell(f);
			fputs(bad_text, f);
		} else {
			fprintf(f, "%llu", (unsigned long long)big_to(e / 2, e % 2));
		}
	}
	fputs("],\n\"strings\":[\"\",\"a\",\"b\"]}", f);
	fclose(f);
	return j;
}

static void check_big(const struct hs_snapshot *s)
{
	assert_int_equal(s->node_count, BIG_NODES);
	assert_int_equal(s->edge_count, 2 * BIG_NODES);
	for (uint32_t i = 0; i < BIG_NODES; i++) {
		if (s->node_type[i] != i % 15 || s->node_name[i] != i % 3 || s->node_id[i] != big_id(i) ||
		    hs_node_self_size(s, i) != big_size(i) || s->first_edge[i] != 2 * i)
			fail_msg("node %u: type %u name %u id %u size %llu first edge %u", i, s->node_type[i],
				 s->node_name[i], s->node_id[i], (unsigned long long)hs_node_self_size(s, i),
				 s->first_edge[i]);
	}
	for (uint32_t e = 0; e < 2 * BIG_NODES; e++)
		if (s->edge_type[e] != e % 7 || s->edge_name[e] != e * 13 % 100000 ||
		    s->edge_to[e] != big_to(e / 2, e % 2) / 7)
			fail_msg("edge %u: type %u name %u to %u", e, s->edge_type[e], s->edge_name[e], s->edge_to[e]);
}

/* Every value of a multi-megabyte snapshot (numbers of 1 to 19 digits, cut points
 * anywhere, gzip chunks ending inside numbers) comes out as written, from memory and
 * from a gzip file. */
static void test_windows_take_every_value(void **state)
{
	(void)state;
	size_t len;
	long unused;
	char *j = big_json(&len, UINT32_MAX, UINT32_MAX, "", &unused), err[256];
	assert_true(len > 8u << 20);
	struct hs_snapshot *s = NULL;
	if (hs_snapshot_parse_mem(j, len, 0, &s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	check_big(s);
	assert_int_equal(s->big_self_count, (BIG_NODES + 496) / 997);
	hs_snapshot_free(s);
	char *path = write_temp(j, len, 1);
	s = NULL;
	if (hs_snapshot_load(path, 0, &s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	check_big(s);
	hs_snapshot_free(s);
	unlink(path);
	free(path);
	free(j);
}

/* A bad value deep inside a window (past its middle: the second thread's half) fails
 * with the one-value path's sentence and byte offset, as it did before windows. */
static void test_windows_fail_as_before(void **state)
{
	(void)state;
	static const struct { int in_edges; const char *text; int after; const char *what; } cases[] = {
		{ 0, "-5", 0, "expected an unsigned integer" },
		{ 0, "12345678901234567890", 0, "number too large" },   /* 20 digits */
		{ 0, "1234567890123456789", 20, "node id out of range" }, /* 19: read, then refused */
		{ 0, "4294967296", 11, "node id out of range" },
		{ 0, "1.5", 2, "expected ',' or ']'" },
		{ 0, "", 0, "expected an unsigned integer" },
		{ 1, "22", 4, "edge target 22 is not a node" },
		{ 1, "1050000", 9, "edge target 1050000 is not a node" },
		{ 1, "x", 0, "expected an unsigned integer" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		long at = -1;
		uint32_t node = cases[c].in_edges ? UINT32_MAX : BIG_NODES * 3 / 5 + 1;
		uint32_t edge = cases[c].in_edges ? BIG_NODES * 7 / 5 + 1 : UINT32_MAX;
		char *j = big_json(&len, node, edge, cases[c].text, &at), err[256], want[256];
		struct hs_snapshot *s = NULL;
		assert_int_equal(hs_snapshot_parse_mem(j, len, 0, &s, err, sizeof(err)), -EINVAL);
		assert_null(s);
		snprintf(want, sizeof(want), "malformed snapshot (inside %s, byte %ld): %s",
			 cases[c].in_edges ? "edges" : "nodes", at + cases[c].after, cases[c].what);
		assert_string_equal(err, want);
		free(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seven_fields),
		cmocka_unit_test(test_decompressed_limit),
		cmocka_unit_test(test_six_fields),
		cmocka_unit_test(test_reordered_fields_and_whitespace),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_every_truncation_fails),
		cmocka_unit_test(test_corruptions),
		cmocka_unit_test(test_files_plain_and_gzip),
		cmocka_unit_test(test_truncated_gzip_file),
		cmocka_unit_test(test_large_input_spans_chunks),
		cmocka_unit_test(test_skipped_scalar_across_chunks),
		cmocka_unit_test(test_big_self_sizes_and_no_ids),
		cmocka_unit_test(test_windows_take_every_value),
		cmocka_unit_test(test_windows_fail_as_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
