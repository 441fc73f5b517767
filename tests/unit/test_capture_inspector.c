// SPDX-License-Identifier: Apache-2.0
/* End-to-end tests of the inspector capture route (agent/capture/inspector/capture_inspector.c) against
 * a real /usr/bin/node: a flagless node opened with SIGUSR1 on 9229 and closed again,
 * a node already started with --inspect (used and left open), an app handling SIGUSR1
 * itself, a port taken by another process, the target dying mid-capture, and (root
 * only) a node in its own pid+mount+net namespaces. The store writer is a test double
 * collecting the bytes; the snapshot is then checked with node itself.
 * Ports: 9229 where it is the point, 1930x elsewhere; tests run one at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/inspector/capture_inspector.h"
#include "capture/inspector/inspector_port.h"
#include "capture/capture_route.h"
#include "base/loop.h"
#include "proto/ws.h"

/* HEAPSNAP_TEST_NODE=/path/to/node runs the same tests on another Node version. */
static char *node_bin(void)
{
	char *n = getenv("HEAPSNAP_TEST_NODE");
	return n && *n ? n : "/usr/bin/node";
}
#define NODE node_bin()
#define LEAK_JS "const keep=[];setInterval(()=>{for(let i=0;i<200;i++)keep.push({i,s:'leak'+i})},20);console.log('ready')"

/* --- test doubles --------------------------------------------------------------- */

struct store_writer {
	char *buf;
	size_t len, cap;
	pid_t kill_on_first_write;
	struct cancel_token *cancel_on_first_write;
};

int store_writer_write(struct store_writer *w, const void *buf, size_t len)
{
	if (w->cancel_on_first_write) {
		cancel_token_fire(w->cancel_on_first_write);
		w->cancel_on_first_write = NULL;
	}
	if (w->kill_on_first_write) {
		kill(w->kill_on_first_write, SIGKILL);
		w->kill_on_first_write = 0;
	}
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1 << 20;
		while (cap < w->len + len)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, buf, len);
	w->len += len;
	return 0;
}

const char *store_writer_error(const struct store_writer *w)
{
	(void)w;
	return "test double error";
}

/* Weak: the real procs_pidfd_* (agent/track/pidfd.c) need not exist yet; if it does, these
 * still win because nothing else pulls that object in. */
static int signals_sent;

__attribute__((weak)) int procs_pidfd_open(pid_t pid, uint64_t start_time)
{
	(void)start_time;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
}

__attribute__((weak)) int procs_pidfd_signal(int pidfd, int sig)
{
	signals_sent++;
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* --- helpers ----------------------------------------------------------------------- */

/* Runs argv with stdout on a pipe and waits (bounded) for a line "ready". */
static pid_t spawn_ready(char *const argv[])
{
	int p[2];
	pid_t pid;
	char buf[256];
	size_t have = 0;
	int64_t deadline = mono_ms() + 15000;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (mono_ms() < deadline) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		if (poll(&pfd, 1, 250) <= 0)
			continue;
		ssize_t n = read(p[0], buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "ready"))
			break;
	}
	close(p[0]);
	if (!strstr(buf, "ready")) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("%s did not become ready", argv[0]);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0 && kill(pid, 0) == 0;
}

static bool port_listening(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;

	close(fd);
	return ok;
}

static void fill_proc(struct proc_info *p, pid_t pid, int port, bool inspect)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->opts.inspect_port = port;
	p->opts.inspect = inspect;
	snprintf(p->comm, sizeof(p->comm), "node");
}

static void fill_cfg(struct config *cfg, unsigned start_timeout_s)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->start_timeout_s = start_timeout_s;
	cfg->timeout_s = 60;
	cfg->inspector_unguarded = true; /* no connect guard without root: these are about the protocol */
}

/* One test's target process as the route sees it, and what the capture writes. */
struct target {
	struct proc_info p;
	struct config cfg;
	struct store_writer w;
	struct capture_ctx ctx;
};

/* A node started from argv and ready, described as the agent would see it (t->p), with
 * a config whose start timeout is start_timeout_s (t->cfg). */
