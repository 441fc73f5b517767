// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the WebSocket client (agent/proto/ws.c): the handshake key, client frame
 * headers, the frame parser (fragmentation, control frames, protocol errors, size
 * limits, any split of the input), and a connection over a socketpair against a
 * scripted server thread (masked output, ping -> pong, close). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/loop.h"
#include "proto/ws.h"

/* --- a recording sink ------------------------------------------------------ */

struct rec {
	char log[4096];      /* "B1 D:hello E C9:xx " ... */
	size_t len;
	int stop_on_data;
	size_t data_bytes;
};

static void rec_clamp(struct rec *r)
{
	if (r->len >= sizeof(r->log))
		r->len = sizeof(r->log) - 1;
}

static void rec_add(struct rec *r, const void *data, size_t n)
{
	r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len, "%.*s", (int)n, (const char *)data);
	rec_clamp(r);
}

static int rec_begin(void *ctx, enum ws_opcode op)
{
	struct rec *r = ctx;
	r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len, "B%d ", op);
	rec_clamp(r);
	return 0;
}

static int rec_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct rec *r = ctx;
	if (r->stop_on_data)
		return -ECANCELED;
	r->data_bytes += len;
	if (r->len + len < 1000)
		rec_add(r, buf, len);
	return 0;
}

static int rec_end(void *ctx)
{
	struct rec *r = ctx;
	rec_add(r, " E ", 3);
	return 0;
}

static int rec_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t len)
{
	struct rec *r = ctx;
	r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len, "C%d:%.*s ", op, (int)len, (const char *)p);
	rec_clamp(r);
	return 0;
}

static struct ws_sink rec_sink(struct rec *r)
{
	return (struct ws_sink){ r, rec_begin, rec_data, rec_end, rec_control };
}

