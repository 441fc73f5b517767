// SPDX-License-Identifier: Apache-2.0
#include "daemon/state.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/err.h"
#include "base/loop.h"

#define STATE_MAX_BYTES (64u << 20)

static int make_addr(const char *path, struct sockaddr_un *addr, char *err, size_t errlen)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		snprintf(err, errlen, "state socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr->sun_path, path);
	return 0;
}

int state_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	char dir[PATH_MAX];
	int fd, rc;

	if ((rc = make_addr(path, &addr, err, errlen)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) && errno != EEXIST) {
		rc = ERR_ERRNO();
		snprintf(err, errlen, "state socket %s: cannot create its directory: %s", path, strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = ERR_ERRNO();
		snprintf(err, errlen, "state socket: %s", strerror(-rc));
		return rc;
	}
	unlink(path);
	mode_t old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc || listen(fd, 16)) {
		rc = ERR_ERRNO();
		snprintf(err, errlen, "state socket %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

/* One reply, shared by the clients accepted together. */
struct reply {
	unsigned refs;
	size_t len;
	char text[];
};

struct client {
	int fd;
	struct reply *reply;
	size_t off;
	int64_t deadline_ms;
};

struct state_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int epfd;                      /* the listening socket (in) and every client (out) */
	struct client clients[STATE_MAX_CLIENTS];
	unsigned nclients;
};

static void reply_put(struct reply *r)
{
	if (r && --r->refs == 0)
		free(r);
}

struct state_server *state_server_new(const char *path, char *err, size_t errlen)
{
	struct state_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!s) {
		snprintf(err, errlen, "state socket: out of memory");
		return NULL;
	}
	s->epfd = -1;
	s->listen_fd = state_listen(path, err, errlen);
	if (s->listen_fd < 0) {
		free(s);
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	ev.data.fd = s->listen_fd;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev)) {
		snprintf(err, errlen, "state socket: epoll: %s", strerror(errno));
		state_server_free(s);
		return NULL;
	}
	return s;
}

int state_server_fd(const struct state_server *s)
{
	return s->epfd;
}

static void drop_client(struct state_server *s, unsigned i)
{
	struct client *c = &s->clients[i];

	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	reply_put(c->reply);
	*c = s->clients[--s->nclients];
}

/* Accept every waiting client; they share one reply made by text(ctx). */
static void accept_clients(struct state_server *s, char *(*text)(void *ctx), void *ctx, int64_t now)
{
	struct reply *r = NULL;
	int fd;

	while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
		if (!r) {
			char *t = text(ctx);
			size_t len = t ? strlen(t) : 0;
			r = t ? malloc(sizeof(*r) + len) : NULL;
			if (r) {
				*r = (struct reply){ .refs = 1, .len = len };
				memcpy(r->text, t, len);
			}
			free(t);
		}
		if (!r || s->nclients == STATE_MAX_CLIENTS || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd); /* the client sees EOF at once, with nothing: ps says so */
			continue;
		}
		r->refs++;
		s->clients[s->nclients++] = (struct client){ .fd = fd, .reply = r, .deadline_ms = now + STATE_CLIENT_TIMEOUT_MS };
	}
	reply_put(r);
}

/* Send what the client's socket takes now. false: done or gone (drop it). */
static bool send_some(struct client *c)
{
	while (c->off < c->reply->len) {
		ssize_t n = send(c->fd, c->reply->text + c->off, c->reply->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->off += (size_t)n;
	}
	return false;
}

void state_server_run(struct state_server *s, char *(*text)(void *ctx), void *ctx)
{
	int64_t now = mono_ms();

	accept_clients(s, text, ctx, now);
	for (unsigned i = 0; i < s->nclients;) {
		if (send_some(&s->clients[i]) && s->clients[i].deadline_ms > now)
			i++;
		else
			drop_client(s, i);
	}
}

unsigned state_server_clients(const struct state_server *s)
{
	return s->nclients;
}

void state_server_free(struct state_server *s)
{
	if (!s)
		return;
	while (s->nclients)
		drop_client(s, 0);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	free(s);
}

char *state_fetch(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	struct timeval tv = { .tv_sec = 5 };
	size_t len = 0, cap = 65536;
	char *buf;
	int fd;

	if (make_addr(path, &addr, err, errlen))
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		snprintf(err, errlen, "cannot reach heapsnapd at %s: %s (is the agent running?)", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			char *grown = cap >= STATE_MAX_BYTES ? NULL : realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				snprintf(err, errlen, "state from %s too large", path);
				break;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	return buf;
}