static pid_t start_target(struct target *t, char *const argv[], int port, bool inspect,
			  unsigned start_timeout_s)
{
	pid_t pid = spawn_ready(argv);

	fill_proc(&t->p, pid, port, inspect);
	fill_cfg(&t->cfg, start_timeout_s);
	return pid;
}

static struct cancel_token cancel_flag = { .fd = -1 };

static enum inspector_transport transport = INSPECTOR_AUTO;

static int capture(const struct proc_info *p, const struct config *cfg, struct store_writer *w,
		   struct capture_ctx *ctx)
{
	if (cancel_flag.fd < 0)
		assert_int_equal(cancel_token_init(&cancel_flag), 0);
	cancel_token_reset(&cancel_flag);
	*ctx = (struct capture_ctx){ .proc = p, .cfg = cfg, .w = w, .cancel = &cancel_flag };
	signals_sent = 0;
	return transport == INSPECTOR_AUTO ? capture_via_inspector(ctx) : capture_inspector_run(ctx, transport);
}

static void no_leftover_fifo(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ls /tmp/.heapsnap-%d-* >/dev/null 2>&1", (int)getpid());
	assert_int_not_equal(system(cmd), 0);
}

/* The snapshot parses and its arrays have the sizes its header announces. */
static void assert_snapshot_valid(const struct store_writer *w)
{
	char path[] = "/tmp/test_capture_inspector.XXXXXX";
	int fd = mkstemp(path), status;
	pid_t pid;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, w->buf, w->len), (ssize_t)w->len);
	close(fd);
	pid = fork();
	if (pid == 0) {
		execl(NODE, NODE, "-e",
		      "const s=JSON.parse(require('fs').readFileSync(process.argv[1]));const h=s.snapshot;"
		      "process.exit(h.node_count>100&&s.nodes.length===h.node_count*h.meta.node_fields.length&&"
		      "s.edges.length===h.edge_count*h.meta.edge_fields.length?0:3)", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	unlink(path);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_contains(const char *s, const char *needle)
{
	if (!strstr(s, needle))
		fail_msg("\"%s\" does not contain \"%s\"", s, needle);
}

/* The same process again, through the CDP chunk transport (the first capture took
 * the FIFO). */
/* The same capture once more through chunks: it must say detail and be whole. */
static void capture_again_with_chunks(const struct proc_info *p, const struct config *cfg,
				      struct store_writer *w, struct capture_ctx *ctx, const char *detail)
{
	free(w->buf);
	*w = (struct store_writer){ 0 };
	transport = INSPECTOR_CHUNKS;
	int rc = capture(p, cfg, w, ctx);
	transport = INSPECTOR_AUTO;
	if (rc != 0)
		fail_msg("capture through chunks failed: %s", ctx->err);
	assert_contains(ctx->detail, detail);
	assert_snapshot_valid(w);
}

/* --- tests --------------------------------------------------------------------------- */

static void test_flagless_node_captured_and_closed(void **state)
{
	char *argv[] = { NODE, "-e", LEAK_JS, NULL };
	struct target t = { 0 };
	char why[256];
	(void)state;

	if (port_listening(9229))
		skip(); /* something else owns 9229 on this host */
	pid_t pid = start_target(&t, argv, 0, false, 10);
	assert_true(capture_inspector_usable(&t.p, &t.cfg, NULL, why, sizeof(why), NULL));
	if (capture(&t.p, &t.cfg, &t.w, &t.ctx) != 0)
		fail_msg("capture failed: %s", t.ctx.err);
	assert_int_equal(signals_sent, 1);
	assert_contains(t.ctx.detail, "127.0.0.1:9229, opened with SIGUSR1 and closed (FIFO)");
	assert_snapshot_valid(&t.w);
	assert_true(alive(pid));
	assert_false(port_listening(9229));
	no_leftover_fifo();
	capture_again_with_chunks(&t.p, &t.cfg, &t.w, &t.ctx, "127.0.0.1:9229, opened with SIGUSR1 and closed (chunks)");
	assert_false(port_listening(9229));
	assert_true(alive(pid));
	stop(pid);
	free(t.w.buf);
}

/* --inspect-port=0: Node picks the inspector's port when SIGUSR1 opens it. The app
 * listens on a port of its own too: the route must take the listener the signal made
 * appear (the app's HTTP server would not answer /json/list) and close it afterwards. */
static void test_random_port_found_and_closed(void **state)
{
	char *argv[] = { NODE, "--inspect-port=0", "-e",
			 "require('http').createServer((q,r)=>r.end('app')).listen(0,'127.0.0.1',"
			 "()=>console.log('ready'));setInterval(()=>{},1000)", NULL };
	struct target t = { 0 };
	char why[256];
	int port = 0;
	(void)state;

	pid_t pid = spawn_ready(argv);
	fill_proc(&t.p, pid, 0, false);
	t.p.opts.inspect_port_random = true;
	fill_cfg(&t.cfg, 10);
	assert_true(capture_inspector_usable(&t.p, &t.cfg, NULL, why, sizeof(why), NULL));
	if (capture(&t.p, &t.cfg, &t.w, &t.ctx) != 0)
		fail_msg("capture failed: %s", t.ctx.err);
	assert_int_equal(signals_sent, 1);
	assert_contains(t.ctx.detail, ", opened with SIGUSR1 and closed");
	const char *colon = strstr(t.ctx.detail, "127.0.0.1:");
	assert_non_null(colon);
	port = atoi(colon + strlen("127.0.0.1:"));
	assert_true(port > 0 && port != 9229);
	assert_false(port_listening(port));
	assert_snapshot_valid(&t.w);
	assert_true(alive(pid));
	/* Started with --inspect=0 the inspector cannot be told from the app's listeners. */
	t.p.opts.inspect = true;
	assert_false(capture_inspector_usable(&t.p, &t.cfg, NULL, why, sizeof(why), NULL));
	assert_contains(why, "random port");
	stop(pid);
	free(t.w.buf);
}

static void test_already_open_inspector_left_open(void **state)
{
	char *argv[] = { NODE, "--inspect=127.0.0.1:19301", "-e", LEAK_JS, NULL };
	struct target t = { 0 };
	(void)state;

	pid_t pid = start_target(&t, argv, 19301, true, 10);
	if (capture(&t.p, &t.cfg, &t.w, &t.ctx) != 0)
		fail_msg("capture failed: %s", t.ctx.err);
	assert_int_equal(signals_sent, 0);
	assert_contains(t.ctx.detail, "127.0.0.1:19301, already open, left open (FIFO)");
	assert_snapshot_valid(&t.w);
	capture_again_with_chunks(&t.p, &t.cfg, &t.w, &t.ctx, "127.0.0.1:19301, already open, left open (chunks)");
	assert_true(port_listening(19301));
	assert_true(alive(pid));
	stop(pid);
	free(t.w.buf);
}

static void test_app_handling_sigusr1_fails_cleanly(void **state)
{
	char *argv[] = { NODE, "--inspect-port=19302", "-e",
			 "process.on('SIGUSR1',()=>{});setInterval(()=>{},1000);console.log('ready')", NULL };
	struct target t = { 0 };
	(void)state;

	pid_t pid = start_target(&t, argv, 19302, false, 2);
	int64_t t0 = mono_ms();
	assert_int_equal(capture(&t.p, &t.cfg, &t.w, &t.ctx), -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 5000);
	assert_string_equal(t.ctx.err, "SIGUSR1 did not open the inspector within 2s (the app may handle SIGUSR1 itself)");
	assert_int_equal(t.w.len, 0);
	assert_true(alive(pid));
	stop(pid);
}

static pid_t spawn_listener(int port)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1) < 0)
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void test_port_taken_fails_without_signal(void **state)
{
	char *argv[] = { NODE, "--inspect-port=19303", "-e", LEAK_JS, NULL };
	struct target t = { 0 };
	char why[256], want[128];
	(void)state;

	pid_t squatter = spawn_listener(19303);
	pid_t pid = start_target(&t, argv, 19303, false, 5);
	snprintf(want, sizeof(want), "inspector port 19303 is taken by pid %d (", (int)squatter);
	assert_false(capture_inspector_usable(&t.p, &t.cfg, NULL, why, sizeof(why), NULL));
	assert_contains(why, want);
	assert_int_equal(capture(&t.p, &t.cfg, &t.w, &t.ctx), -EBUSY);
	assert_contains(t.ctx.err, want);
	assert_int_equal(signals_sent, 0);
	assert_true(alive(pid));
	stop(pid);
	stop(squatter);
}

