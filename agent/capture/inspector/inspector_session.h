// SPDX-License-Identifier: Apache-2.0
/* Inspector route, the CDP session: one capture's connection to the target's
 * inspector (opened with SIGUSR1 if needed, behind the connect guard), its requests,
 * the chunk transport (HeapProfiler.takeHeapSnapshot), the look-out for other
 * clients, and closing an inspector the agent opened. Shared by the route
 * (capture_inspector.c), the FIFO transport (inspector_fifo.c) and recovery.c. */
#ifndef HS_INSPECTOR_SESSION_H
#define HS_INSPECTOR_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/capture_route.h"
#include "proto/cdp.h"
#include "capture/inspector/inspector_port.h"
#include "base/wait.h"
#include "proto/ws.h"

/* Pause between looks at /proc/PID/net/tcp for the port (no event tells it). */
#define INSPECTOR_POLL_SLICE_MS 100
#define MAX_OWN_PORTS 8

/* CDP request ids: one request of each kind is in flight at a time. */
enum { SNAPSHOT_REQ_ID = 1, CLOSE_REQ_ID, FIFO_REQ_ID, SETTLE_REQ_ID };

struct session {
	struct capture_ctx *ctx;
	pid_t pid;
	int pidfd;
	int port;
	struct listener l;
	char host[64];               /* Host header and address for messages: "127.0.0.1:9229" */
	bool opened_by_us;
	bool other_ns;
	struct ws_conn *ws;
	struct cdp_decoder *dec;
	long want_id;
	bool replied;
	char reply_err[200];
	int store_rc;                 /* the store refused bytes: its negative errno (else 0) */
	uint64_t bytes_written;       /* to the store, by either transport */
	bool used_fifo;
	/* the connect guard and the window (an inspector we opened) */
	bool guarded;
	uint64_t netns_cookie;
	int64_t signalled_ms;         /* SIGUSR1 sent (mono) */
	int64_t gone_ms;              /* its port confirmed gone (mono), 0 = not (yet) */
	int own_ports[MAX_OWN_PORTS]; /* local ports of our connections to it */
	size_t nown;
	int64_t next_check_ms;
	bool intruded;                /* another client was seen on it */
	/* opening an inspector on a port not known in advance (process.debugPort) */
	struct listener *before;      /* the target's own listeners before SIGUSR1 (malloc'ed) */
	size_t nbefore;
	int *exempt;                  /* the namespace's listening ports then (malloc'ed) */
	size_t nexempt;
	bool seen_open;               /* its listener was seen after the signal */
	bool opening_guarded;         /* the whole-namespace "opening" guard is armed */
	bool close_unconfirmed;       /* closed (or not) without knowing its event loop turned */
	/* where the time goes (mono ms; 0 = not reached), logged once per capture */
	int64_t t_begin, t_open, t_attached, t_requested, t_first_byte, t_last_byte, t_close_begin, t_close_asked;
};


struct wait_spec session_wait(struct session *s, int64_t ms);
/* Every int function here returns 0, or a negative errno with the sentence in ctx->err
 * (capture_route.h). */
/* SIGUSR1, then wait for the target's own listener on the port. */
int session_open_inspector(struct session *s);
/* /json/list on a fresh connection, then the WebSocket on another. */
int session_attach(struct session *s, const struct wait_spec *w);
/* params is stolen. */
int session_send_request(struct session *s, int id, const char *method, json_t *params, const struct wait_spec *w);
/* ctx->err for a pump that did not return 0; its negative errno. */
int session_pump_error(struct session *s, int r);
/* Another client on an inspector we opened: -EACCES with the reason. At most every
 * INTRUDER_CHECK_MS unless forced. */
int session_check_intruders(struct session *s, bool force);
/* The port is someone else's (s->l, found and not owned): -EBUSY, saying whose. */
int session_fail_taken(struct session *s);
/* cdp decoder callbacks: bytes to the store, replies to want_id. */
int session_store_write(void *ctx, const void *buf, size_t len);
int session_on_message(void *ctx, json_t *msg);
/* The chunk transport. */
int session_take_snapshot(struct session *s, const struct wait_spec *w);
bool session_port_still_open(struct session *s);
/* Close the inspector we opened: first wait for its event loop to turn (bounded by
 * [capture] timeout_s; a cancel ends it early), so that the start SIGUSR1 queued has
 * run, then close it and wait until the port is gone. true only when both are
 * confirmed; false leaves s->guarded armed for the caller to keep. */
bool session_close_inspector(struct session *s);
/* A close that could not be confirmed: the guard stays armed (until the agent exits),
 * said once in the log. */
void session_keep_guard(struct session *s);
/* Frees what the opening left (before, exempt) and disarms its guard. */
void session_opening_done(struct session *s);
void session_describe_success(struct session *s, bool closed);
/* The connect guard on the port in the target's network namespace. */
int session_arm_guard(struct session *s);
void session_disarm_guard(struct session *s);
/* inspector_may_open, then arm the guard. */
int session_open_guarded(struct session *s);

#endif
