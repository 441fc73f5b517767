// SPDX-License-Identifier: Apache-2.0
#include "base/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_FDS 32

struct handler {
	int fd;
	loop_fn fn;
	void *ctx;
};

struct loop {
	int epfd;
	int timerfd;
	bool stop;
	struct handler handlers[LOOP_MAX_FDS];
	struct handler tick;
};

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

struct timespec mono_after_ms(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->timerfd = -1;
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		l->handlers[i].fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->timerfd >= 0)
		close(l->timerfd);
	close(l->epfd);
	free(l);
}

static int add_handler(struct loop *l, struct handler *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev) ? -errno : 0;
}

int loop_add(struct loop *l, int fd, loop_fn fn, void *ctx)
{
	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		struct handler *h = &l->handlers[i];
		if (h->fd >= 0)
			continue;
		*h = (struct handler){ .fd = fd, .fn = fn, .ctx = ctx };
		int rc = add_handler(l, h);
		if (rc)
			h->fd = -1;
		return rc;
	}
	return -ENOSPC;
}

void loop_del(struct loop *l, int fd)
{
	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (l->handlers[i].fd == fd) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->handlers[i].fd = -1;
		}
	}
}

int loop_tick(struct loop *l, unsigned interval_ms, loop_fn fn, void *ctx)
{
	struct itimerspec its = {
		.it_interval = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000 },
	};

	if (l->timerfd >= 0)
		return -EBUSY;
	its.it_value = its.it_interval;
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->timerfd < 0)
		return -errno;
	if (timerfd_settime(l->timerfd, 0, &its, NULL))
		return -errno;
	l->tick = (struct handler){ .fd = l->timerfd, .fn = fn, .ctx = ctx };
	return add_handler(l, &l->tick);
}

static void dispatch(struct loop *l, struct handler *h)
{
	if (h == &l->tick) {
		uint64_t expirations;
		if (read(l->timerfd, &expirations, sizeof(expirations)) < 0)
			return;
	}
	h->fn(h->ctx);
}

int loop_run(struct loop *l)
{
	struct epoll_event events[LOOP_MAX_FDS];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, events, LOOP_MAX_FDS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct handler *h = events[i].data.ptr;
			if (h->fd >= 0)
				dispatch(l, h);
		}
	}
	return 0;
}

void loop_stop(struct loop *l) { l->stop = true; }
