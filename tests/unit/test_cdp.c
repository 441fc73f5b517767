// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the CDP layer (agent/proto/cdp.c): the streaming addHeapSnapshotChunk
 * decoder against jansson's own escaping, split at every byte boundary (escapes,
 * \uXXXX, surrogate pairs), lone surrogates, the jansson fallback for other
 * messages, malformed and truncated messages, the size limit, and request building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cdp.h"

struct out {
	char buf[1 << 16];
	size_t len;
	long last_id;
	int messages;
	int fail_write;
};

static int out_write(void *ctx, const void *buf, size_t len)
{
	struct out *o = ctx;
	if (o->fail_write)
		return -ENOSPC;
	assert_true(o->len + len <= sizeof(o->buf));
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

static int out_message(void *ctx, json_t *msg)
{
	struct out *o = ctx;
	o->messages++;
	o->last_id = cdp_message_id(msg);
	return 0;
}

/* Feed msg as one message cut at the given positions (cut1 <= cut2). */
static int feed_cut(struct cdp_decoder *d, const char *msg, size_t len, size_t cut1, size_t cut2)
{
	const uint8_t *m = (const uint8_t *)msg;
	int rc;

	if ((rc = cdp_decoder_begin(d)) < 0 || (rc = cdp_decoder_data(d, m, cut1)) < 0 ||
	    (rc = cdp_decoder_data(d, m + cut1, cut2 - cut1)) < 0 || (rc = cdp_decoder_data(d, m + cut2, len - cut2)) < 0)
		return rc;
	return cdp_decoder_end(d);
}

/* Node's wire form of a chunk event carrying raw (UTF-8) text. */
static char *chunk_message(const char *raw, size_t rawlen)
{
	json_t *s = json_stringn(raw, rawlen);
	char *esc = json_dumps(s, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH);
	char *msg;

	json_decref(s);
	assert_non_null(esc);
	assert_true(asprintf(&msg, "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":%s}}", esc) > 0);
	free(esc);
	return msg;
}

static void expect_decodes_at_every_split(const char *msg, const char *want, size_t wantlen)
{
	size_t len = strlen(msg);

	for (size_t a = 0; a <= len; a++) {
		for (size_t b = a; b <= len; b += (len > 200 ? 7 : 1)) {
			struct out o = { 0 };
			struct cdp_decoder *d = cdp_decoder_new(0, out_write, out_message, &o);
			if (feed_cut(d, msg, len, a, b) < 0)
				fail_msg("split %zu/%zu: %s", a, b, cdp_decoder_error(d));
			if (o.len != wantlen || memcmp(o.buf, want, wantlen))
				fail_msg("split %zu/%zu: decoded %zu bytes \"%.*s\"", a, b, o.len, (int)o.len, o.buf);
			assert_int_equal(o.messages, 0);
			assert_int_equal(cdp_decoder_chunk_bytes(d), wantlen);
			cdp_decoder_free(d);
		}
	}
}

static void test_chunk_escapes_every_split(void **state)
{
	/* quotes, backslashes, slash, control characters, 2/3/4-byte UTF-8 (the last one
	 * goes through jansson as a surrogate pair only if asked; we escape it by hand below) */
	const char raw[] = "{\"strings\":[\"a\\\\b\",\"tab\there\",\"nl\n\",\"\x01\x1f\",\"/x/\",\"\xc3\xa9\xe2\x82\xac\"]}\n";
	char *msg = chunk_message(raw, sizeof(raw) - 1);
	(void)state;

	expect_decodes_at_every_split(msg, raw, sizeof(raw) - 1);
	free(msg);
}

static void test_chunk_unicode_escapes_and_surrogates(void **state)
{
	const char *msg = "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":"
			  "\"A\\u00e9\\u20AC\\ud83d\\ude00\\u0000Z\\b\\f\\r\\/\"}}";
	const char want[] = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0Z\b\f\r/";
	(void)state;

	expect_decodes_at_every_split(msg, want, sizeof(want) - 1);
}

static void test_lone_surrogates_become_replacement(void **state)
{
	/* lone high before a plain char, lone high before another escape, lone low, high at end */
	const char *msg = "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":"
			  "\"\\ud800x\\ud800\\n\\udc00\\ud83d\\u0041\\ud83d\"}}";
	const char want[] = "\xef\xbf\xbdx\xef\xbf\xbd\n\xef\xbf\xbd\xef\xbf\xbd" "A\xef\xbf\xbd";
	(void)state;

	expect_decodes_at_every_split(msg, want, sizeof(want) - 1);
}

static void test_large_chunk_streams(void **state)
{
	static char raw[60000];
	char *msg;
	struct out o = { 0 };
	struct cdp_decoder *d = cdp_decoder_new(0, out_write, out_message, &o);
	(void)state;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = "ab\"\\\n,{}0123456789"[i % 19];
	msg = chunk_message(raw, sizeof(raw));
	/* 3-byte pieces: every escape split in every possible way somewhere */
	assert_int_equal(cdp_decoder_begin(d), 0);
	for (size_t i = 0, n = strlen(msg); i < n; i += 3)
		assert_int_equal(cdp_decoder_data(d, (uint8_t *)msg + i, n - i < 3 ? n - i : 3), 0);
	assert_int_equal(cdp_decoder_end(d), 0);
	assert_int_equal(o.len, sizeof(raw));
	assert_memory_equal(o.buf, raw, sizeof(raw));
	cdp_decoder_free(d);
	free(msg);
}

static void test_other_messages_go_to_jansson(void **state)
{
	struct out o = { 0 };
	struct cdp_decoder *d = cdp_decoder_new(0, out_write, out_message, &o);
	const char *reply = "{\"id\":1,\"result\":{}}";
	const char *reordered = "{\"params\":{\"chunk\":\"x\\\"y\"},\"method\":\"HeapProfiler.addHeapSnapshotChunk\"}";
	const char *prefix_only = "{\"method\":\"HeapProfiler.add";
	(void)state;

	assert_int_equal(feed_cut(d, reply, strlen(reply), 3, 9), 0);
	assert_int_equal(o.messages, 1);
	assert_int_equal(o.last_id, 1);
	assert_int_equal(feed_cut(d, reordered, strlen(reordered), 1, 30), 0);
	assert_int_equal(o.len, 3);
	assert_memory_equal(o.buf, "x\"y", 3);
	/* A message that stops inside the chunk prefix is parsed (and rejected) by jansson. */
	assert_int_equal(feed_cut(d, prefix_only, strlen(prefix_only), 5, 10), -EPROTO);
	assert_non_null(strstr(cdp_decoder_error(d), "malformed"));
	/* The decoder recovers at the next message. */
	assert_int_equal(feed_cut(d, reply, strlen(reply), 0, 0), 0);
	assert_int_equal(o.messages, 2);
	cdp_decoder_free(d);
}

static void expect_error(const char *msg, const char *needle, size_t max_small, int want)
{
	struct out o = { 0 };
	struct cdp_decoder *d = cdp_decoder_new(max_small, out_write, out_message, &o);

	assert_int_equal(feed_cut(d, msg, strlen(msg), strlen(msg) / 2, strlen(msg) / 2), want);
	if (!strstr(cdp_decoder_error(d), needle))
		fail_msg("\"%s\": error \"%s\" does not mention \"%s\"", msg, cdp_decoder_error(d), needle);
	cdp_decoder_free(d);
}

#define CHUNK_START "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":\""

static void test_malformed_and_truncated(void **state)
{
	(void)state;
	expect_error(CHUNK_START "abc", "truncated", 0, -EPROTO);
	expect_error(CHUNK_START "abc\\", "truncated", 0, -EPROTO);
	expect_error(CHUNK_START "abc\\u12", "truncated", 0, -EPROTO);
	expect_error(CHUNK_START "abc\"}", "closing braces", 0, -EPROTO);
	expect_error(CHUNK_START "abc\"}}x", "unexpected data", 0, -EPROTO);
	expect_error(CHUNK_START "a\\qb\"}}", "invalid escape", 0, -EPROTO);
	expect_error(CHUNK_START "a\\u12g4\"}}", "invalid \\u", 0, -EPROTO);
	expect_error(CHUNK_START "a\nb\"}}", "control character", 0, -EPROTO);
	expect_error("{\"id\":1,", "malformed", 0, -EPROTO);
	expect_error("[1,2]", "not an object", 0, -EPROTO);
	expect_error("{\"id\":1,\"result\":{\"a\":\"0123456789012345678901234567890123456789\"}}", "limit", 32, -EMSGSIZE);
}

static void test_write_failure_stops(void **state)
{
	struct out o = { .fail_write = 1 };
	struct cdp_decoder *d = cdp_decoder_new(0, out_write, out_message, &o);
	const char *msg = CHUNK_START "abc\"}}";
	(void)state;

	assert_int_equal(feed_cut(d, msg, strlen(msg), 0, 0), -ENOSPC); /* the callback's */
	assert_string_equal(cdp_decoder_error(d), "");
	cdp_decoder_free(d);
}

static void test_requests_and_replies(void **state)
{
	char *req = cdp_request(7, "HeapProfiler.takeHeapSnapshot", json_pack("{s:b}", "reportProgress", 0));
	json_t *reply = json_loads("{\"id\":7,\"error\":{\"code\":-32000,\"message\":\"nope\"}}", 0, NULL);
	json_t *event = json_loads("{\"method\":\"X.y\",\"params\":{}}", 0, NULL);
	char buf[128];
	(void)state;

	assert_string_equal(req, "{\"id\":7,\"method\":\"HeapProfiler.takeHeapSnapshot\",\"params\":{\"reportProgress\":false}}");
	assert_int_equal(cdp_message_id(reply), 7);
	assert_true(cdp_message_error(reply, buf, sizeof(buf)));
	assert_string_equal(buf, "nope (code -32000)");
	assert_int_equal(cdp_message_id(event), -1);
	assert_string_equal(cdp_message_method(event), "X.y");
	assert_false(cdp_message_error(event, buf, sizeof(buf)));
	free(req);
	req = cdp_request(2, "Runtime.evaluate", NULL);
	assert_string_equal(req, "{\"id\":2,\"method\":\"Runtime.evaluate\"}");
	free(req);
	json_decref(reply);
	json_decref(event);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_escapes_every_split),
		cmocka_unit_test(test_chunk_unicode_escapes_and_surrogates),
		cmocka_unit_test(test_lone_surrogates_become_replacement),
		cmocka_unit_test(test_large_chunk_streams),
		cmocka_unit_test(test_other_messages_go_to_jansson),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_write_failure_stops),
		cmocka_unit_test(test_requests_and_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
