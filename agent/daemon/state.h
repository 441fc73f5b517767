// SPDX-License-Identifier: Apache-2.0
/* The agent's state socket: a unix stream socket (0600, root) on which every
 * connection receives the live process table as one JSON array, then EOF.
 * `heapsnap ps` reads it. */
#ifndef HS_STATE_H
#define HS_STATE_H

#include <stddef.h>

/* Listen on path (its directory is created 0700 if missing; a stale socket is
 * replaced). Returns the listening fd, or a negative errno with err. */
int state_listen(const char *path, char *err, size_t errlen);
/* The agent's side, which never blocks its loop: replies go out as the clients' sockets
 * take them; a client that has not read its reply within STATE_CLIENT_TIMEOUT_MS is
 * dropped, and one past STATE_MAX_CLIENTS at a time gets EOF at once. */
#define STATE_CLIENT_TIMEOUT_MS 5000
#define STATE_MAX_CLIENTS 32
struct state_server;

/* Listen on path (state_listen). NULL with err. */
struct state_server *state_server_new(const char *path, char *err, size_t errlen);
/* Readable when state_server_run has work: a client to accept or to send to. */
int state_server_fd(const struct state_server *s);
/* Accept waiting clients (text(ctx), malloc'ed, made once for all of them), send what
 * the sockets take, drop clients done or past their deadline. Call it when its fd is
 * readable and now and then (the deadlines). */
void state_server_run(struct state_server *s, char *(*text)(void *ctx), void *ctx);
/* Clients still being answered. */
unsigned state_server_clients(const struct state_server *s);
/* Closes every client and the socket (removed). Accepts NULL. */
void state_server_free(struct state_server *s);
/* Connect and read the whole reply (malloc'ed, NUL-terminated), or NULL with err. */
char *state_fetch(const char *path, char *err, size_t errlen);

#endif
