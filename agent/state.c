#include "state.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define STATE_MAX_BYTES (64u << 20)

static int make_addr(const char *path, struct sockaddr_un *addr, char *err, size_t errlen)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		snprintf(err, errlen, "state socket path too long: %s", path);
		return -1;
	}
	strcpy(addr->sun_path, path);
	return 0;
}

int state_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	char dir[PATH_MAX];
	int fd;

	if (make_addr(path, &addr, err, errlen))
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) && errno != EEXIST) {
		snprintf(err, errlen, "state socket %s: cannot create its directory: %s", path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "state socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc || listen(fd, 16)) {
		snprintf(err, errlen, "state socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void state_serve(int listen_fd, const char *text)
{
	struct timeval tv = { .tv_sec = 1 };
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	size_t len = strlen(text), off = 0;

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
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
