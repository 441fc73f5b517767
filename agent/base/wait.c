// SPDX-License-Identifier: Apache-2.0
/* The one bounded wait (see wait.h). */
#include "base/wait.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/loop.h"
#include "base/strtab.h"

#define MAX_WAIT_FDS 8

static const char *const wait_result_names[] = {
	[WAIT_READY] = "ready",
	[WAIT_TIMEOUT] = "timed out",
	[WAIT_CANCELLED] = "cancelled (agent stopping)",
	[WAIT_EXITED] = "process exited during capture",
	[WAIT_ERROR] = "poll failed",
};

const char *wait_result_str(enum wait_result r)
{
	return STRTAB_NAME(wait_result_names, (unsigned)r, "unknown wait result");
}

int wait_result_errno(enum wait_result r)
{
	switch (r) {
	case WAIT_READY: return 0;
	case WAIT_TIMEOUT: return -ETIMEDOUT;
	case WAIT_CANCELLED: return -ECANCELED;
	case WAIT_EXITED: return -ESRCH;
	default: return -EIO;
	}
}

int cancel_token_init(struct cancel_token *c)
{
	atomic_init(&c->set, false);
	c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return c->fd < 0 ? -errno : 0;
}

void cancel_token_destroy(struct cancel_token *c)
{
	if (c && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

void cancel_token_fire(struct cancel_token *c)
{
	uint64_t one = 1;

	atomic_store(&c->set, true);
	if (c->fd >= 0 && write(c->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* the flag alone still ends every wait at its next look */
}

void cancel_token_reset(struct cancel_token *c)
{
	uint64_t count;

	atomic_store(&c->set, false);
	if (c->fd >= 0 && read(c->fd, &count, sizeof(count)) < 0)
		return; /* EAGAIN: it was not fired */
}

bool cancel_token_is_set(const struct cancel_token *c)
{
	return c && atomic_load(&c->set);
}

struct wait_spec wait_in(int64_t ms, const struct cancel_token *cancel, int pidfd)
{
	return (struct wait_spec){ .deadline_ms = mono_ms() + ms, .cancel = cancel, .pidfd = pidfd };
}

/* poll() until end_ms: fds[0] the cancel fd, fds[1] the pidfd, then the caller's. */
static enum wait_result wait_until(const struct wait_spec *w, struct pollfd *fds, size_t n, int64_t end_ms,
				   enum wait_result at_end)
{
	struct pollfd all[2 + MAX_WAIT_FDS];
	size_t total = 2;

	if (n > MAX_WAIT_FDS) {
		errno = EINVAL;
		return WAIT_ERROR;
	}
	all[0] = (struct pollfd){ .fd = w->cancel ? w->cancel->fd : -1, .events = POLLIN };
	all[1] = (struct pollfd){ .fd = w->pidfd, .events = POLLIN };
	for (size_t i = 0; i < n; i++)
		all[total++] = fds[i];
	for (;;) {
		if (cancel_token_is_set(w->cancel))
			return WAIT_CANCELLED;
		int64_t left = end_ms - mono_ms();
		if (left <= 0)
			return at_end;
		int rc = poll(all, total, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0 && errno != EINTR)
			return WAIT_ERROR;
		if (rc <= 0)
			continue;
		if (all[0].revents && cancel_token_is_set(w->cancel))
			return WAIT_CANCELLED;
		if (all[1].revents)
			return WAIT_EXITED;
		bool ready = false;
		for (size_t i = 0; i < n; i++) {
			fds[i].revents = all[2 + i].revents;
			ready |= fds[i].revents != 0;
		}
		if (ready)
			return WAIT_READY;
		if (all[0].revents)
			all[0].fd = -1; /* fired and reset already: do not spin on it */
	}
}

enum wait_result wait_poll(const struct wait_spec *w, struct pollfd *fds, size_t n)
{
	return wait_until(w, fds, n, w->deadline_ms, WAIT_TIMEOUT);
}

enum wait_result wait_fd(const struct wait_spec *w, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return wait_poll(w, &p, fd >= 0 ? 1 : 0);
}

enum wait_result wait_pause(const struct wait_spec *w, int ms)
{
	int64_t end = mono_ms() + ms;

	if (end >= w->deadline_ms)
		return wait_until(w, NULL, 0, w->deadline_ms, WAIT_TIMEOUT);
	return wait_until(w, NULL, 0, end, WAIT_READY);
}

bool wait_target_exited(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return pidfd >= 0 && poll(&p, 1, ms) > 0;
}
