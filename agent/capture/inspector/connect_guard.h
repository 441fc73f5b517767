// SPDX-License-Identifier: Apache-2.0
/* The inspector connect guard, user side of bpf/connect_guard.bpf.c.
 *
 * Node's inspector has no authentication: a session on it is code execution in the
 * target as the target's user. While a capture holds an inspector the agent opened,
 * the guard refuses connect() to that port on the loopback of the target's network
 * namespace from every socket but the agent's own (allowed by socket cookie). The
 * BPF programs are attached to the cgroup v2 root as bpf_links only while at least
 * one guard is armed; a link belongs to this process, so an agent that dies (even by
 * SIGKILL) leaves nothing behind that blocks the port.
 *
 * All calls are thread-safe (capture workers arm and disarm concurrently). */
#ifndef HS_CONNECT_GUARD_H
#define HS_CONNECT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct connect_guard;

/* Find the cgroup v2 hierarchy's root in mountinfo_path (normally
 * /proc/self/mountinfo; a mount below the root, or an agent in a cgroup namespace,
 * makes the guard unavailable: it would not be effective), load the programs and
 * check that they attach (then detach them again). Never NULL except out of memory:
 * an unusable guard says why through connect_guard_why(). */
struct connect_guard *connect_guard_new(const char *mountinfo_path);
void connect_guard_free(struct connect_guard *g);

/* Whether guards can be armed (false for NULL). */
bool connect_guard_available(const struct connect_guard *g);
/* Why not (for messages), or where it is attached ("cgroup v2 root /sys/fs/cgroup"). */
const char *connect_guard_why(const struct connect_guard *g);

/* Refuse connects to port on the loopback of the network namespace whose cookie is
 * netns_cookie. 0, -EEXIST when that port is guarded already, or -errno. */
int connect_guard_arm(struct connect_guard *g, uint64_t netns_cookie, int port);
/* Undo arm; *refused (may be NULL) gets how many connects it refused. 0 or -errno. */
int connect_guard_disarm(struct connect_guard *g, uint64_t netns_cookie, int port, uint64_t *refused);
/* While an inspector opens on a port not known in advance: refuse loopback connects
 * to every port of the namespace but exempt_ports (those listening before the
 * signal). One per namespace at a time (-EEXIST), -E2BIG for too many exempt ports. */
#define CG_MAX_EXEMPT_PORTS 4096
int connect_guard_arm_opening(struct connect_guard *g, uint64_t netns_cookie, const int *exempt_ports, size_t n);
int connect_guard_disarm_opening(struct connect_guard *g, uint64_t netns_cookie, const int *exempt_ports, size_t n,
				 uint64_t *refused);
/* How many connects an armed guard has refused so far (0 when not armed). */
uint64_t connect_guard_refused(struct connect_guard *g, uint64_t netns_cookie, int port);

/* Let the socket fd through the guards (call before its connect(), then unallow).
 * 0 with *cookie set, or -errno. A NULL guard allows trivially. */
int connect_guard_allow(struct connect_guard *g, int fd, uint64_t *cookie);
void connect_guard_unallow(struct connect_guard *g, uint64_t cookie);

/* The network namespace cookie of socket fd (SO_NETNS_COOKIE). 0 or -errno. */
int connect_guard_netns_cookie(int fd, uint64_t *cookie);

/* Pure (unit-tested): the mount point of the first cgroup2 file system in a
 * /proc/mounts text, octal escapes (\040) decoded. 0, -ENOENT when none, -ENAMETOOLONG. */
int cgroup2_mount_find(const char *table, char *out, size_t outlen);

/* Pure (unit-tested): in a /proc/self/mountinfo text, the mount point of the first
 * cgroup2 mount whose root is the hierarchy's root ("/"). 0; -EXDEV when cgroup2 is
 * mounted only below its root (out: the first such mount point); -ENOENT when none;
 * -ENAMETOOLONG. */
int cgroup2_hierarchy_root_find(const char *mountinfo, char *out, size_t outlen);

/* Pure: whether an inspector host (--inspect-port=HOST:PORT, "" = Node's default
 * 127.0.0.1) is a loopback address, the only kind a connect guard on this host can
 * keep others away from. */
bool inspect_host_is_loopback(const char *host);

#endif
