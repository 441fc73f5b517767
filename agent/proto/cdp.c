// SPDX-License-Identifier: Apache-2.0
/* CDP message building and the streaming decoder of heap snapshot chunk events. See cdp.h.
 *
 * Why a hand-written unescaper on the chunk path: the alternative is buffering each
 * message whole (up to 1 MiB, more with escapes) and parsing it with jansson, which
 * copies the string through its lexer buffer and decodes it again. Measured with
 * tests/bench/inspector.sh on 1 MiB chunk messages of real snapshot text (2-core VM
 * shared with other jobs): this decoder 470-690 MB/s, json_loadb 37-52 MB/s (about
 * 13x), and no message-sized buffer. Anything that does not start with the exact
 * prefix Node sends falls back to jansson, so a differently ordered message is still
 * understood (as long as it fits in max_small). */
#include "proto/cdp.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CDP_OUT_BUF (64u << 10)
#define CDP_DEFAULT_MAX_SMALL (1u << 20)

static const char chunk_prefix[] = "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":\"";
#define CHUNK_PREFIX_LEN (sizeof(chunk_prefix) - 1)

enum cdp_state {
	ST_PREFIX,      /* matching chunk_prefix */
	ST_BUFFER,      /* some other message: buffered for jansson */
	ST_STRING,      /* inside the chunk string */
	ST_ESC,         /* after a backslash */
	ST_HEX,         /* reading the 4 hex digits of \u */
	ST_SURR_BS,     /* high surrogate seen: expecting '\' of its low half */
	ST_SURR_U,      /* expecting 'u' */
	ST_TAIL,        /* after the closing quote: "}}" and whitespace */
	ST_FAILED,
};

struct cdp_decoder {
	cdp_write_fn write;
	cdp_message_fn on_message;
	void *ctx;
	size_t max_small;
	enum cdp_state state;
	size_t prefix_pos;
	char *small;
	size_t small_len, small_cap;
	uint32_t hex;
	int hex_digits;
	uint32_t high;          /* pending high surrogate, 0 if none */
	int tail_braces;
	uint8_t out[CDP_OUT_BUF];
	size_t out_len;
	uint64_t chunk_bytes;
	char err[256];
	int rc;                 /* the failure's negative errno, once ST_FAILED */
};

/* Fail with rc: the message in d->err ("" when a callback failed: it has the reason). */
static int fail_rc(struct cdp_decoder *d, int rc, const char *msg)
{
	snprintf(d->err, sizeof(d->err), "%s", msg);
	d->state = ST_FAILED;
	d->rc = rc < 0 ? rc : -EIO;
	return d->rc;
}

/* The peer sent something a CDP message cannot be. */
static int set_error(struct cdp_decoder *d, const char *msg)
{
	return fail_rc(d, -EPROTO, msg);
}

static int flush_out(struct cdp_decoder *d)
{
	if (!d->out_len)
		return 0;
	int rc = d->write(d->ctx, d->out, d->out_len);

	if (rc < 0)
		return fail_rc(d, rc, "");
	d->chunk_bytes += d->out_len;
	d->out_len = 0;
	return 0;
}

static int out_bytes(struct cdp_decoder *d, const uint8_t *p, size_t n)
{
	while (n) {
		size_t room = CDP_OUT_BUF - d->out_len, take = n < room ? n : room;
		memcpy(d->out + d->out_len, p, take);
		d->out_len += take;
		p += take;
		n -= take;
		if (d->out_len == CDP_OUT_BUF && flush_out(d) < 0)
			return d->rc;
	}
	return 0;
}

static int out_codepoint(struct cdp_decoder *d, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) { u[0] = (uint8_t)cp; n = 1; }
	else if (cp < 0x800) { u[0] = (uint8_t)(0xC0 | cp >> 6); u[1] = (uint8_t)(0x80 | (cp & 0x3F)); n = 2; }
	else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | cp >> 12); u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F)); n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | cp >> 18); u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)); u[3] = (uint8_t)(0x80 | (cp & 0x3F)); n = 4;
	}
	return out_bytes(d, u, n);
}

