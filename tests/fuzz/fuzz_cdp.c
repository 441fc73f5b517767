// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the CDP message decoder (agent/proto/cdp.c): one message, fed in
 * pieces whose size comes from the first input byte. Differential check: when both
 * the streaming decoder and jansson accept a chunk event, they must produce the same
 * bytes (the streaming path is stricter about trailing members, and turns lone
 * surrogates into U+FFFD where jansson refuses them, so only agreement is checked). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cdp.h"

struct out {
	uint8_t *buf;
	size_t len, cap;
	int messages;
};

static int on_write(void *ctx, const void *buf, size_t len)
{
	struct out *o = ctx;
	if (o->len + len > o->cap)
		__builtin_trap(); /* decoded text is never longer than the message */
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

static int on_message(void *ctx, json_t *msg)
{
	struct out *o = ctx;
	(void)cdp_message_id(msg);
	(void)cdp_message_method(msg);
	o->messages++;
	return 0;
}

static void compare_with_jansson(const uint8_t *data, size_t size, const struct out *o)
{
	json_t *msg = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *chunk = json_object_get(json_object_get(msg, "params"), "chunk");

	if (method && !strcmp(method, "HeapProfiler.addHeapSnapshotChunk") && json_is_string(chunk)) {
		if (json_string_length(chunk) != o->len || memcmp(json_string_value(chunk), o->buf, o->len))
			__builtin_trap();
	}
	json_decref(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out o = { 0 };
	struct cdp_decoder *d;
	size_t step;
	int rc = 0;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 31 + 1;
	data++;
	size--;
	o.cap = size;
	o.buf = malloc(size + 1);
	d = cdp_decoder_new(8192, on_write, on_message, &o);
	if (!o.buf || !d)
		abort();
	cdp_decoder_begin(d);
	for (size_t i = 0; i < size && rc == 0; i += step)
		rc = cdp_decoder_data(d, data + i, size - i < step ? size - i : step);
	if (rc == 0)
		rc = cdp_decoder_end(d);
	if (rc == 0)
		compare_with_jansson(data, size, &o);
	else if ((rc != -EPROTO && rc != -EMSGSIZE && rc != -ENOMEM) || !cdp_decoder_error(d)[0])
		__builtin_trap(); /* the callbacks never fail: the decoder's own error, with its sentence */
	cdp_decoder_free(d);
	free(o.buf);
	return 0;
}