/* Without the connect guard (none here) and without inspector_unguarded = on, the
 * agent opens no inspector: refused with the reason, no SIGUSR1 sent. */
static void test_unguarded_refused(void **state)
{
	char *argv[] = { NODE, "--inspect-port=19341", "-e", LEAK_JS, NULL };
	struct target t = { 0 };
	char why[400];
	(void)state;

	pid_t pid = start_target(&t, argv, 19341, false, 5);
	t.cfg.inspector_unguarded = false;
	assert_false(capture_inspector_usable(&t.p, &t.cfg, NULL, why, sizeof(why), NULL));
	assert_contains(why, "inspector unguarded (no connect guard");
	assert_contains(why, "inspector_unguarded = on");
	assert_int_equal(capture(&t.p, &t.cfg, &t.w, &t.ctx), -EPERM);
	assert_contains(t.ctx.err, "inspector unguarded");
	assert_int_equal(signals_sent, 0);
	assert_false(t.ctx.inspector_opened);
	/* A host that is not a loopback address cannot be guarded on this host either. */
	snprintf(t.p.opts.inspect_host, sizeof(t.p.opts.inspect_host), "0.0.0.0");
	t.cfg.inspector_unguarded = true;
	assert_true(capture_inspector_usable(&t.p, &t.cfg, NULL, why, sizeof(why), NULL));
	stop(pid);
}