#define REPLACEMENT_CHAR 0xFFFD

/* A lone surrogate (invalid UTF-16) becomes U+FFFD rather than failing the snapshot. */
static int drop_pending_high(struct cdp_decoder *d)
{
	if (!d->high)
		return 0;
	d->high = 0;
	return out_codepoint(d, REPLACEMENT_CHAR);
}

static int unicode_escape_done(struct cdp_decoder *d)
{
	uint32_t cp = d->hex;

	d->state = ST_STRING;
	if (d->high) {
		if (cp >= 0xDC00 && cp <= 0xDFFF) {
			uint32_t full = 0x10000 + ((d->high - 0xD800) << 10) + (cp - 0xDC00);
			d->high = 0;
			return out_codepoint(d, full);
		}
		if (drop_pending_high(d) < 0)
			return d->rc;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		d->high = cp;
		d->state = ST_SURR_BS;
		return 0;
	}
	return out_codepoint(d, cp >= 0xDC00 && cp <= 0xDFFF ? REPLACEMENT_CHAR : cp);
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int escape_char(struct cdp_decoder *d, uint8_t c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	if (c == 'u') {
		d->state = ST_HEX;
		d->hex = 0;
		d->hex_digits = 0;
		return 0;
	}
	if (drop_pending_high(d) < 0)
		return d->rc;
	hit = c ? strchr(from, c) : NULL;
	if (!hit)
		return set_error(d, "invalid escape in a heap snapshot chunk string");
	d->state = ST_STRING;
	return out_bytes(d, (const uint8_t *)&to[hit - from], 1);
}

/* Bytes that stand for themselves inside a JSON string, and the one-letter escapes. */
static uint8_t plain_byte[256], simple_escape[256];

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void fill_tables(void)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

	for (int c = 0x20; c < 256; c++)
		plain_byte[c] = c != '"' && c != '\\';
	for (size_t i = 0; i < sizeof(from) - 1; i++)
		simple_escape[(uint8_t)from[i]] = (uint8_t)to[i];
}

/* The hot loop: plain bytes and complete one-letter escapes, written straight into the
 * output buffer. Stops at anything else (quote, \u, an escape split across reads,
 * a control character) for string_byte. Returns the input bytes consumed. */
static size_t string_run(struct cdp_decoder *d, const uint8_t *buf, size_t len, int *rc)
{
	size_t i = 0;
	uint8_t *o = d->out + d->out_len, *end = d->out + CDP_OUT_BUF, m;

	*rc = 0;
	while (i < len) {
		if (o == end) {
			d->out_len = CDP_OUT_BUF;
			if (flush_out(d) < 0) {
				*rc = d->rc;
				return i;
			}
			o = d->out;
		}
		if (plain_byte[buf[i]]) {
			*o++ = buf[i++];
		} else if (buf[i] == '\\' && i + 1 < len && (m = simple_escape[buf[i + 1]])) {
			*o++ = m;
			i += 2;
		} else {
			break;
		}
	}
	d->out_len = (size_t)(o - d->out);
	return i;
}

static int tail_char(struct cdp_decoder *d, uint8_t c)
{
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 0;
	if (c == '}' && d->tail_braces < 2) {
		d->tail_braces++;
		return 0;
	}
	return set_error(d, "unexpected data after the chunk string of addHeapSnapshotChunk");
}

