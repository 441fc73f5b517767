// SPDX-License-Identifier: Apache-2.0
/* A tiny event loop (after redis ae): file events on one epoll fd plus a periodic
 * tick from a timerfd; EINTR means "no events". Single-threaded: handlers run on
 * the loop's thread. */
#ifndef HS_LOOP_H
#define HS_LOOP_H

#include <stdint.h>
#include <time.h>

struct loop;
typedef void (*loop_fn)(void *ctx);

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* Call fn(ctx) whenever fd is readable. 0 or -errno. */
int loop_add(struct loop *l, int fd, loop_fn fn, void *ctx);
void loop_del(struct loop *l, int fd);
/* Call fn(ctx) every interval_ms. 0 or -errno (one tick per loop). */
int loop_tick(struct loop *l, unsigned interval_ms, loop_fn fn, void *ctx);
/* Run until loop_stop. 0, or -errno on an epoll failure. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* Monotonic and wall clocks in ms. */
int64_t mono_ms(void);
int64_t wall_ms(void);
/* CLOCK_MONOTONIC now + ms, as a timespec (for a pthread_cond_timedwait on a condition
 * created with that clock). */
struct timespec mono_after_ms(int64_t ms);

#endif