/* Lines of /proc/net/tcp: only an ESTABLISHED connection to the inspector's port whose
 * peer is not one of ours counts as another client. */
/* Which listener addresses are loopback (from /proc/net/tcp{,6}, network order). */
static void test_listener_loopback(void **state)
{
	struct listener l4 = { .family = AF_INET, .addr = { 127, 0, 0, 1 }, .port = 9229 };
	struct listener any4 = { .family = AF_INET, .port = 9229 };
	struct listener lan4 = { .family = AF_INET, .addr = { 10, 1, 2, 3 }, .port = 9229 };
	struct listener lo6 = { .family = AF_INET6, .addr = { [15] = 1 }, .port = 9229 };
	struct listener any6 = { .family = AF_INET6, .port = 9229 };
	struct listener mapped = { .family = AF_INET6, .addr = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 } };
	char out[64];
	(void)state;

	assert_true(listener_on_loopback(&l4));
	assert_true(listener_on_loopback(&lo6));
	assert_true(listener_on_loopback(&mapped));
	assert_false(listener_on_loopback(&any4));
	assert_false(listener_on_loopback(&lan4));
	assert_false(listener_on_loopback(&any6));
	listener_address(&any4, out, sizeof(out));
	assert_string_equal(out, "0.0.0.0:9229");
	listener_address(&any6, out, sizeof(out));
	assert_string_equal(out, "[::]:9229");
}

static void test_foreign_peer_lines(void **state)
{
	/* local 127.0.0.1:9229 (0x240D), remote 127.0.0.1:40000 (0x9C40), state 01 */
	const char *est = "   3: 0100007F:240D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 12345 1";
	const char *listen = "   0: 0100007F:240D 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1";
	const char *client = "   4: 0100007F:9C40 0100007F:240D 01 00000000:00000000 00:00000000 00000000     0        0 12346 1";
	const char *v6 = "   0: 0000000000000000FFFF00000100007F:240D 0000000000000000FFFF00000100007F:A000 01 "
			 "00000000:00000000 00:00000000 00000000     0        0 999 1";
	const char *header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
	int own[2] = { 40000, 40001 };
	(void)state;

	assert_int_equal(inspector_foreign_peer(est, 9229, NULL, 0), 40000);
	assert_int_equal(inspector_foreign_peer(est, 9229, own, 2), 0);
	assert_int_equal(inspector_foreign_peer(est, 9230, NULL, 0), 0);
	assert_int_equal(inspector_foreign_peer(listen, 9229, NULL, 0), 0);
	assert_int_equal(inspector_foreign_peer(client, 9229, NULL, 0), 0);
	assert_int_equal(inspector_foreign_peer(v6, 9229, own, 2), 0xA000);
	assert_int_equal(inspector_foreign_peer(header, 9229, NULL, 0), 0);
	assert_int_equal(inspector_foreign_peer("", 9229, NULL, 0), 0);
}

