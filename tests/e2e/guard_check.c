// SPDX-License-Identifier: Apache-2.0
/* The connect guard's semantics in the real kernel (e2e/85): arm a guard on this
 * process's network namespace for PORT and check, connect by connect, what it refuses
 * and what it lets through. One line per check; exit status 1 if any is wrong.
 *   refused (EPERM): TCP to 127.0.0.1, 127.0.0.2, 0.0.0.0, ::1, ::, ::ffff:127.0.0.1 on
 *                    PORT, and a TCP Fast Open sendto() to 127.0.0.1:PORT
 *   allowed:         an allowed socket; another port; UDP to PORT; the same port from
 *                    another network namespace; everything once disarmed
 * Also: a second arm of the same port is -EEXIST; with two guards armed, lifting one
 * keeps the other (the links stay while any guard is armed). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/inspector/connect_guard.h"

static int failures;

static void check(bool ok, const char *what, int err)
{
	printf("%s %s%s%s%s\n", ok ? "ok  " : "FAIL", what, err ? " (" : "", err ? strerror(err) : "", err ? ")" : "");
	failures += !ok;
}

static int sockaddr_of(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
		return -1;
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*a6);
	return AF_INET6;
}

/* connect() of a fresh socket: 0 or the errno. allow: through the guard. */
static int try_connect(struct connect_guard *g, const char *host, int port, int type, bool allow)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t cookie = 0;
	int family = sockaddr_of(host, port, &ss, &len), fd, err = 0;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (allow && connect_guard_allow(g, fd, &cookie) < 0)
		err = errno;
	if (!err && connect(fd, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	connect_guard_unallow(g, cookie);
	close(fd);
	return err;
}

static int try_fastopen(const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = sockaddr_of(host, port, &ss, &len), err = 0;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	if (sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	close(fd);
	return err;
}

static int listen_on(const char *host, int port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = sockaddr_of(host, port, &ss, &len), one = 1;
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		fprintf(stderr, "listen %s:%d: %s\n", host, port, strerror(errno));
		exit(2);
	}
	return fd;
}

/* The same connect from a child in a new network namespace: not the guarded one. */
static int try_other_netns(int port)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(200);
		_exit(try_connect(NULL, "127.0.0.1", port, SOCK_STREAM, false) & 0xff);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static uint64_t own_netns_cookie(void)
{
	uint64_t cookie = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect_guard_netns_cookie(fd, &cookie) < 0) {
		fprintf(stderr, "SO_NETNS_COOKIE: %s\n", strerror(errno));
		exit(2);
	}
	close(fd);
	return cookie;
}

static void refused_cases(struct connect_guard *g, int port)
{
	static const char *const hosts[] = { "127.0.0.1", "127.0.0.2", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1" };
	char what[96];

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		int err = try_connect(g, hosts[i], port, SOCK_STREAM, false);
		snprintf(what, sizeof(what), "TCP %s port %d refused", hosts[i], port);
		check(err == EPERM, what, err);
	}
	int err = try_fastopen("127.0.0.1", port);
	check(err == EPERM, "TCP Fast Open sendto 127.0.0.1 refused", err);
}

static void allowed_cases(struct connect_guard *g, int port, int other_port)
{
	int err = try_connect(g, "127.0.0.1", port, SOCK_STREAM, true);
	check(err == 0, "the agent's own (allowed) socket connects", err);
	err = try_connect(g, "127.0.0.1", other_port, SOCK_STREAM, false);
	check(err == 0, "another port connects", err);
	err = try_connect(g, "127.0.0.1", port, SOCK_DGRAM, false);
	check(err == 0, "UDP to the guarded port connects", err);
	err = try_other_netns(port);
	check(err != EPERM && err >= 0, "the same port in another network namespace is not refused", err > 0 ? err : 0);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 19360, other = port + 1;
	struct connect_guard *g = connect_guard_new("/proc/self/mountinfo");
	uint64_t netns, refused = 0;

	if (!connect_guard_available(g)) {
		printf("FAIL guard unavailable: %s\n", connect_guard_why(g));
		return 1;
	}
	listen_on("127.0.0.1", port, SOCK_STREAM);
	listen_on("::1", port, SOCK_STREAM);
	listen_on("127.0.0.1", port, SOCK_DGRAM);
	listen_on("127.0.0.1", other, SOCK_STREAM);
	netns = own_netns_cookie();

	check(try_connect(g, "127.0.0.1", port, SOCK_STREAM, false) == 0, "before arming: connects", 0);
	check(connect_guard_arm(g, netns, port) == 0, "armed", 0);
	check(connect_guard_arm(g, netns, port) == -EEXIST, "a second arm of the same port is refused", 0);
	refused_cases(g, port);
	allowed_cases(g, port, other);

	/* Two guards; lifting one keeps the other. */
	check(connect_guard_arm(g, netns, other) == 0, "second port armed", 0);
	check(try_connect(g, "127.0.0.1", other, SOCK_STREAM, false) == EPERM, "second port refused", 0);
	check(connect_guard_disarm(g, netns, other, NULL) == 0, "second port disarmed", 0);
	int err = try_connect(g, "127.0.0.1", port, SOCK_STREAM, false);
	check(err == EPERM, "the first guard still holds", err);
	check(connect_guard_refused(g, netns, port) == 8, "refused count so far is 8", 0);

	check(connect_guard_disarm(g, netns, port, &refused) == 0 && refused == 8, "disarmed, 8 refused", 0);
	err = try_connect(g, "127.0.0.1", port, SOCK_STREAM, false);
	check(err == 0, "after disarming: connects", err);
	err = try_connect(g, "::1", port, SOCK_STREAM, false);
	check(err == 0, "after disarming: ::1 connects", err);
	if (argc > 2) { /* the script checks nothing is attached while this waits */
		printf("waiting\n");
		fflush(stdout);
		pause();
	}
	connect_guard_free(g);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
