// SPDX-License-Identifier: Apache-2.0
/* RFC 6455 WebSocket client: frame parser, masked frame writer, opening handshake,
 * bounded blocking I/O. See ws.h. Hand-written because no Debian-packaged WebSocket
 * library fits a small blocking client (libwebsockets wants to own the event loop);
 * it is fuzzed by tests/fuzz/fuzz_ws.c. SHA-1 and base64 are here only for the
 * handshake's Sec-WebSocket-Accept check: 40 lines, so the parser and its fuzzer need no
 * libcrypto. */
#include "proto/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/loop.h"

#define WS_DEFAULT_MAX_MESSAGE (64ull << 20)
#define WS_READ_BUF (256u << 10)
#define WS_HANDSHAKE_MAX 8192
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* --- SHA-1 (FIPS 180-4), only for the handshake ---------------------------- */

struct sha1 {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
};

static uint32_t rol32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static void sha1_block(struct sha1 *s, const uint8_t *b)
{
	uint32_t w[80], a = s->h[0], bb = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5A827999; }
		else if (i < 40) { f = bb ^ c ^ d; k = 0x6ED9EBA1; }
		else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8F1BBCDC; }
		else { f = bb ^ c ^ d; k = 0xCA62C1D6; }
		uint32_t t = rol32(a, 5) + f + e + k + w[i];
		e = d; d = c; c = rol32(bb, 30); bb = a; a = t;
	}
	s->h[0] += a; s->h[1] += bb; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void sha1_update(struct sha1 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->len += len;
	while (len--) {
		s->buf[s->n++] = *p++;
		if (s->n == 64) { sha1_block(s, s->buf); s->n = 0; }
	}
}

static void sha1_digest(const void *data, size_t len, uint8_t out[20])
{
	struct sha1 s = { .h = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 } };
	uint64_t bits;
	uint8_t pad = 0x80, zero = 0, lenbe[8];

	sha1_update(&s, data, len);
	bits = s.len * 8;
	sha1_update(&s, &pad, 1);
	while (s.n != 56)
		sha1_update(&s, &zero, 1);
	for (int i = 0; i < 8; i++)
		lenbe[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(&s, lenbe, 8);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(s.h[i] >> 24); out[4 * i + 1] = (uint8_t)(s.h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s.h[i] >> 8); out[4 * i + 3] = (uint8_t)s.h[i];
	}
}

static void base64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 <= outlen; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < len ? in[i + 2] : 0);
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = i + 1 < len ? tbl[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? tbl[v & 63] : '=';
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = '\0';
}

void ws_accept_key(const char *key, char *out, size_t outlen)
{
	char cat[128];
	uint8_t dig[20];
	int n = snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);

	sha1_digest(cat, n < (int)sizeof(cat) ? (size_t)n : sizeof(cat) - 1, dig);
	base64_encode(dig, sizeof(dig), out, outlen);
}

/* --- frame parser --------------------------------------------------------- */

void ws_parser_init(struct ws_parser *p, uint64_t max_message)
{
	memset(p, 0, sizeof(*p));
	p->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
}

static size_t header_need(const uint8_t *hdr, size_t have)
{
	if (have < 2)
		return 2;
	switch (hdr[1] & 0x7F) {
	case 126: return 4;
	case 127: return 10;
	default: return 2;
	}
}

/* A protocol violation: -EPROTO (or rc) with msg. */
static int fail(char *err, size_t errlen, int rc, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return rc;
}

/* A sink callback stopped the parse with rc: the sink owns the message. */
static int sink_failed(int rc, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	return rc < 0 ? rc : -EIO;
}

/* The header is complete: validate it and set up the payload state. */
static int start_frame(struct ws_parser *p, const struct ws_sink *sink, char *err, size_t errlen)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
	uint64_t len = b1 & 0x7F;
	int rc;

	if (p->closed)
		return fail(err, errlen, -EPROTO, "websocket frame after a close frame");
	if (b0 & 0x70)
		return fail(err, errlen, -EPROTO, "websocket frame with reserved bits set (no extension was negotiated)");
	if (b1 & 0x80)
		return fail(err, errlen, -EPROTO, "masked websocket frame from the server");
	if (len == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		if (len < 126)
			return fail(err, errlen, -EPROTO, "websocket frame length not minimally encoded");
	} else if (len == 127) {
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | p->hdr[i];
		if (len >> 63)
			return fail(err, errlen, -EPROTO, "websocket frame length has its top bit set");
		if (len < 65536)
			return fail(err, errlen, -EPROTO, "websocket frame length not minimally encoded");
	}
	p->fin = b0 & 0x80;
	p->opcode = b0 & 0x0F;
	p->remaining = len;
	switch (p->opcode) {
	case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
		if (!p->fin)
			return fail(err, errlen, -EPROTO, "fragmented websocket control frame");
		if (len > 125)
			return fail(err, errlen, -EPROTO, "websocket control frame longer than 125 bytes");
		p->ctl_len = 0;
		return 0;
	case WS_OP_CONT:
		if (!p->in_message)
			return fail(err, errlen, -EPROTO, "websocket continuation frame without a message to continue");
		break;
	case WS_OP_TEXT: case WS_OP_BINARY:
		if (p->in_message)
			return fail(err, errlen, -EPROTO, "new websocket message before the previous one ended");
		p->in_message = true;
		p->message_len = 0;
		if (sink->message_begin && (rc = sink->message_begin(sink->ctx, p->opcode)) < 0)
			return sink_failed(rc, err, errlen);
		break;
	default:
		return fail(err, errlen, -EPROTO, "unknown websocket opcode");
	}
	if (len > p->max_message - p->message_len)
		return fail(err, errlen, -EMSGSIZE, "websocket message larger than the limit");
	p->message_len += len;
	return 0;
}

