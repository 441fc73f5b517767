// SPDX-License-Identifier: Apache-2.0
/* Chrome DevTools Protocol messages for the heap snapshot capture.
 *
 * Requests and small messages go through jansson. HeapProfiler.addHeapSnapshotChunk
 * events are the hot path (the whole snapshot passes through them, 100 KiB–1 MiB per
 * message): the decoder recognises their fixed prefix as the message streams in and
 * unescapes the "chunk" JSON string incrementally (escapes and \uXXXX surrogate pairs
 * split anywhere), handing decoded bytes to a write callback through a 64 KiB buffer.
 * Memory stays bounded whatever the snapshot size; only non-chunk messages are
 * buffered (up to max_small bytes) and parsed with jansson. */
#ifndef HS_CDP_H
#define HS_CDP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/ws.h"

/* Decoded snapshot bytes. 0, or a negative errno to stop (the callback has the reason;
 * the decoder returns that errno). */
typedef int (*cdp_write_fn)(void *ctx, const void *buf, size_t len);
/* Any other message, parsed (borrowed: valid during the call). 0, or a negative errno
 * to stop. */
typedef int (*cdp_message_fn)(void *ctx, json_t *msg);

struct cdp_decoder;

/* max_small: largest non-chunk message accepted (0 = 1 MiB). NULL on out of memory. */
struct cdp_decoder *cdp_decoder_new(size_t max_small, cdp_write_fn write, cdp_message_fn on_message, void *ctx);
void cdp_decoder_free(struct cdp_decoder *d);

/* Feed one message: begin, data (any split), end. 0, or a negative errno with
 * cdp_decoder_error(): -EPROTO not what CDP sends, -EMSGSIZE a non-chunk message over
 * max_small, -ENOMEM; what a callback returned when it stopped the decode (the error
 * is "" then: the callback has the reason). Once failed, the same errno again. */
int cdp_decoder_begin(struct cdp_decoder *d);
int cdp_decoder_data(struct cdp_decoder *d, const uint8_t *buf, size_t len);
int cdp_decoder_end(struct cdp_decoder *d);
const char *cdp_decoder_error(const struct cdp_decoder *d);
/* Decoded snapshot bytes handed to write so far. */
uint64_t cdp_decoder_chunk_bytes(const struct cdp_decoder *d);

/* A ws_sink that feeds text messages to the decoder (binary messages are refused). */
void cdp_decoder_ws_sink(struct cdp_decoder *d, struct ws_sink *out);

/* {"id":id,"method":method,"params":params} as compact JSON (malloc'ed, free()).
 * params is stolen (may be NULL). NULL on out of memory. */
char *cdp_request(int id, const char *method, json_t *params);

/* "id" of a reply, or -1 for an event. */
long cdp_message_id(json_t *msg);
/* "method" of an event, or NULL. */
const char *cdp_message_method(json_t *msg);
/* true if the reply carries "error"; its message (and code) goes into out. */
bool cdp_message_error(json_t *msg, char *out, size_t outlen);

#endif