static void test_target_exit_mid_capture(void **state)
{
	char *argv[] = { NODE, "--inspect-port=19304", "-e",
			 "const keep=[];for(let i=0;i<100000;i++)keep.push({i});console.log('ready');setInterval(()=>{},1000)",
			 NULL };
	struct target t = { 0 };
	(void)state;

	pid_t pid = start_target(&t, argv, 19304, false, 10);
	t.w.kill_on_first_write = pid;
	int64_t t0 = mono_ms();
	assert_int_equal(capture(&t.p, &t.cfg, &t.w, &t.ctx), -ESRCH);
	assert_true(mono_ms() - t0 < 10000);
	assert_contains(t.ctx.err, "process exited during capture");
	stop(pid);
	free(t.w.buf);
}

/* The agent stops mid-capture: the capture ends at once, the target lives on with its
 * inspector closed and no FIFO left behind. */
static void test_cancel_mid_capture(void **state)
{
	char *argv[] = { NODE, "--inspect-port=19306", "-e",
			 "const keep=[];for(let i=0;i<100000;i++)keep.push({i});console.log('ready');setInterval(()=>{},1000)",
			 NULL };
	struct target t = { 0 };
	(void)state;

	pid_t pid = start_target(&t, argv, 19306, false, 10);
	t.w.cancel_on_first_write = &cancel_flag;
	int64_t t0 = mono_ms();
	assert_int_equal(capture(&t.p, &t.cfg, &t.w, &t.ctx), -ECANCELED);
	assert_true(mono_ms() - t0 < 10000);
	assert_contains(t.ctx.err, "cancelled");
	assert_false(port_listening(19306));
	assert_true(alive(pid));
	no_leftover_fifo();
	stop(pid);
	free(t.w.buf);
}

/* pid of the first child of pid (from /proc/PID/task/PID/children), or 0. */
static pid_t first_child(pid_t pid)
{
	char path[64];
	int child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child;
}

static void test_node_in_own_namespaces(void **state)
{
	char script[1024];
	char *argv[] = { "/usr/bin/unshare", "--pid", "--mount", "--net", "--fork", "--kill-child", "/bin/sh", "-c",
			 script, NULL };
	struct target t = { 0 };
	pid_t sh, node = 0;
	(void)state;

	if (geteuid() != 0)
		skip(); /* unshare --net and setns need root */
	snprintf(script, sizeof(script), "ip link set lo up && %s -e \"%s\"", NODE, LEAK_JS);
	pid_t top = spawn_ready(argv);
	sh = first_child(top);
	if (sh)
		node = first_child(sh);
	if (!node) {
		stop(top);
		fail_msg("no node process under unshare pid %d", (int)top);
	}
	fill_proc(&t.p, node, 0, false);
	fill_cfg(&t.cfg, 10);
	if (capture(&t.p, &t.cfg, &t.w, &t.ctx) != 0) {
		stop(top);
		fail_msg("capture failed: %s", t.ctx.err);
	}
	assert_contains(t.ctx.detail, "127.0.0.1:9229 in the target's network namespace, opened with SIGUSR1 and closed (FIFO)");
	assert_snapshot_valid(&t.w);
	assert_int_equal(kill(node, 0), 0);
	stop(top);
	free(t.w.buf);
}


/* --- a scripted fake inspector in this process (the "target" is the test itself) --- */

#define FAKE_PORT 19305

struct fake {
	int lfd;
	const uint8_t *script;       /* sent after the client's first websocket frame */
	size_t script_len;
	const uint8_t *script2;      /* sent after its second one, if any */
	size_t script2_len;
};

static int accept_one(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	return poll(&pfd, 1, 5000) == 1 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
}