static bool is_control(uint8_t op) { return op & 0x8; }

/* The current frame's payload is complete. */
static int end_frame(struct ws_parser *p, const struct ws_sink *sink, char *err, size_t errlen)
{
	int rc;

	p->state = WS_HDR;
	p->hdr_len = 0;
	if (is_control(p->opcode)) {
		if (p->opcode == WS_OP_CLOSE)
			p->closed = true;
		if (sink->control && (rc = sink->control(sink->ctx, p->opcode, p->ctl, p->ctl_len)) < 0)
			return sink_failed(rc, err, errlen);
		return 0;
	}
	if (p->fin) {
		p->in_message = false;
		if (sink->message_end && (rc = sink->message_end(sink->ctx)) < 0)
			return sink_failed(rc, err, errlen);
	}
	return 0;
}

static int feed_header(struct ws_parser *p, const uint8_t **buf, size_t *len, const struct ws_sink *sink,
		       char *err, size_t errlen)
{
	while (*len) {
		size_t need = header_need(p->hdr, p->hdr_len);
		if (p->hdr_len == need)
			break;
		p->hdr[p->hdr_len++] = *(*buf)++;
		(*len)--;
		if (p->hdr_len == header_need(p->hdr, p->hdr_len))
			break;
	}
	if (p->hdr_len < 2 || p->hdr_len < header_need(p->hdr, p->hdr_len))
		return 0;
	int rc = start_frame(p, sink, err, errlen);

	if (rc < 0)
		return rc;
	p->state = WS_PAYLOAD;
	return p->remaining == 0 ? end_frame(p, sink, err, errlen) : 0;
}

static int feed_payload(struct ws_parser *p, const uint8_t **buf, size_t *len, const struct ws_sink *sink,
			char *err, size_t errlen)
{
	size_t take = *len < p->remaining ? *len : (size_t)p->remaining;
	int rc;

	if (is_control(p->opcode)) {
		memcpy(p->ctl + p->ctl_len, *buf, take);
		p->ctl_len += take;
	} else if (take && sink->message_data && (rc = sink->message_data(sink->ctx, *buf, take)) < 0) {
		return sink_failed(rc, err, errlen);
	}
	*buf += take;
	*len -= take;
	p->remaining -= take;
	return p->remaining == 0 ? end_frame(p, sink, err, errlen) : 0;
}

int ws_parser_feed(struct ws_parser *p, const uint8_t *buf, size_t len, const struct ws_sink *sink,
		   char *err, size_t errlen)
{
	while (len) {
		int rc = p->state == WS_HDR ? feed_header(p, &buf, &len, sink, err, errlen)
					    : feed_payload(p, &buf, &len, sink, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

size_t ws_frame_header(uint8_t *hdr, enum ws_opcode op, bool fin, uint64_t len, const uint8_t mask[4])
{
	size_t n = 2;

	hdr[0] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x0F));
	if (len < 126) {
		hdr[1] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		hdr[1] = 0x80 | 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		n = 4;
	} else {
		hdr[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	memcpy(hdr + n, mask, 4);
	return n + 4;
}

/* --- bounded I/O ---------------------------------------------------------- */

static int wait_io(int fd, short events, const struct wait_spec *wait)
{
	return wait_result_errno(wait_fd(wait, fd, events));
}

const char *ws_io_wait_str(int r)
{
	switch (r) {
	case -ETIMEDOUT: return wait_result_str(WAIT_TIMEOUT);
	case -ECANCELED: return wait_result_str(WAIT_CANCELLED);
	case -ESRCH: return wait_result_str(WAIT_EXITED);
	default: return NULL;
	}
}

static const char *io_reason(int r)
{
	const char *why = ws_io_wait_str(r);

	if (why)
		return why;
	return r == -ECONNRESET ? "connection closed by the peer" : "I/O error";
}

static int send_all(int fd, const void *buf, size_t len, const struct wait_spec *wait,
		    char *err, size_t errlen)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "websocket send: %s", strerror(errno));
			return -EIO;
		}
		int r = wait_io(fd, POLLOUT, wait);
		if (r != 0) {
			snprintf(err, errlen, "websocket send: %s", io_reason(r));
			return r;
		}
	}
	return 0;
}

