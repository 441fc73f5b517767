// SPDX-License-Identifier: Apache-2.0
/* Inspector route, port discovery: which LISTEN socket is the target's inspector,
 * from /proc/PID/net/tcp{,6} (the target's own network namespace) and the socket
 * inodes among its fds; who holds a port it cannot have; whether the agent may open
 * the inspector itself; and which connections to it are not the agent's. */
#ifndef HS_INSPECTOR_PORT_H
#define HS_INSPECTOR_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"
#include "track/procs.h"

struct connect_guard;

#define INSPECTOR_MAX_LISTENERS 256

struct listener {
	bool found;
	bool owned;                  /* the socket inode is one of the target's fds */
	int family;                  /* AF_INET or AF_INET6 */
	int port;
	uint8_t addr[16];            /* network order */
	unsigned long inode;
};

/* The port the inspector listens on or will (--inspect-port, else 9229). */
int inspector_port(const struct proc_info *p);
/* The listener on the port, preferring one the target owns (found unset: none). */
struct listener inspector_find_listener(pid_t pid, int port);
/* The LISTEN sockets the process owns, on any port. */
size_t inspector_owned_listeners(pid_t pid, struct listener *out, size_t max);
/* --inspect-port=0: the listener the process did not have before the signal. */
bool inspector_find_new_listener(pid_t pid, const struct listener *before, size_t nbefore, struct listener *out);
/* Pure: the listener's address is a loopback one (127/8, ::1, ::ffff:127/104):
 * 0.0.0.0 and :: are not (they listen on every interface). */
bool listener_on_loopback(const struct listener *l);
/* "127.0.0.1:9229", "[::]:9229". */
void listener_address(const struct listener *l, char *out, size_t outlen);
/* Every port with a LISTEN socket in pid's network namespace, whoever owns it (no
 * duplicates). The count, or -E2BIG when more than max. */
ssize_t inspector_netns_listen_ports(pid_t pid, int *out, size_t max);
/* "inspector port P is taken by pid N (comm)" into out. */
void inspector_describe_taken(const struct listener *l, int port, char *out, size_t outlen);
/* Whether the agent may open the inspector itself (the connect guard, or the
 * operator's inspector_unguarded); false with why. */
bool inspector_may_open(const struct proc_info *p, const struct config *cfg, const struct connect_guard *g, char *why,
			size_t whylen);
/* Pure: one line of /proc/PID/net/tcp{,6}. The peer port when it is an ESTABLISHED
 * connection to local port `port` whose peer is none of own[] (the agent's own
 * connections), else 0. */
int inspector_foreign_peer(const char *line, int port, const int *own, size_t nown);
/* The first connection to pid's inspector on port that is not one of own[], or 0. */
int inspector_foreign_peer_of(pid_t pid, int port, const int *own, size_t nown);

#endif
