// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the WebSocket frame parser (agent/proto/ws.c): arbitrary server
 * bytes, fed in pieces whose size comes from the first input byte, with a small
 * message limit so the size checks are reached. Checks the sink sees well-formed
 * event sequences (begin/data/end pairing, control payloads <= 125 bytes), and that
 * a failure is -EPROTO or -EMSGSIZE with a reason. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"

struct seq {
	int open;
	uint64_t bytes;
};

static int on_begin(void *ctx, enum ws_opcode op)
{
	struct seq *s = ctx;
	if (s->open || (op != WS_OP_TEXT && op != WS_OP_BINARY))
		__builtin_trap();
	s->open = 1;
	s->bytes = 0;
	return 0;
}

static int on_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct seq *s = ctx;
	if (!s->open || !len)
		__builtin_trap();
	volatile uint8_t sink = buf[0] ^ buf[len - 1];
	(void)sink;
	s->bytes += len;
	return s->bytes > 4096 ? (__builtin_trap(), 0) : 0;
}

static int on_end(void *ctx)
{
	struct seq *s = ctx;
	if (!s->open)
		__builtin_trap();
	s->open = 0;
	return 0;
}

static int on_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t len)
{
	(void)ctx;
	if (len > 125 || (op != WS_OP_PING && op != WS_OP_PONG && op != WS_OP_CLOSE))
		__builtin_trap();
	if (len) {
		volatile uint8_t sink = p[len - 1];
		(void)sink;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_parser p;
	struct seq s = { 0 };
	struct ws_sink sink = { &s, on_begin, on_data, on_end, on_control };
	char err[128];
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	ws_parser_init(&p, 4096);
	for (size_t i = 0; i < size; i += step) {
		size_t n = size - i < step ? size - i : step;
		int rc = ws_parser_feed(&p, data + i, n, &sink, err, sizeof(err));
		if (rc < 0) {
			/* The sinks never stop the parse: a protocol error, with its sentence. */
			if ((rc != -EPROTO && rc != -EMSGSIZE) || !err[0])
				__builtin_trap();
			break;
		}
	}
	return 0;
}