/* --- connection ----------------------------------------------------------- */

struct ws_conn {
	int fd;
	struct ws_parser parser;
	uint8_t *rbuf;
	size_t pending;              /* bytes in rbuf read with the handshake, not yet parsed */
	bool got_close;
	const struct ws_sink *user;
	const struct wait_spec *wait;  /* valid during ws_conn_pump only */
	char *err;
	size_t errlen;
};

int ws_conn_fd(const struct ws_conn *c) { return c->fd; }
bool ws_conn_has_pending(const struct ws_conn *c) { return c->pending > 0; }

static int send_frame(struct ws_conn *c, enum ws_opcode op, const void *payload, size_t len,
		      const struct wait_spec *wait, char *err, size_t errlen)
{
	uint8_t mask[4], hdr[14];
	size_t hlen;
	uint8_t *frame;
	int r;

	if (getrandom(mask, sizeof(mask), 0) != sizeof(mask))
		memset(mask, 0x5A, sizeof(mask));
	hlen = ws_frame_header(hdr, op, true, len, mask);
	frame = malloc(hlen + len);
	if (!frame) {
		snprintf(err, errlen, "websocket send: out of memory");
		return -ENOMEM;
	}
	memcpy(frame, hdr, hlen);
	for (size_t i = 0; i < len; i++)
		frame[hlen + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
	r = send_all(c->fd, frame, hlen + len, wait, err, errlen);
	free(frame);
	return r;
}

int ws_conn_send_text(struct ws_conn *c, const char *text, size_t len,
		      const struct wait_spec *wait, char *err, size_t errlen)
{
	return send_frame(c, WS_OP_TEXT, text, len, wait, err, errlen);
}

void ws_conn_close(struct ws_conn *c, const struct wait_spec *wait)
{
	char err[64];
	uint8_t code[2] = { 0x03, 0xE8 }; /* 1000 normal closure */

	if (c)
		send_frame(c, WS_OP_CLOSE, code, sizeof(code), wait, err, sizeof(err));
}

static bool header_value_is(const char *headers, const char *name, const char *want)
{
	size_t nlen = strlen(name);

	for (const char *line = strstr(headers, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		const char *l = line + 2;
		if (strncasecmp(l, name, nlen) || l[nlen] != ':')
			continue;
		l += nlen + 1;
		while (*l == ' ' || *l == '\t')
			l++;
		size_t wlen = strlen(want);
		return !strncasecmp(l, want, wlen) && (l[wlen] == '\r' || l[wlen] == ' ');
	}
	return false;
}

/* Read the handshake response up to the blank line; bytes after it stay in rbuf. */
static int read_handshake(struct ws_conn *c, const struct wait_spec *wait, size_t *hdr_len,
			  char *err, size_t errlen)
{
	size_t have = 0;

	for (;;) {
		char *end;
		ssize_t n = recv(c->fd, c->rbuf + have, WS_HANDSHAKE_MAX - have, 0);
		if (n == 0) {
			snprintf(err, errlen, "websocket handshake: connection closed by the peer");
			return -ECONNRESET;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "websocket handshake: %s", strerror(errno));
			return -EIO;
		}
		if (n > 0) {
			have += (size_t)n;
			c->rbuf[have] = '\0';
			end = strstr((char *)c->rbuf, "\r\n\r\n");
			if (end) {
				*hdr_len = (size_t)(end - (char *)c->rbuf) + 4;
				c->pending = have - *hdr_len;
				return 0;
			}
			if (have >= WS_HANDSHAKE_MAX) {
				snprintf(err, errlen, "websocket handshake: response headers longer than %d bytes", WS_HANDSHAKE_MAX);
				return -EIO;
			}
			continue;
		}
		int r = wait_io(c->fd, POLLIN, wait);
		if (r != 0) {
			snprintf(err, errlen, "websocket handshake: %s", io_reason(r));
			return r;
		}
	}
}

static int handshake(struct ws_conn *c, const char *host, const char *path,
		     const struct wait_spec *wait, char *err, size_t errlen)
{
	uint8_t nonce[16];
	char key[32], accept[32], req[1024];
	size_t hdr_len = 0;
	int r;
	int n;

	if (getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		snprintf(err, errlen, "websocket handshake: getrandom: %s", strerror(errno));
		return -EIO;
	}
	base64_encode(nonce, sizeof(nonce), key, sizeof(key));
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host, key);
	if (n < 0 || n >= (int)sizeof(req)) {
		snprintf(err, errlen, "websocket handshake: path too long");
		return -EIO;
	}
	r = send_all(c->fd, req, (size_t)n, wait, err, errlen);
	if (r != 0)
		return r;
	r = read_handshake(c, wait, &hdr_len, err, errlen);
	if (r != 0)
		return r;
	c->rbuf[hdr_len - 2] = '\0'; /* keep one "\r\n" after the last header for the scan */
	if (strncmp((char *)c->rbuf, "HTTP/1.1 101", 12)) {
		char *eol = strchr((char *)c->rbuf, '\r');
		snprintf(err, errlen, "websocket handshake refused: %.*s", eol ? (int)(eol - (char *)c->rbuf) : 80,
			 (char *)c->rbuf);
		return -EIO;
	}
	ws_accept_key(key, accept, sizeof(accept));
	if (!header_value_is((char *)c->rbuf, "Sec-WebSocket-Accept", accept) ||
	    !header_value_is((char *)c->rbuf, "Upgrade", "websocket")) {
		snprintf(err, errlen, "websocket handshake: bad Upgrade or Sec-WebSocket-Accept in the reply");
		return -EIO;
	}
	memmove(c->rbuf, c->rbuf + hdr_len, c->pending);
	return 0;
}