/* One byte of the chunk string that is not part of a plain run. */
static int string_byte(struct cdp_decoder *d, uint8_t c)
{
	int v;

	switch (d->state) {
	case ST_STRING:
		if (c == '\\') {
			d->state = ST_ESC;
			return 0;
		}
		if (drop_pending_high(d) < 0)
			return d->rc;
		if (c == '"') {
			d->state = ST_TAIL;
			d->tail_braces = 0;
			return 0;
		}
		return set_error(d, "control character inside a heap snapshot chunk string");
	case ST_ESC:
		return escape_char(d, c);
	case ST_HEX:
		if ((v = hex_value(c)) < 0)
			return set_error(d, "invalid \\u escape in a heap snapshot chunk string");
		d->hex = d->hex << 4 | (uint32_t)v;
		return ++d->hex_digits == 4 ? unicode_escape_done(d) : 0;
	case ST_SURR_BS:
		if (c == '\\') {
			d->state = ST_SURR_U;
			return 0;
		}
		if (drop_pending_high(d) < 0)
			return d->rc;
		d->state = ST_STRING;
		return c == '"' || c < 0x20 ? string_byte(d, c) : out_bytes(d, &c, 1);
	case ST_SURR_U:
		return escape_char(d, c); /* not 'u': drops the high half, then a normal escape */
	case ST_TAIL:
		return tail_char(d, c);
	default:
		return fail_rc(d, -EIO, "internal decoder state error");
	}
}

static int buffer_bytes(struct cdp_decoder *d, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n > d->max_small - d->small_len)
		return fail_rc(d, -EMSGSIZE, "CDP message larger than the limit for non-chunk messages");
	if (d->small_len + n > d->small_cap) {
		size_t cap = d->small_cap ? d->small_cap : 4096;
		while (cap < d->small_len + n)
			cap *= 2;
		if (cap > d->max_small)
			cap = d->max_small;
		char *s = realloc(d->small, cap);
		if (!s)
			return fail_rc(d, -ENOMEM, "out of memory buffering a CDP message");
		d->small = s;
		d->small_cap = cap;
	}
	memcpy(d->small + d->small_len, p, n);
	d->small_len += n;
	return 0;
}

/* Returns how many bytes of buf were consumed while matching the prefix. */
static size_t match_prefix(struct cdp_decoder *d, const uint8_t *buf, size_t len, int *rc)
{
	size_t i = 0;

	*rc = 0;
	while (i < len && d->prefix_pos < CHUNK_PREFIX_LEN && buf[i] == (uint8_t)chunk_prefix[d->prefix_pos]) {
		i++;
		d->prefix_pos++;
	}
	if (d->prefix_pos == CHUNK_PREFIX_LEN) {
		d->state = ST_STRING;
		d->high = 0;
	} else if (i < len) {
		d->state = ST_BUFFER;
		*rc = buffer_bytes(d, chunk_prefix, d->prefix_pos);
	}
	return i;
}

int cdp_decoder_begin(struct cdp_decoder *d)
{
	d->state = ST_PREFIX;
	d->prefix_pos = 0;
	d->small_len = 0;
	d->high = 0;
	d->err[0] = '\0';
	return 0;
}

int cdp_decoder_data(struct cdp_decoder *d, const uint8_t *buf, size_t len)
{
	size_t i = 0;
	int rc = 0;

	while (i < len && rc == 0) {
		switch (d->state) {
		case ST_PREFIX:
			i += match_prefix(d, buf + i, len - i, &rc);
			break;
		case ST_BUFFER:
			rc = buffer_bytes(d, buf + i, len - i);
			i = len;
			break;
		case ST_STRING:
			i += string_run(d, buf + i, len - i, &rc);
			if (rc == 0 && i < len)
				rc = string_byte(d, buf[i++]);
			break;
		case ST_FAILED:
			return d->rc;
		default:
			rc = string_byte(d, buf[i++]);
			break;
		}
	}
	return rc;
}

