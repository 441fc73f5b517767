// SPDX-License-Identifier: Apache-2.0
/* Unit tests of state.c's server (issue 10): the agent's loop never blocks on a client.
 * A client that connects and never reads a reply larger than its socket buffer must not
 * delay another client's answer, and is dropped after STATE_CLIENT_TIMEOUT_MS. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/loop.h"
#include "daemon/state.h"

#define REPLY_BYTES (8u << 20) /* far more than a unix socket buffers */

static char dir[] = "/tmp/hs-state-XXXXXX";
static char sock[96];
static char *reply;

static char *make_text(void *ctx)
{
	(void)ctx;
	return strdup(reply);
}

static int connect_client(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* One turn of the agent's loop: the server's fd readable -> state_server_run, timed. */
static int64_t serve_once(struct state_server *s, int wait_ms)
{
	struct pollfd p = { .fd = state_server_fd(s), .events = POLLIN };
	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	int64_t t0 = mono_ms();
	state_server_run(s, make_text, NULL);
	return mono_ms() - t0;
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/hs-state-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	reply = malloc(REPLY_BYTES + 1);
	if (!reply)
		return -1;
	memset(reply, 'x', REPLY_BYTES);
	reply[REPLY_BYTES] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(reply);
	unlink(sock);
	return rmdir(dir);
}

static void test_stuck_client_does_not_block(void **state)
{
	(void)state;
	char err[256], buf[65536];
	struct state_server *s = state_server_new(sock, err, sizeof(err));
	assert_non_null(s);

	int stuck = connect_client(); /* never reads */
	int64_t worst = serve_once(s, 1000);
	int reader = connect_client();
	size_t got = 0;
	bool eof = false;
	int64_t deadline = mono_ms() + 3000;
	while (!eof && mono_ms() < deadline) {
		int64_t took = serve_once(s, 10);
		if (took > worst)
			worst = took;
		ssize_t n;
		while ((n = read(reader, buf, sizeof(buf))) > 0)
			got += (size_t)n;
		eof = n == 0;
	}
	assert_true(eof);
	assert_int_equal(got, REPLY_BYTES); /* the whole reply, while the other sat on its own */
	assert_true(worst < 500);            /* no turn of the loop waited on a client */
	assert_int_equal(state_server_clients(s), 1);

	/* the client that does not read is dropped after its deadline: it sees EOF */
	deadline = mono_ms() + STATE_CLIENT_TIMEOUT_MS + 2000;
	while (state_server_clients(s) && mono_ms() < deadline) {
		usleep(100 * 1000);
		state_server_run(s, make_text, NULL); /* the agent's tick */
	}
	assert_int_equal(state_server_clients(s), 0);
	size_t drained = 0;
	ssize_t n;
	while ((n = read(stuck, buf, sizeof(buf))) > 0)
		drained += (size_t)n;
	assert_int_equal(n, 0);
	assert_true(drained < REPLY_BYTES);
	close(stuck);
	close(reader);
	state_server_free(s);
	assert_int_not_equal(access(sock, F_OK), 0); /* the socket is removed */
}

/* Clients past STATE_MAX_CLIENTS get EOF at once; the loop still never blocks. */
static void test_too_many_clients(void **state)
{
	(void)state;
	char err[256], buf[16];
	int fds[STATE_MAX_CLIENTS + 1];
	struct state_server *s = state_server_new(sock, err, sizeof(err));
	assert_non_null(s);

	int64_t worst = 0; /* one turn in the server, not the wait for the next client: a turn
	                      that waited on a client that does not read would take seconds */
	for (int i = 0; i <= STATE_MAX_CLIENTS; i++) {
		fds[i] = connect_client(); /* none of them reads */
		int64_t took = serve_once(s, 100);
		worst = took > worst ? took : worst;
	}
	assert_true(worst < 1000);
	assert_int_equal(state_server_clients(s), STATE_MAX_CLIENTS);
	/* the last one was closed without a reply */
	struct pollfd p = { .fd = fds[STATE_MAX_CLIENTS], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(read(fds[STATE_MAX_CLIENTS], buf, sizeof(buf)), 0);
	for (int i = 0; i <= STATE_MAX_CLIENTS; i++)
		close(fds[i]);
	state_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stuck_client_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
