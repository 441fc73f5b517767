// SPDX-License-Identifier: Apache-2.0
/* A small blocking WebSocket client (RFC 6455) for talking to the Node inspector.
 *
 * Two layers:
 *  - ws_parser: a pure push parser of server->client frames. It streams data-message
 *    payloads to a sink as they arrive (a message is never buffered whole, so a 1 MiB
 *    CDP message costs no 1 MiB buffer), reassembles fragmented messages
 *    (continuation frames), and hands control frames (ping/pong/close, <= 125 bytes)
 *    over whole. Protocol violations (masked server frames, reserved bits, unknown
 *    opcodes, fragmented or oversized control frames, stray continuations, messages
 *    above max_message) are errors. No I/O: this is what the fuzzer drives.
 *  - ws_conn: a connected socket plus a parser: opening handshake (with
 *    Sec-WebSocket-Accept checked), masked client frames, pong replies to pings, close.
 *
 * Every I/O call waits through wait.h: bounded by a deadline, it stops early when the
 * cancel token fires or the target's pidfd becomes readable. */
#ifndef HS_WS_H
#define HS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/wait.h"

enum ws_opcode {
	WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xA,
};

/* Receives what the parser finds. Each callback returns 0 to go on or a negative
 * errno to stop (the sink then owns the error message; ws_parser_feed returns that
 * errno with err ""). */
struct ws_sink {
	void *ctx;
	int (*message_begin)(void *ctx, enum ws_opcode op);     /* TEXT or BINARY */
	int (*message_data)(void *ctx, const uint8_t *buf, size_t len);
	int (*message_end)(void *ctx);
	int (*control)(void *ctx, enum ws_opcode op, const uint8_t *payload, size_t len);
};

enum ws_parse_state { WS_HDR, WS_PAYLOAD };

struct ws_parser {
	uint64_t max_message;        /* whole (reassembled) message limit, 0 = 64 MiB */
	/* internal */
	enum ws_parse_state state;
	uint8_t hdr[14];
	size_t hdr_len;
	bool fin;
	uint8_t opcode;
	uint64_t remaining;          /* payload bytes left in the current frame */
	bool in_message;             /* a fragmented data message is open */
	uint64_t message_len;
	uint8_t ctl[125];
	size_t ctl_len;
	bool closed;                 /* a close frame was seen: nothing may follow */
};

void ws_parser_init(struct ws_parser *p, uint64_t max_message);

/* Feed bytes read from the socket. 0, or a negative errno with a one-sentence reason
 * in err: -EPROTO a protocol violation, -EMSGSIZE a message over max_message, or what
 * a sink callback returned to stop the parse (err "" then). */
int ws_parser_feed(struct ws_parser *p, const uint8_t *buf, size_t len, const struct ws_sink *sink,
		   char *err, size_t errlen);

/* Build one masked client frame header for a payload of len bytes into hdr (>= 14
 * bytes); returns the header length. The caller XORs the payload with mask[i % 4]. */
size_t ws_frame_header(uint8_t *hdr, enum ws_opcode op, bool fin, uint64_t len, const uint8_t mask[4]);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)). out >= 29. */
void ws_accept_key(const char *key, char *out, size_t outlen);

/* --- connection --------------------------------------------------------- */

/* The connection calls return 0 or a negative errno, with err saying why:
 *   -ETIMEDOUT   the wait's deadline passed
 *   -ECANCELED   the wait's cancel token fired
 *   -ESRCH       the wait's pidfd became readable (the target exited)
 *   -ECONNRESET  the peer closed (close frame or EOF)
 *   other        I/O error (-EIO), protocol error (-EPROTO, -EMSGSIZE), -ENOMEM, or
 *                what the sink returned to stop */

struct ws_conn;

/* Take over a connected stream socket fd (closed by ws_conn_free) and do the opening
 * handshake for path with the Host header host. NULL on failure, with *res and err. */
struct ws_conn *ws_conn_open(int fd, const char *host, const char *path, const struct wait_spec *wait,
			     uint64_t max_message, int *res, char *err, size_t errlen);
void ws_conn_free(struct ws_conn *c);
int ws_conn_fd(const struct ws_conn *c);
/* Bytes already read (with the handshake) but not parsed: pump without waiting for the fd. */
bool ws_conn_has_pending(const struct ws_conn *c);

/* Send one text message (masked, single frame). */
int ws_conn_send_text(struct ws_conn *c, const char *text, size_t len,
		      const struct wait_spec *wait, char *err, size_t errlen);

/* Wait (until wait->deadline_ms) for data, read once and feed
 * it to sink. Pings are answered and a close frame is answered and reported as
 * -ECONNRESET; the sink's control callback (may be NULL) sees them first. */
int ws_conn_pump(struct ws_conn *c, const struct ws_sink *sink,
		 const struct wait_spec *wait, char *err, size_t errlen);

/* Send a close frame (best effort, no wait for the reply). */
void ws_conn_close(struct ws_conn *c, const struct wait_spec *wait);

/* The wait's reason for TIMEOUT, CANCELLED, EXITED (wait_result_str), else NULL. */
const char *ws_io_wait_str(int r);

#endif
