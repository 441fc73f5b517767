/* The agent's state socket: a unix stream socket (0600, root) on which every
 * connection receives the live process table as one JSON array, then EOF.
 * `heapsnap ps` reads it. */
#ifndef HS_STATE_H
#define HS_STATE_H

#include <stddef.h>

/* Listen on path (its directory is created 0700 if missing; a stale socket is
 * replaced). Returns the listening fd, or -1 with err. */
int state_listen(const char *path, char *err, size_t errlen);
/* Accept one client and send it text (bounded by a send timeout). */
void state_serve(int listen_fd, const char *text);
/* Connect and read the whole reply (malloc'ed, NUL-terminated), or NULL with err. */
char *state_fetch(const char *path, char *err, size_t errlen);

#endif