struct ws_conn *ws_conn_open(int fd, const char *host, const char *path, const struct wait_spec *wait,
			     uint64_t max_message, int *res, char *err, size_t errlen)
{
	struct ws_conn *c = calloc(1, sizeof(*c));

	if (!c || !(c->rbuf = malloc(WS_READ_BUF + 1))) {
		free(c);
		close(fd);
		snprintf(err, errlen, "websocket: out of memory");
		*res = -ENOMEM;
		return NULL;
	}
	c->fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ws_parser_init(&c->parser, max_message);
	*res = handshake(c, host, path, wait, err, errlen);
	if (*res != 0) {
		ws_conn_free(c);
		return NULL;
	}
	return c;
}

void ws_conn_free(struct ws_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c);
}

static int conn_begin(void *ctx, enum ws_opcode op)
{
	struct ws_conn *c = ctx;
	return c->user->message_begin ? c->user->message_begin(c->user->ctx, op) : 0;
}

static int conn_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct ws_conn *c = ctx;
	return c->user->message_data ? c->user->message_data(c->user->ctx, buf, len) : 0;
}

static int conn_end(void *ctx)
{
	struct ws_conn *c = ctx;
	return c->user->message_end ? c->user->message_end(c->user->ctx) : 0;
}

static int conn_control(void *ctx, enum ws_opcode op, const uint8_t *payload, size_t len)
{
	struct ws_conn *c = ctx;
	int rc;

	if (c->user->control && (rc = c->user->control(c->user->ctx, op, payload, len)) < 0)
		return rc;
	if (op == WS_OP_PING && (rc = send_frame(c, WS_OP_PONG, payload, len, c->wait, c->err, c->errlen)) != 0)
		return rc;
	if (op == WS_OP_CLOSE)
		c->got_close = true;
	return 0;
}

static int feed(struct ws_conn *c, size_t len, const struct ws_sink *sink)
{
	struct ws_sink wrap = { c, conn_begin, conn_data, conn_end, conn_control };
	int rc;

	c->user = sink;
	if ((rc = ws_parser_feed(&c->parser, c->rbuf, len, &wrap, c->err, c->errlen)) < 0)
		return rc;
	if (c->got_close) {
		ws_conn_close(c, c->wait);
		snprintf(c->err, c->errlen, "websocket closed by the peer");
		return -ECONNRESET;
	}
	return 0;
}

int ws_conn_pump(struct ws_conn *c, const struct ws_sink *sink,
		 const struct wait_spec *wait, char *err, size_t errlen)
{
	int r;
	ssize_t n;

	c->wait = wait;
	c->err = err;
	c->errlen = errlen;
	if (c->pending) {
		size_t len = c->pending;
		c->pending = 0;
		return feed(c, len, sink);
	}
	if (c->got_close) {
		snprintf(err, errlen, "websocket closed by the peer");
		return -ECONNRESET;
	}
	r = wait_io(c->fd, POLLIN, wait);
	if (r != 0) {
		snprintf(err, errlen, "websocket receive: %s", io_reason(r));
		return r;
	}
	n = recv(c->fd, c->rbuf, WS_READ_BUF, 0);
	if (n == 0) {
		snprintf(err, errlen, "websocket connection closed by the peer without a close frame");
		return -ECONNRESET;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		snprintf(err, errlen, "websocket receive: %s", strerror(errno));
		return errno == ECONNRESET ? -ECONNRESET : -EIO;
	}
	return feed(c, (size_t)n, sink);
}
