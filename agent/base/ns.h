// SPDX-License-Identifier: Apache-2.0
/* The namespace seam: creating a socket inside a target process's network namespace
 * (a Node inspector in a container listens on the container's own loopback).
 * Only the calling thread ever changes namespace, and only for the socket() call:
 * a socket keeps the namespace it was created in for its whole life (connect,
 * routing), so the agent itself never moves. */
#ifndef HS_NS_H
#define HS_NS_H

#include <sys/types.h>

/* Returns 1 if /proc/PID/ns/net differs from the calling thread's (/proc/thread-self/ns/net) (by device and inode),
 * 0 if it is the same namespace, a negative errno on failure (-ENOENT: process gone). */
int ns_net_differs(pid_t pid);

/* socket(domain, type | SOCK_CLOEXEC, protocol) created in pid's network namespace.
 * When that namespace is ours, a plain socket(). Otherwise: setns(CLONE_NEWNET) into
 * it on the calling thread, socket(), setns back to the thread's original namespace.
 * Returns the fd, or a negative errno (-EPERM without CAP_SYS_ADMIN). If the way back
 * fails (it should not: we hold an fd on our own namespace), the new socket is closed,
 * the result is -ENOTRECOVERABLE and the calling thread is left in the target's namespace:
 * the caller must treat it as fatal for that thread. */
int ns_socket(pid_t pid, int domain, int type, int protocol);

#endif
