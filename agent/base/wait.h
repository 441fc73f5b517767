// SPDX-License-Identifier: Apache-2.0
/* The one bounded wait and cancel token of every room: the capture routes, the
 * WebSocket and HTTP clients and the alert hook's reaping of a killed child wait
 * through wait_poll / wait_fd (the uploader's transfers look at a cancel token from
 * curl's progress callback), on
 *  - a deadline (CLOCK_MONOTONIC ms, mono_ms() of loop.h),
 *  - a cancel token (may be NULL): an atomic flag plus an eventfd that cancel_fire
 *    makes readable, so a waiter in another thread wakes at once (no sleep slices),
 *  - optionally the target's pidfd (readable = it exited),
 *  - and the caller's fds (readable / writable).
 * The result is one enum with one string table. Precedence when several hold at once:
 * cancelled, then exited, then ready, then timed out. */
#ifndef HS_WAIT_H
#define HS_WAIT_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wait_result {
	WAIT_READY = 0,       /* one of the fds is ready (see their revents) */
	WAIT_TIMEOUT,         /* the deadline passed */
	WAIT_CANCELLED,       /* the cancel token fired */
	WAIT_EXITED,          /* the pidfd became readable: the target exited */
	WAIT_ERROR,           /* poll failed: errno */
};

/* "timed out", "cancelled (agent stopping)", "process exited during capture", ... */
const char *wait_result_str(enum wait_result r);

/* As a negative errno: 0, -ETIMEDOUT, -ECANCELED, -ESRCH (exited), -EIO. */
int wait_result_errno(enum wait_result r);

/* Set from any thread; waiters on it wake at once. */
struct cancel_token {
	atomic_bool set;
	int fd;               /* eventfd, readable once fired (-1 before cancel_token_init) */
};

/* 0, or -errno (the eventfd). */
int cancel_token_init(struct cancel_token *c);
/* Closes the eventfd. Accepts NULL and a token never initialised with fd = -1. */
void cancel_token_destroy(struct cancel_token *c);
void cancel_token_fire(struct cancel_token *c);
/* Clears the flag and drains the eventfd (the owner, between jobs). */
void cancel_token_reset(struct cancel_token *c);
/* NULL: false. */
bool cancel_token_is_set(const struct cancel_token *c);

struct wait_spec {
	int64_t deadline_ms;               /* every wait ends there */
	const struct cancel_token *cancel; /* may be NULL */
	int pidfd;                         /* the target's pidfd, or -1 */
};

/* A deadline ms from now. */
struct wait_spec wait_in(int64_t ms, const struct cancel_token *cancel, int pidfd);

/* Wait until one of fds[] (fd -1 entries are ignored) has revents, or the spec ends
 * it. revents are left for the caller. n = 0 waits for the spec alone (a bounded,
 * cancellable sleep that also ends when the target exits). */
enum wait_result wait_poll(const struct wait_spec *w, struct pollfd *fds, size_t n);
/* One fd for events (POLLIN / POLLOUT). fd -1 = wait_poll(w, NULL, 0). */
enum wait_result wait_fd(const struct wait_spec *w, int fd, short events);
/* Like wait_poll for the spec alone, but ending at most ms from now with WAIT_READY
 * (a short pause between looks at something that has no fd: /proc tables). */
enum wait_result wait_pause(const struct wait_spec *w, int ms);
/* Whether the pidfd is readable within ms (0 = now): a dying target closes its
 * sockets just before. -1 pidfd: false. */
bool wait_target_exited(int pidfd, int ms);

#endif