static bool read_headers(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 5000) != 1 || read(fd, buf + n, 1) != 1)
			return false;
		buf[++n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return true;
	}
	return false;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char req[2048], resp[512], key[64] = "", accept[32];
	const char *body = "[{\"id\":\"x\",\"webSocketDebuggerUrl\":\"ws://127.0.0.1:19305/x\"}]";
	uint8_t frame[512];
	int fd = accept_one(f->lfd);

	if (fd < 0 || !read_headers(fd, req, sizeof(req)))
		return NULL;
	snprintf(resp, sizeof(resp), "HTTP/1.0 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	if (write(fd, resp, strlen(resp)) < 0)
		return NULL;
	close(fd);
	fd = accept_one(f->lfd);
	if (fd < 0 || !read_headers(fd, req, sizeof(req)))
		return NULL;
	if (strstr(req, "Sec-WebSocket-Key: "))
		sscanf(strstr(req, "Sec-WebSocket-Key: ") + 19, "%63[^\r]", key);
	ws_accept_key(key, accept, sizeof(accept));
	snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (write(fd, resp, strlen(resp)) < 0 || read(fd, frame, sizeof(frame)) <= 0) /* the request */
		return NULL;
	if (write(fd, f->script, f->script_len) < 0)
		return NULL;
	if (f->script2 && (read(fd, frame, sizeof(frame)) <= 0 || write(fd, f->script2, f->script2_len) < 0))
		return NULL;
	usleep(100 * 1000);
	close(fd);
	return NULL;
}

static size_t text_frame(uint8_t *out, const char *payload, bool fin, int op)
{
	size_t len = strlen(payload), n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else {
		out[1] = 126; out[2] = (uint8_t)(len >> 8); out[3] = (uint8_t)len; n = 4;
	}
	memcpy(out + n, payload, len);
	return n + len;
}

/* Runs capture_via_inspector against the fake server sending script. */
static const uint8_t *fake_script2;
static size_t fake_script2_len;

static int fake_capture(const uint8_t *script, size_t len, struct store_writer *w, struct capture_ctx *ctx)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(FAKE_PORT),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct fake f = { .script = script, .script_len = len, .script2 = fake_script2, .script2_len = fake_script2_len };
	static struct proc_info p;
	static struct config cfg;
	pthread_t th;
	int one = 1, rc;

	f.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(f.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f.lfd, 4), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_main, &f), 0);
	fill_proc(&p, getpid(), FAKE_PORT, true);
	fill_cfg(&cfg, 2);
	cfg.timeout_s = 5;
	rc = capture(&p, &cfg, w, ctx);
	no_leftover_fifo();
	pthread_join(th, NULL);
	close(f.lfd);
	return rc;
}

#define CHUNK_EV "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":"

static void test_fake_inspector_stream_and_reply(void **state)
{
	transport = INSPECTOR_CHUNKS;
	uint8_t script[1024];
	size_t n = 0;
	struct store_writer w = { 0 };
	struct capture_ctx ctx;
	(void)state;

	n += text_frame(script + n, CHUNK_EV "\"{\\\"snap\\\":\"}}", true, 1);
	n += text_frame(script + n, CHUNK_EV "\"[1,2", false, 1);  /* fragmented message */
	n += text_frame(script + n, "\\n3]}\"}}", true, 0);
	n += text_frame(script + n, "{\"method\":\"HeapProfiler.reportHeapSnapshotProgress\",\"params\":{}}", true, 1);
	n += text_frame(script + n, "{\"id\":1,\"result\":{}}", true, 1);
	if (fake_capture(script, n, &w, &ctx) != 0)
		fail_msg("capture failed: %s", ctx.err);
	assert_int_equal(w.len, strlen("{\"snap\":[1,2\n3]}"));
	assert_memory_equal(w.buf, "{\"snap\":[1,2\n3]}", w.len);
	assert_contains(ctx.detail, "127.0.0.1:19305, already open, left open (chunks)");
	free(w.buf);
	transport = INSPECTOR_AUTO;
}