static int dispatch_small(struct cdp_decoder *d)
{
	json_error_t jerr;
	json_t *msg;
	const char *method;
	int rc = 0;

	if (!d->small_len)
		return set_error(d, "malformed CDP message: empty");
	msg = json_loadb(d->small, d->small_len, JSON_ALLOW_NUL, &jerr);
	if (!msg || !json_is_object(msg)) {
		snprintf(d->err, sizeof(d->err), "malformed CDP message: %s", msg ? "not an object" : jerr.text);
		json_decref(msg);
		d->state = ST_FAILED;
		return d->rc = -EPROTO;
	}
	method = cdp_message_method(msg);
	if (method && !strcmp(method, "HeapProfiler.addHeapSnapshotChunk")) {
		json_t *chunk = json_object_get(json_object_get(msg, "params"), "chunk");
		if (!json_is_string(chunk))
			rc = set_error(d, "addHeapSnapshotChunk without a chunk string");
		else if (out_bytes(d, (const uint8_t *)json_string_value(chunk), json_string_length(chunk)) < 0 ||
			 flush_out(d) < 0)
			rc = d->rc;
	} else if (d->on_message && (rc = d->on_message(d->ctx, msg)) < 0) {
		rc = fail_rc(d, rc, "");
	}
	json_decref(msg);
	return rc;
}

int cdp_decoder_end(struct cdp_decoder *d)
{
	int rc;

	switch (d->state) {
	case ST_PREFIX:
		if (buffer_bytes(d, chunk_prefix, d->prefix_pos) < 0)
			return d->rc;
		/* fall through */
	case ST_BUFFER:
		rc = dispatch_small(d);
		break;
	case ST_TAIL:
		if (d->tail_braces != 2)
			return set_error(d, "addHeapSnapshotChunk message ends before its closing braces");
		rc = flush_out(d);
		break;
	case ST_FAILED:
		return d->rc;
	default:
		return set_error(d, "addHeapSnapshotChunk message truncated inside its chunk string");
	}
	if (rc == 0)
		d->state = ST_PREFIX;
	return rc;
}

const char *cdp_decoder_error(const struct cdp_decoder *d) { return d->err; }
uint64_t cdp_decoder_chunk_bytes(const struct cdp_decoder *d) { return d->chunk_bytes; }

struct cdp_decoder *cdp_decoder_new(size_t max_small, cdp_write_fn write, cdp_message_fn on_message, void *ctx)
{
	struct cdp_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_once(&tables_once, fill_tables);
	d->max_small = max_small ? max_small : CDP_DEFAULT_MAX_SMALL;
	d->write = write;
	d->on_message = on_message;
	d->ctx = ctx;
	return d;
}

void cdp_decoder_free(struct cdp_decoder *d)
{
	if (!d)
		return;
	free(d->small);
	free(d);
}

static int sink_begin(void *ctx, enum ws_opcode op)
{
	struct cdp_decoder *d = ctx;

	if (op != WS_OP_TEXT)
		return set_error(d, "binary websocket message where CDP sends text");
	return cdp_decoder_begin(d);
}

static int sink_data(void *ctx, const uint8_t *buf, size_t len) { return cdp_decoder_data(ctx, buf, len); }
static int sink_end(void *ctx) { return cdp_decoder_end(ctx); }

void cdp_decoder_ws_sink(struct cdp_decoder *d, struct ws_sink *out)
{
	*out = (struct ws_sink){ .ctx = d, .message_begin = sink_begin, .message_data = sink_data,
				 .message_end = sink_end, .control = NULL };
}

char *cdp_request(int id, const char *method, json_t *params)
{
	json_t *req = json_pack("{s:i, s:s}", "id", id, "method", method);
	char *text;

	if (!req) {
		json_decref(params);
		return NULL;
	}
	if (params && json_object_set_new(req, "params", params) < 0) {
		json_decref(req);
		return NULL;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return text;
}

long cdp_message_id(json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	return json_is_integer(id) ? (long)json_integer_value(id) : -1;
}

const char *cdp_message_method(json_t *msg)
{
	return json_string_value(json_object_get(msg, "method"));
}

bool cdp_message_error(json_t *msg, char *out, size_t outlen)
{
	json_t *e = json_object_get(msg, "error");
	const char *m;

	if (!e)
		return false;
	m = json_string_value(json_object_get(e, "message"));
	snprintf(out, outlen, "%s (code %lld)", m ? m : "unknown error",
		 (long long)json_integer_value(json_object_get(e, "code")));
	return true;
}