/* An unmasked server frame into out; returns its length. */
static size_t server_frame(uint8_t *out, int op, bool fin, const char *payload, size_t len)
{
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else if (len < 65536) {
		out[1] = 126; out[2] = (uint8_t)(len >> 8); out[3] = (uint8_t)len; n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	memcpy(out + n, payload, len);
	return n + len;
}

static int parse_all(struct ws_parser *p, const uint8_t *buf, size_t len, size_t step, struct rec *r,
		     char *err, size_t errlen)
{
	struct ws_sink s = rec_sink(r);

	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		int rc = ws_parser_feed(p, buf + i, n, &s, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void test_accept_key_rfc_example(void **state)
{
	char out[32];
	(void)state;
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out));
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_frame_header_lengths_and_mask(void **state)
{
	uint8_t h[14], mask[4] = { 1, 2, 3, 4 };
	(void)state;
	assert_int_equal(ws_frame_header(h, WS_OP_TEXT, true, 5, mask), 6);
	assert_int_equal(h[0], 0x81);
	assert_int_equal(h[1], 0x80 | 5);
	assert_memory_equal(h + 2, mask, 4);
	assert_int_equal(ws_frame_header(h, WS_OP_TEXT, true, 300, mask), 8);
	assert_int_equal(h[1], 0x80 | 126);
	assert_int_equal(h[2] << 8 | h[3], 300);
	assert_int_equal(ws_frame_header(h, WS_OP_PONG, true, 70000, mask), 14);
	assert_int_equal(h[0], 0x8A);
	assert_int_equal(h[1], 0x80 | 127);
	assert_int_equal(h[7] << 16 | h[8] << 8 | h[9], 70000);
}

/* Fragmented text with a ping in the middle, then a 16-bit and a 64-bit length message,
 * fed in every step size from 1 byte up: the sink sees the same events each time. */
static void test_parser_fragmented_any_split(void **state)
{
	static uint8_t buf[200000];
	static char big[70000];
	size_t n = 0;
	(void)state;

	memset(big, 'x', sizeof(big));
	n += server_frame(buf + n, WS_OP_TEXT, false, "hel", 3);
	n += server_frame(buf + n, WS_OP_PING, true, "pi", 2);
	n += server_frame(buf + n, WS_OP_CONT, false, "", 0);
	n += server_frame(buf + n, WS_OP_CONT, true, "lo", 2);
	n += server_frame(buf + n, WS_OP_BINARY, true, big, 300);
	n += server_frame(buf + n, WS_OP_TEXT, true, big, 70000);
	n += server_frame(buf + n, WS_OP_CLOSE, true, "\x03\xe8", 2);
	for (size_t step = 1; step <= 64; step++) {
		struct ws_parser p;
		struct rec r = { 0 };
		char err[128] = "";
		ws_parser_init(&p, 0);
		assert_int_equal(parse_all(&p, buf, n, step == 64 ? n : step, &r, err, sizeof(err)), 0);
		assert_true(p.closed);
		assert_int_equal(strncmp(r.log, "B1 helC9:pi lo E B2 ", 20), 0);
		assert_non_null(strstr(r.log, " E B1 "));
		assert_int_equal(r.data_bytes, 3 + 2 + 300 + 70000);
		assert_non_null(strstr(r.log, " E C8:"));
	}
}

static void expect_parse_error(const uint8_t *buf, size_t len, uint64_t max, int want, const char *needle)
{
	struct ws_parser p;
	struct rec r = { 0 };
	char err[128] = "";

	ws_parser_init(&p, max);
	assert_int_equal(parse_all(&p, buf, len, len, &r, err, sizeof(err)), want);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_parser_protocol_errors(void **state)
{
	uint8_t b[300];
	size_t n;
	(void)state;

	n = server_frame(b, WS_OP_TEXT, true, "abc", 3);
	b[1] |= 0x80;
	expect_parse_error(b, n, 0, -EPROTO, "masked");
	n = server_frame(b, WS_OP_TEXT, true, "abc", 3);
	b[0] |= 0x40;
	expect_parse_error(b, n, 0, -EPROTO, "reserved");
	n = server_frame(b, WS_OP_CONT, true, "abc", 3);
	expect_parse_error(b, n, 0, -EPROTO, "continuation");
	n = server_frame(b, WS_OP_TEXT, false, "a", 1);
	n += server_frame(b + n, WS_OP_TEXT, true, "b", 1);
	expect_parse_error(b, n, 0, -EPROTO, "before the previous");
	n = server_frame(b, WS_OP_PING, false, "a", 1);
	expect_parse_error(b, n, 0, -EPROTO, "fragmented");
	memset(b, 'p', sizeof(b));
	n = server_frame(b, WS_OP_PING, true, (char *)b + 150, 126);
	expect_parse_error(b, n, 0, -EPROTO, "125");
	n = server_frame(b, 0x3, true, "a", 1);
	expect_parse_error(b, n, 0, -EPROTO, "opcode");
	b[0] = 0x81; b[1] = 126; b[2] = 0; b[3] = 5;
	expect_parse_error(b, 4, 0, -EPROTO, "minimally");
	b[0] = 0x81; b[1] = 127; memset(b + 2, 0xff, 8);
	expect_parse_error(b, 10, 0, -EPROTO, "top bit");
	n = server_frame(b, WS_OP_CLOSE, true, "", 0);
	n += server_frame(b + n, WS_OP_TEXT, true, "a", 1);
	expect_parse_error(b, n, 0, -EPROTO, "after a close");
}

static void test_parser_oversize_message(void **state)
{
	uint8_t b[300];
	size_t n;
	(void)state;

	/* Fragments that each fit but add up to more than the limit. */
	n = server_frame(b, WS_OP_TEXT, false, "0123456789", 10);
	n += server_frame(b + n, WS_OP_CONT, true, "0123456789", 10);
	expect_parse_error(b, n, 15, -EMSGSIZE, "limit");
	/* Exactly at the limit is fine. */
	struct ws_parser p;
	struct rec r = { 0 };
	char err[64];
	ws_parser_init(&p, 20);
	assert_int_equal(parse_all(&p, b, n, 1, &r, err, sizeof(err)), 0);
}

static void test_parser_sink_stop(void **state)
{
	uint8_t b[64];
	size_t n = server_frame(b, WS_OP_TEXT, true, "abc", 3);
	struct ws_parser p;
	struct rec r = { .stop_on_data = 1 };
	char err[64] = "x";
	(void)state;

	ws_parser_init(&p, 0);
	assert_int_equal(parse_all(&p, b, n, n, &r, err, sizeof(err)), -ECANCELED); /* the sink's */
	assert_string_equal(err, "");
}

/* --- connection against a scripted server ------------------------------------ */

struct server {
	int fd;
	char request[2048];
	uint8_t got[4096];      /* client frames after the handshake, raw */
	size_t got_len;
	bool bad_accept;
};

static ssize_t read_until(int fd, char *buf, size_t cap, const char *end)
{
	size_t n = 0;
	while (n < cap - 1) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		n++;
		buf[n] = '\0';
		if (strstr(buf, end))
			return (ssize_t)n;
	}
	return -1;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	char key[64] = "", accept[32], resp[512];
	uint8_t frames[256];
	size_t n = 0;
	const char *k;

	if (read_until(s->fd, s->request, sizeof(s->request), "\r\n\r\n") < 0)
		return NULL;
	k = strstr(s->request, "Sec-WebSocket-Key: ");
	if (k)
		sscanf(k + 19, "%63[^\r]", key);
	ws_accept_key(key, accept, sizeof(accept));
	if (s->bad_accept)
		accept[0] ^= 1;
	snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	/* The first frames travel in the same write as the handshake reply. */
	n += server_frame(frames + n, WS_OP_PING, true, "are you there", 13);
	n += server_frame(frames + n, WS_OP_TEXT, false, "{\"id\":", 6);
	n += server_frame(frames + n, WS_OP_CONT, true, "1}", 2);
	size_t hlen = strlen(resp);
	memcpy(resp + hlen, frames, n);
	if (write(s->fd, resp, hlen + n) < 0)
		return NULL;
	/* Collect what the client sends for a while, then close. */
	for (int i = 0; i < 50 && s->got_len < (6 + 13) + (6 + 5); i++) {
		ssize_t r = read(s->fd, s->got + s->got_len, sizeof(s->got) - s->got_len);
		if (r <= 0)
			break;
		s->got_len += (size_t)r;
	}
	n = server_frame(frames, WS_OP_CLOSE, true, "\x03\xe8", 2);
	if (write(s->fd, frames, n) < 0)
		return NULL;
	return NULL;
}

/* Unmask one client frame at buf; returns its total length, payload in out. */
static size_t client_frame(const uint8_t *buf, int *op, char *out)
{
	size_t len = buf[1] & 0x7F;
	const uint8_t *mask = buf + 2;

	assert_true(buf[1] & 0x80); /* client frames are masked */
	assert_true(len < 126);
	*op = buf[0] & 0x0F;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(buf[6 + i] ^ mask[i & 3]);
	out[len] = '\0';
	return 6 + len;
}

static void test_conn_handshake_ping_message_close(void **state)
{
	int sv[2];
	pthread_t th;
	struct server s = { 0 };
	struct wait_spec w = { .deadline_ms = mono_ms() + 5000, .cancel = NULL, .pidfd = -1 };
	struct rec r = { 0 };
	struct ws_sink sink = rec_sink(&r);
	int res;
	char err[128] = "", payload[128];
	size_t off = 0;
	int op;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);
	struct ws_conn *c = ws_conn_open(sv[0], "127.0.0.1:9", "/abc", &w, 0, &res, err, sizeof(err));
	assert_non_null(c);
	while ((res = ws_conn_pump(c, &sink, &w, err, sizeof(err))) == 0 && !strstr(r.log, " E "))
		;
	if (res != 0)
		fail_msg("pump: %d %s", res, err);
	assert_int_equal(ws_conn_send_text(c, "hello", 5, &w, err, sizeof(err)), 0);
	while ((res = ws_conn_pump(c, &sink, &w, err, sizeof(err))) == 0)
		;
	assert_int_equal(res, -ECONNRESET);
	pthread_join(th, NULL);
	assert_non_null(strstr(s.request, "GET /abc HTTP/1.1\r\n"));
	assert_non_null(strstr(s.request, "Sec-WebSocket-Version: 13\r\n"));
	assert_string_equal(r.log, "C9:are you there B1 {\"id\":1} E C8:\x03\xe8 ");
	/* pong echoing the ping, then our text */
	off += client_frame(s.got + off, &op, payload);
	assert_int_equal(op, WS_OP_PONG);
	assert_string_equal(payload, "are you there");
	off += client_frame(s.got + off, &op, payload);
	assert_int_equal(op, WS_OP_TEXT);
	assert_string_equal(payload, "hello");
	ws_conn_free(c);
	close(sv[1]);
}

static void test_conn_bad_accept_refused(void **state)
{
	int sv[2];
	pthread_t th;
	struct server s = { .bad_accept = true };
	struct wait_spec w = { .deadline_ms = mono_ms() + 5000, .cancel = NULL, .pidfd = -1 };
	int res;
	char err[128] = "";
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);
	assert_null(ws_conn_open(sv[0], "h", "/", &w, 0, &res, err, sizeof(err)));
	assert_non_null(strstr(err, "Sec-WebSocket-Accept"));
	close(sv[1]); /* unblocks the server */
	pthread_join(th, NULL);
}

static void test_conn_timeout_is_bounded(void **state)
{
	int sv[2];
	struct wait_spec w = { .deadline_ms = mono_ms() + 300, .cancel = NULL, .pidfd = -1 };
	int res;
	char err[128] = "";
	int64_t t0 = mono_ms();
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_null(ws_conn_open(sv[0], "h", "/", &w, 0, &res, err, sizeof(err)));
	assert_int_equal(res, -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 2000);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key_rfc_example),
		cmocka_unit_test(test_frame_header_lengths_and_mask),
		cmocka_unit_test(test_parser_fragmented_any_split),
		cmocka_unit_test(test_parser_protocol_errors),
		cmocka_unit_test(test_parser_oversize_message),
		cmocka_unit_test(test_parser_sink_stop),
		cmocka_unit_test(test_conn_handshake_ping_message_close),
		cmocka_unit_test(test_conn_bad_accept_refused),
		cmocka_unit_test(test_conn_timeout_is_bounded),
	};
	signal(SIGPIPE, SIG_IGN); /* the scripted servers write to peers that may have hung up */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