/* The FIFO evaluate throws before writing: the same session falls back to chunks. */
static void test_fake_inspector_fifo_fallback(void **state)
{
	uint8_t script[1024], script2[256];
	size_t n = 0, n2 = 0;
	struct store_writer w = { 0 };
	struct capture_ctx ctx;
	(void)state;

	n2 += text_frame(script2 + n2, CHUNK_EV "\"{}\"}}", true, 1);
	n2 += text_frame(script2 + n2, "{\"id\":1,\"result\":{}}", true, 1);
	fake_script2 = script2;
	fake_script2_len = n2;
	n += text_frame(script + n, "{\"id\":3,\"result\":{\"result\":{\"type\":\"object\"},\"exceptionDetails\":"
			"{\"text\":\"Uncaught\",\"exception\":{\"description\":\"Error: EACCES\\n    at x\"}}}}", true, 1);
	int rc0 = fake_capture(script, n, &w, &ctx);
	fake_script2 = NULL;
	if (rc0 != 0)
		fail_msg("capture failed: %s", ctx.err);
	assert_int_equal(w.len, 2);
	assert_contains(ctx.detail, "(chunks)");
	free(w.buf);
	/* Forced FIFO: the exception is the error. */
	transport = INSPECTOR_FIFO;
	w = (struct store_writer){ 0 };
	int rc = fake_capture(script, n, &w, &ctx);
	transport = INSPECTOR_AUTO;
	assert_int_equal(rc, -EIO);
	assert_string_equal(ctx.err, "v8.writeHeapSnapshot into the FIFO failed: Error: EACCES");
}

static void expect_fake_failure(const uint8_t *script, size_t n, int want, const char *needle)
{
	struct store_writer w = { 0 };
	struct capture_ctx ctx;
	int64_t t0 = mono_ms();

	assert_int_equal(fake_capture(script, n, &w, &ctx), want);
	assert_true(mono_ms() - t0 < 4000);
	assert_contains(ctx.err, needle);
	free(w.buf);
}

static void test_fake_inspector_failures(void **state)
{
	uint8_t s[1024];
	size_t n;
	(void)state;

	transport = INSPECTOR_CHUNKS;
	n = text_frame(s, "{\"id\":1,\"error\":{\"code\":-32000,\"message\":\"boom\"}}", true, 1);
	expect_fake_failure(s, n, -EIO, "HeapProfiler.takeHeapSnapshot failed: boom (code -32000)");
	n = text_frame(s, "{\"id\":1,", true, 1);
	expect_fake_failure(s, n, -EPROTO, "malformed CDP message");
	n = text_frame(s, CHUNK_EV "\"abc\\x\"}}", true, 1);
	expect_fake_failure(s, n, -EPROTO, "invalid escape");
	n = text_frame(s, "{\"id\":1}", true, 1);
	s[0] |= 0x40;
	expect_fake_failure(s, n, -EPROTO, "reserved bits");
	n = text_frame(s, CHUNK_EV "\"abcdef\"}}", true, 1);
	expect_fake_failure(s, n - 10, -ECONNRESET, "closed by the peer"); /* truncated frame, then EOF */
	n = text_frame(s, "x", true, 2);
	expect_fake_failure(s, n, -EPROTO, "binary websocket message");
	/* The server says nothing at all and hangs up. */
	expect_fake_failure(s, 0, -ECONNRESET, "closed by the peer");
	transport = INSPECTOR_AUTO;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flagless_node_captured_and_closed),
		cmocka_unit_test(test_already_open_inspector_left_open),
		cmocka_unit_test(test_random_port_found_and_closed),
		cmocka_unit_test(test_app_handling_sigusr1_fails_cleanly),
		cmocka_unit_test(test_port_taken_fails_without_signal),
		cmocka_unit_test(test_target_exit_mid_capture),
		cmocka_unit_test(test_cancel_mid_capture),
		cmocka_unit_test(test_unguarded_refused),
		cmocka_unit_test(test_foreign_peer_lines),
		cmocka_unit_test(test_listener_loopback),
		cmocka_unit_test(test_node_in_own_namespaces),
		cmocka_unit_test(test_fake_inspector_stream_and_reply),
		cmocka_unit_test(test_fake_inspector_failures),
		cmocka_unit_test(test_fake_inspector_fifo_fallback),
	};
	signal(SIGPIPE, SIG_IGN); /* the scripted servers write to peers that may have hung up */
	if (access(NODE, X_OK) != 0) {
		printf("skip: %s not found\n", NODE);
		return 0;
	}
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='test_fake*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
