/* Capture route through the Node inspector (issue 3): find or open the inspector
 * (SIGUSR1 through a pidfd), GET /json/list, WebSocket, HeapProfiler.takeHeapSnapshot,
 * get the snapshot, and close the inspector again if we opened it.
 *
 * Two transports for the snapshot bytes, chosen automatically:
 *  - FIFO (preferred): mkfifo in the target's mount namespace (/proc/PID/root/tmp),
 *    Runtime.evaluate "require('v8').writeHeapSnapshot(fifo)" and read the raw bytes
 *    from the FIFO. V8 writes natively; no JSON escaping in the target, no decoding here.
 *    Measured (tests/bench/inspector.sh, ~100 MB heap): CPU of node + agent 1.07x
 *    writeHeapSnapshot(file) vs 1.41x for chunks. It leaves a FIFO node (never data) in
 *    the target's /tmp for the duration of the capture, removed afterwards.
 *  - chunks: HeapProfiler.takeHeapSnapshot, decoding addHeapSnapshotChunk events.
 *    Used when the FIFO cannot be created (no /tmp, read-only, no access) or the
 *    evaluate fails before any byte arrived. Discovery reads /proc/PID/net/tcp{,6}, which already shows the
 * target's network namespace; only the socket is created inside that namespace
 * (ns.c). Every wait is bounded, sliced (<= 250 ms), cancellable and watches the
 * target's pidfd. Memory: a 256 KiB read buffer, a 64 KiB decode buffer and small
 * messages (<= 1 MiB), whatever the snapshot size. */
#include "capture_route.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_inspector.h"
#include "cdp.h"
#include "connect_guard.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "ns.h"
#include "ws.h"

#define DEFAULT_INSPECT_PORT 9229
#define POLL_SLICE_MS 100
/* While the inspector the agent opened is open, look often: connect to it the moment
 * it listens, see it gone the moment it closes (the window is measured), and look for
 * other clients on it every INTRUDER_CHECK_MS. */
#define FAST_SLICE_MS 2
#define INTRUDER_CHECK_MS 100
#define MAX_OWN_PORTS 8
#define CLOSE_WAIT_MS 5000
#define MAX_MESSAGE (64ull << 20)
#define MAX_LIST_BODY (64u << 10)
#define SNAPSHOT_REQ_ID 1
#define CLOSE_REQ_ID 2
#define FIFO_REQ_ID 3
#define SETTLE_REQ_ID 4
/* How long the close waits for the target's event loop to turn (see settle_event_loop). */
#define SETTLE_WAIT_MS 10000
#define FIFO_READ_BUF (256u << 10)

/* --- listening sockets ------------------------------------------------------ */

#define MAX_OWNED_LISTENERS 256

struct listener {
	bool found;
	bool owned;                  /* the socket inode is one of the target's fds */
	int family;                  /* AF_INET or AF_INET6 */
	int port;
	uint8_t addr[16];            /* network order */
	unsigned long inode;
};

static bool pid_has_socket(pid_t pid, unsigned long inode)
{
	char path[64], want[48], link[64];
	DIR *dir;
	struct dirent *de;
	bool hit = false;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!hit && (de = readdir(dir))) {
		ssize_t n = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		hit = !strcmp(link, want);
	}
	closedir(dir);
	return hit;
}

/* The process holding a socket inode (scans /proc/[0-9]*\/fd), or 0. */
static pid_t socket_owner(unsigned long inode, char *comm, size_t commlen)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	pid_t owner = 0;

	comm[0] = '\0';
	if (!proc)
		return 0;
	while (!owner && (de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || !pid_has_socket((pid_t)pid, inode))
			continue;
		owner = (pid_t)pid;
	}
	closedir(proc);
	if (owner) {
		char path[64];
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)owner);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, (int)commlen, f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
	}
	return owner;
}

static void parse_hex_addr(const char *hex, int family, uint8_t *addr)
{
	int words = family == AF_INET ? 1 : 4;

	for (int i = 0; i < words; i++) {
		char w[9];
		memcpy(w, hex + 8 * i, 8);
		w[8] = '\0';
		uint32_t v = (uint32_t)strtoul(w, NULL, 16); /* printed from the raw __be32 in host order */
		memcpy(addr + 4 * i, &v, 4);
	}
}

/* One line of /proc/PID/net/tcp{,6}: true for a LISTEN socket (found and owned unset). */
static bool parse_listen_line(const char *line, int family, struct listener *l)
{
	char hex[33];
	unsigned lport, state;
	unsigned long inode;

	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu", hex, &lport, &state,
		   &inode) != 4 || state != 0x0A || strlen(hex) != (family == AF_INET ? 8u : 32u))
		return false;
	*l = (struct listener){ .family = family, .port = (int)lport, .inode = inode };
	parse_hex_addr(hex, family, l->addr);
	return true;
}

/* Every LISTEN socket of one table: fn(l, arg) for each; stops when fn returns false. */
static void each_listener(pid_t pid, const char *table, int family,
			  bool (*fn)(struct listener *l, void *arg), void *arg)
{
	char path[64], line[512];
	struct listener l;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, table);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (parse_listen_line(line, family, &l) && !fn(&l, arg))
			break;
	fclose(f);
}

struct port_query {
	pid_t pid;
	int port;
	struct listener *out;
};

/* The listener on the port, preferring one the target owns. */
static bool match_port(struct listener *l, void *arg)
{
	struct port_query *q = arg;
	if (l->port != q->port)
		return true;
	l->owned = pid_has_socket(q->pid, l->inode);
	if (!q->out->found || (!q->out->owned && l->owned)) {
		*q->out = *l;
		q->out->found = true;
	}
	return !q->out->owned;
}

static struct listener find_listener(pid_t pid, int port)
{
	struct listener l = { 0 };
	struct port_query q = { .pid = pid, .port = port, .out = &l };

	each_listener(pid, "tcp", AF_INET, match_port, &q);
	if (!l.owned)
		each_listener(pid, "tcp6", AF_INET6, match_port, &q);
	return l;
}

struct owned_query {
	pid_t pid;
	struct listener *out;
	size_t n, max;
};

static bool collect_owned(struct listener *l, void *arg)
{
	struct owned_query *q = arg;
	if (!pid_has_socket(q->pid, l->inode))
		return true;
	l->found = l->owned = true;
	q->out[q->n++] = *l;
	return q->n < q->max;
}

/* The LISTEN sockets the process owns, on any port. */
static size_t owned_listeners(pid_t pid, struct listener *out, size_t max)
{
	struct owned_query q = { .pid = pid, .out = out, .max = max };

	each_listener(pid, "tcp", AF_INET, collect_owned, &q);
	if (q.n < max)
		each_listener(pid, "tcp6", AF_INET6, collect_owned, &q);
	return q.n;
}

/* --inspect-port=0: Node picks the port when SIGUSR1 opens the inspector, so the
 * inspector is the listener the process did not have before the signal. */
static bool find_new_listener(pid_t pid, const struct listener *before, size_t nbefore, struct listener *out)
{
	struct listener now[MAX_OWNED_LISTENERS];
	size_t n = owned_listeners(pid, now, MAX_OWNED_LISTENERS);

	for (size_t i = 0; i < n; i++) {
		bool old = false;
		for (size_t j = 0; j < nbefore && !old; j++)
			old = before[j].inode == now[i].inode;
		if (!old) {
			*out = now[i];
			return true;
		}
	}
	return false;
}

static int inspect_port(const struct proc_info *p)
{
	return p->opts.inspect_port > 0 ? p->opts.inspect_port : DEFAULT_INSPECT_PORT;
}

static void describe_taken(const struct listener *l, int port, char *out, size_t outlen)
{
	char comm[32];
	pid_t owner = socket_owner(l->inode, comm, sizeof(comm));

	if (owner)
		snprintf(out, outlen, "inspector port %d is taken by pid %d (%s)", port, (int)owner, comm);
	else
		snprintf(out, outlen, "inspector port %d is taken by another process (socket inode %lu)", port, l->inode);
}

/* Whether the agent may open this process's inspector itself: only behind the connect
 * guard, unless the operator accepted the risk (inspector_unguarded = on). */
static bool may_open(const struct proc_info *p, const struct config *cfg, const struct connect_guard *g, char *why,
		     size_t whylen)
{
	static const char accept[] = "[capture] inspector_unguarded = on accepts the risk";

	if (cfg->inspector_unguarded)
		return true;
	if (!connect_guard_available(g))
		snprintf(why, whylen, "inspector unguarded (no connect guard: %s; %s)", connect_guard_why(g), accept);
	else if (p->opts.inspect_port_random)
		snprintf(why, whylen, "inspector unguarded (--inspect-port=0: its port is known only once it is open, "
			 "too late to guard it; %s)", accept);
	else if (!inspect_host_is_loopback(p->opts.inspect_host))
		snprintf(why, whylen, "inspector unguarded (it would listen on %s, reachable from other hosts; %s)",
			 p->opts.inspect_host, accept);
	else
		return true;
	return false;
}

bool capture_inspector_usable(const struct proc_info *p, const struct config *cfg, const struct connect_guard *g,
			      char *why, size_t whylen, bool *already_open)
{
	int port = inspect_port(p);

	if (already_open)
		*already_open = false;
	if (p->opts.inspect_port_random && p->opts.inspect) {
		snprintf(why, whylen, "started with --inspect on port 0: its inspector's random port cannot be told "
			 "from the app's own listeners");
		return false;
	}
	if (p->opts.inspect_port_random && p->opts.disable_sigusr1) {
		snprintf(why, whylen, "started with --disable-sigusr1");
		return false;
	}
	if (p->opts.inspect_port_random)
		return may_open(p, cfg, g, why, whylen);
	struct listener l = find_listener(p->pid, port);

	if ((l.found && l.owned) || (!l.found && p->opts.inspect)) {
		/* Open now, or about to be: started with --inspect, Node opens it at start. */
		if (already_open)
			*already_open = true;
		return true;
	}
	if (l.found) {
		describe_taken(&l, port, why, whylen);
		return false;
	}
	if (p->opts.disable_sigusr1) {
		snprintf(why, whylen, "started with --disable-sigusr1 and no inspector listening on port %d", port);
		return false;
	}
	return may_open(p, cfg, g, why, whylen);
}

/* Parses a line of /proc/PID/net/tcp{,6} as a connection: state, local and remote
 * port. false for the header and malformed lines. */
static bool parse_conn_line(const char *line, unsigned *state, unsigned *lport, unsigned *rport)
{
	char la[33], ra[33];

	return sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x", la, lport, ra, rport, state) == 5;
}

int inspector_foreign_peer(const char *line, int port, const int *own, size_t nown)
{
	unsigned state, lport, rport;

	if (!parse_conn_line(line, &state, &lport, &rport) || state != 0x01 /* ESTABLISHED */ ||
	    (int)lport != port)
		return 0;
	for (size_t i = 0; i < nown; i++)
		if (own[i] == (int)rport)
			return 0;
	return (int)rport;
}

/* --- session ---------------------------------------------------------------- */

struct session {
	struct capture_ctx *ctx;
	pid_t pid;
	int pidfd;
	int port;
	struct listener l;
	char host[64];               /* Host header and address for messages: "127.0.0.1:9229" */
	bool opened_by_us;
	bool other_ns;
	struct ws_conn *ws;
	struct cdp_decoder *dec;
	long want_id;
	bool replied;
	char reply_err[200];
	bool store_failed;
	uint64_t bytes_written;       /* to the store, by either transport */
	bool used_fifo;
	/* the connect guard and the window (an inspector we opened) */
	bool guarded;
	uint64_t netns_cookie;
	int64_t signalled_ms;         /* SIGUSR1 sent (mono) */
	int64_t gone_ms;              /* its port confirmed gone (mono), 0 = not (yet) */
	int own_ports[MAX_OWN_PORTS]; /* local ports of our connections to it */
	size_t nown;
	int64_t next_check_ms;
	bool intruded;                /* another client was seen on it */
};

static struct ws_wait make_wait(struct session *s, int64_t ms)
{
	return (struct ws_wait){ .deadline_ms = mono_ms() + ms, .cancel = s->ctx->cancel, .watch_fd = s->pidfd };
}

static const char *io_reason(enum ws_io_result r)
{
	switch (r) {
	case WS_IO_TIMEOUT: return "timed out";
	case WS_IO_CANCELLED: return "cancelled (agent stopping)";
	case WS_IO_WATCH: return "process exited during capture";
	default: return NULL;
	}
}

/* Waits one poll slice of slice_ms on the pidfd; <0 when the target exited or we are cancelled. */
static enum ws_io_result slice_wait_ms(struct session *s, int64_t deadline, int slice_ms)
{
	struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };
	int64_t left = deadline - mono_ms();

	if (s->ctx->cancel && *s->ctx->cancel)
		return WS_IO_CANCELLED;
	if (left <= 0)
		return WS_IO_TIMEOUT;
	if (poll(&pfd, 1, left < slice_ms ? (int)left : slice_ms) > 0)
		return WS_IO_WATCH;
	return WS_IO_OK;
}

static enum ws_io_result slice_wait(struct session *s, int64_t deadline)
{
	return slice_wait_ms(s, deadline, POLL_SLICE_MS);
}

static unsigned start_timeout_s(const struct config *cfg) { return cfg->start_timeout_s ? cfg->start_timeout_s : 10; }
static unsigned total_timeout_s(const struct config *cfg) { return cfg->timeout_s ? cfg->timeout_s : 600; }

/* SIGUSR1, then wait for the target's own listener on the port. */
static int open_inspector(struct session *s)
{
	unsigned limit = start_timeout_s(s->ctx->cfg);
	int64_t deadline = mono_ms() + (int64_t)limit * 1000;

	if (s->ctx->proc->opts.disable_sigusr1)
		return capture_fail(s->ctx, "started with --disable-sigusr1 and no inspector listening on port %d", s->port);
	bool random_port = s->ctx->proc->opts.inspect_port_random;
	struct listener before[MAX_OWNED_LISTENERS];
	size_t nbefore = random_port ? owned_listeners(s->pid, before, MAX_OWNED_LISTENERS) : 0;
	s->signalled_ms = mono_ms();
	if (procs_pidfd_signal(s->pidfd, SIGUSR1) < 0)
		return capture_fail(s->ctx, errno == ESRCH ? "process exited during capture" : "SIGUSR1: %s", strerror(errno));
	s->opened_by_us = true;
	for (;;) {
		enum ws_io_result r;
		if (random_port && find_new_listener(s->pid, before, nbefore, &s->l)) {
			s->port = s->l.port;
			return 0;
		}
		if (!random_port)
			s->l = find_listener(s->pid, s->port);
		if (s->l.found && s->l.owned) {
			log_debug("pid %d: inspector listening %lld ms after SIGUSR1", (int)s->pid,
				  (long long)(mono_ms() - s->signalled_ms));
			return 0;
		}
		if (s->l.found) {
			describe_taken(&s->l, s->port, s->ctx->err, sizeof(s->ctx->err));
			return -1;
		}
		r = slice_wait_ms(s, deadline, mono_ms() - s->signalled_ms < 1000 ? FAST_SLICE_MS : POLL_SLICE_MS);
		if (r == WS_IO_TIMEOUT && random_port && find_new_listener(s->pid, before, nbefore, &s->l)) {
			s->port = s->l.port; /* just in time: capture, and close it afterwards */
			return 0;
		}
		if (r == WS_IO_TIMEOUT && s->ctx->proc->opts.inspect)
			return capture_fail(s->ctx, "SIGUSR1 did not open the inspector within %us (started with --inspect: "
				    "is it listening on a port other than %d?)", limit, s->port);
		if (r == WS_IO_TIMEOUT)
			return capture_fail(s->ctx, "SIGUSR1 did not open the inspector within %us (the app may handle SIGUSR1 itself)", limit);
		if (r != WS_IO_OK)
			return capture_fail(s->ctx, "%s", io_reason(r));
	}
}

/* connect(), let through our own guard for this one socket. */
static int guarded_connect(struct session *s, int fd, const struct sockaddr *sa, socklen_t len)
{
	uint64_t cookie = 0;
	int rc, saved;

	if (s->guarded && connect_guard_allow(s->ctx->cguard, fd, &cookie) < 0)
		return -1;
	rc = connect(fd, sa, len);
	saved = errno;
	connect_guard_unallow(s->ctx->cguard, cookie);
	errno = saved;
	return rc;
}

static void note_own_port(struct session *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (s->nown >= MAX_OWN_PORTS || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	s->own_ports[s->nown++] = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
								: ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int connect_inspector(struct session *s, const struct ws_wait *w, int *out_fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	char ip[INET6_ADDRSTRLEN];
	int fd, soerr = 0;
	socklen_t solen = sizeof(soerr);
	enum ws_io_result r;

	if (s->l.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)s->port);
		memcpy(&sin->sin_addr, s->l.addr, 4);
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(s->host, sizeof(s->host), "%s:%d", ip, s->port);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)s->port);
		memcpy(&sin6->sin6_addr, s->l.addr, 16);
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(s->host, sizeof(s->host), "[%s]:%d", ip, s->port);
		sslen = sizeof(*sin6);
	}
	fd = ns_socket(s->pid, s->l.family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return capture_fail(s->ctx, "socket in the network namespace of pid %d: %s", (int)s->pid, strerror(-fd));
	if (guarded_connect(s, fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		capture_fail(s->ctx, "connect to inspector %s: %s", s->host, strerror(errno));
		close(fd);
		return -1;
	}
	note_own_port(s, fd);
	r = ws_wait_fd(fd, POLLOUT, w);
	if (r == WS_IO_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &solen) == 0 && soerr == 0) {
		*out_fd = fd;
		return 0;
	}
	capture_fail(s->ctx, "connect to inspector %s: %s", s->host, io_reason(r) ? io_reason(r) : strerror(soerr ? soerr : errno));
	close(fd);
	return -1;
}

/* The first connection to the inspector that is not ours (its peer port), or 0. Read
 * from the target's own view of its network namespace. */
static int foreign_peer(struct session *s)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	char path[64], line[512];
	int peer = 0;

	for (size_t t = 0; t < 2 && !peer; t++) {
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)s->pid, tables[t]);
		if (!(f = fopen(path, "re")))
			continue;
		while (!peer && fgets(line, sizeof(line), f))
			peer = inspector_foreign_peer(line, s->port, s->own_ports, s->nown);
		fclose(f);
	}
	return peer;
}

/* Node lets any number of clients attach and says nothing about it. On an inspector we
 * opened, any connection but ours is an intruder (the guard should have made that
 * impossible; without it, this is what is left): abort. Checked at most every
 * INTRUDER_CHECK_MS unless forced. 0, or -1 with the reason. */
static int check_intruders(struct session *s, bool force)
{
	int64_t now = mono_ms();
	int peer;

	if (!s->opened_by_us || (!force && now < s->next_check_ms))
		return 0;
	s->next_check_ms = now + INTRUDER_CHECK_MS;
	if (!(peer = foreign_peer(s)))
		return 0;
	s->intruded = true;
	return capture_fail(s->ctx, "another client attached to the inspector (a connection from port %d besides "
			    "the agent's own)%s", peer, s->guarded ? "" : "; it was not guarded");
}

static int store_write(void *ctx, const void *buf, size_t len)
{
	struct session *s = ctx;

	if (store_writer_write(s->ctx->w, buf, len) < 0) {
		s->store_failed = true;
		return -1;
	}
	s->bytes_written += len;
	return 0;
}

static int on_message(void *ctx, json_t *msg)
{
	struct session *s = ctx;

	if (cdp_message_id(msg) != s->want_id)
		return 0;
	s->replied = true;
	if (cdp_message_error(msg, s->reply_err, sizeof(s->reply_err)))
		return 0;
	s->reply_err[0] = '\0';
	json_t *exc = json_object_get(json_object_get(msg, "result"), "exceptionDetails");
	if (exc) {
		const char *d = json_string_value(json_object_get(json_object_get(exc, "exception"), "description"));
		const char *t = json_string_value(json_object_get(exc, "text"));
		snprintf(s->reply_err, sizeof(s->reply_err), "%.*s", (int)strcspn(d ? d : t ? t : "exception", "\n"),
			 d ? d : t ? t : "exception");
	}
	return 0;
}

/* /json/list on a fresh connection, then the WebSocket on another. */
static int attach(struct session *s, const struct ws_wait *w)
{
	char path[256], *body = NULL;
	size_t body_len = 0;
	enum ws_io_result r;
	int fd, rc;

	if (connect_inspector(s, w, &fd) < 0)
		return -1;
	rc = http_get(fd, s->host, "/json/list", w, MAX_LIST_BODY, &body, &body_len, s->ctx->err, sizeof(s->ctx->err));
	close(fd);
	if (rc == 0)
		rc = http_inspector_ws_path(body, body_len, path, sizeof(path), s->ctx->err, sizeof(s->ctx->err));
	free(body);
	if (rc < 0 || connect_inspector(s, w, &fd) < 0)
		return -1;
	s->ws = ws_conn_open(fd, s->host, path, w, MAX_MESSAGE, &r, s->ctx->err, sizeof(s->ctx->err));
	if (!s->ws && io_reason(r))
		return capture_fail(s->ctx, "inspector websocket: %s", io_reason(r));
	return s->ws ? 0 : -1;
}

static int send_request(struct session *s, int id, const char *method, json_t *params, const struct ws_wait *w)
{
	char *req = cdp_request(id, method, params);
	enum ws_io_result r;

	if (!req)
		return capture_fail(s->ctx, "out of memory building %s", method);
	r = ws_conn_send_text(s->ws, req, strlen(req), w, s->ctx->err, sizeof(s->ctx->err));
	free(req);
	if (r != WS_IO_OK && io_reason(r))
		return capture_fail(s->ctx, "%s", io_reason(r));
	return r == WS_IO_OK ? 0 : -1;
}

/* A dying target closes its sockets just before its pidfd becomes readable. */
static bool target_exited(struct session *s)
{
	struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };
	return poll(&pfd, 1, 200) > 0;
}

static bool target_exited_now(struct session *s)
{
	struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };
	return poll(&pfd, 1, 0) > 0;
}

static int pump_error(struct session *s, enum ws_io_result r)
{
	if ((r == WS_IO_CLOSED || r == WS_IO_ERROR) && target_exited(s))
		return capture_fail(s->ctx, "process exited during capture");
	if (s->store_failed)
		return capture_fail(s->ctx, "%s", store_writer_error(s->ctx->w));
	if (r == WS_IO_TIMEOUT)
		return capture_fail(s->ctx, "heap snapshot not finished within %us", total_timeout_s(s->ctx->cfg));
	if (io_reason(r))
		return capture_fail(s->ctx, "%s", io_reason(r));
	if (cdp_decoder_error(s->dec)[0])
		return capture_fail(s->ctx, "inspector: %s", cdp_decoder_error(s->dec));
	if (!s->ctx->err[0])
		return capture_fail(s->ctx, "inspector connection failed");
	return -1;
}

static int take_snapshot(struct session *s, const struct ws_wait *w)
{
	struct ws_sink sink;

	cdp_decoder_ws_sink(s->dec, &sink);
	s->want_id = SNAPSHOT_REQ_ID;
	s->replied = false;
	s->reply_err[0] = '\0';
	if (send_request(s, SNAPSHOT_REQ_ID, "HeapProfiler.takeHeapSnapshot",
			 json_pack("{s:b}", "reportProgress", 0), w) < 0)
		return -1;
	while (!s->replied) {
		enum ws_io_result r = ws_conn_pump(s->ws, &sink, w, s->ctx->err, sizeof(s->ctx->err));
		if (r != WS_IO_OK)
			return pump_error(s, r);
		if (check_intruders(s, false) < 0)
			return -1;
	}
	if (s->reply_err[0])
		return capture_fail(s->ctx, "HeapProfiler.takeHeapSnapshot failed: %s", s->reply_err);
	return 0;
}

static bool port_still_open(struct session *s)
{
	struct listener l = find_listener(s->pid, s->port);
	return l.found && l.owned;
}

/* SIGUSR1 both starts the inspector at once (a V8 interrupt, even inside a long JS
 * task) and queues a second start on the event loop. Closing before that queued start
 * has run lets it open the inspector again afterwards: so wait, bounded, for one turn
 * of the target's event loop first. */
static void settle_event_loop(struct session *s)
{
	static const volatile int never = 0;
	struct ws_wait w = { .deadline_ms = mono_ms() + SETTLE_WAIT_MS, .cancel = &never, .watch_fd = s->pidfd };
	struct ws_sink sink;

	cdp_decoder_ws_sink(s->dec, &sink);
	s->want_id = SETTLE_REQ_ID;
	s->replied = false;
	if (send_request(s, SETTLE_REQ_ID, "Runtime.evaluate",
			 json_pack("{s:s, s:b}", "expression", "new Promise(r => setImmediate(r))",
				   "awaitPromise", 1), &w) < 0)
		return;
	while (!s->replied)
		if (ws_conn_pump(s->ws, &sink, &w, s->ctx->err, sizeof(s->ctx->err)) != WS_IO_OK)
			return;
}

/* Ask the target to close the inspector we opened and wait until the port is gone.
 * Runs even after a failed or cancelled capture, with its own short deadline. */
static bool close_inspector(struct session *s)
{
	static const volatile int never = 0;
	struct ws_wait w = { .deadline_ms = mono_ms() + CLOSE_WAIT_MS, .cancel = &never, .watch_fd = s->pidfd };
	char saved_err[sizeof(s->ctx->err)];
	struct ws_sink ignore = { 0 };
	enum ws_io_result r = WS_IO_OK;

	memcpy(saved_err, s->ctx->err, sizeof(saved_err));
	if (!s->ws && port_still_open(s))
		attach(s, &w);
	if (s->ws) {
		settle_event_loop(s);
		w.deadline_ms = mono_ms() + CLOSE_WAIT_MS;
	}
	if (s->ws && send_request(s, CLOSE_REQ_ID, "Runtime.evaluate",
				  json_pack("{s:s, s:b}", "expression", "require('inspector').close()",
					    "includeCommandLineAPI", 1), &w) == 0) {
		/* The inspector drops our connection when it closes: wait for that. */
		while (r == WS_IO_OK)
			r = ws_conn_pump(s->ws, &ignore, &w, s->ctx->err, sizeof(s->ctx->err));
	}
	ws_conn_free(s->ws);
	s->ws = NULL;
	memcpy(s->ctx->err, saved_err, sizeof(saved_err));
	/* Closing takes a few ms: look often at first (the window is measured), then less. */
	int64_t asked = mono_ms();
	while (port_still_open(s)) {
		int slice = mono_ms() - asked < 500 ? FAST_SLICE_MS : POLL_SLICE_MS;
		if (r == WS_IO_WATCH || slice_wait_ms(s, w.deadline_ms, slice) != WS_IO_OK)
			break;
	}
	if (port_still_open(s))
		return false;
	s->gone_ms = mono_ms();
	return true;
}

static void describe_success(struct session *s, bool closed)
{
	const char *ns = s->other_ns ? " in the target's network namespace" : "";
	const char *how = s->used_fifo ? "FIFO" : "chunks";

	if (!s->opened_by_us)
		snprintf(s->ctx->detail, sizeof(s->ctx->detail), "inspector %s%s, already open, left open (%s)",
			 s->host, ns, how);
	else if (closed)
		snprintf(s->ctx->detail, sizeof(s->ctx->detail), "inspector %s%s, opened with SIGUSR1 and closed (%s)",
			 s->host, ns, how);
	else
		snprintf(s->ctx->detail, sizeof(s->ctx->detail),
			 "inspector %s%s, opened with SIGUSR1; closing it FAILED: the port still listens (%s)", s->host, ns, how);
}

/* --- FIFO transport -------------------------------------------------------------- */

struct fifo {
	int fd;
	int dirfd;                   /* the target's /tmp: still usable after the target died */
	char name[64];
	char inside[96];             /* the path as the target sees it */
};

static void fifo_destroy(struct fifo *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0 && f->name[0])
		unlinkat(f->dirfd, f->name, 0);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->fd = f->dirfd = -1;
	f->name[0] = '\0';
}

/* mkfifo in the target's /tmp (reached through /proc/PID/root), owned by the target's
 * uid, opened for reading (non-blocking, so it does not wait for the writer).
 * 0, or -1 with errno (the caller falls back to chunks). */
static int fifo_create(struct session *s, struct fifo *f)
{
	char dir[64];
	uint64_t rnd = 0;
	struct stat st;
	int saved;

	f->fd = f->dirfd = -1;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -1;
	snprintf(f->name, sizeof(f->name), ".heapsnap-%d-%016llx.heapsnapshot", (int)getpid(), (unsigned long long)rnd);
	snprintf(f->inside, sizeof(f->inside), "/tmp/%s", f->name);
	snprintf(dir, sizeof(dir), "/proc/%d/root/tmp", (int)s->pid);
	f->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0)
		return -1;
	if (mkfifoat(f->dirfd, f->name, 0600) < 0) {
		f->name[0] = '\0';
		goto fail;
	}
	if (fchownat(f->dirfd, f->name, s->ctx->proc->uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail;
	f->fd = openat(f->dirfd, f->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (f->fd < 0 || fstat(f->fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		goto fail;
	fcntl(f->fd, F_SETPIPE_SZ, 1 << 20); /* fewer wakeups; the default 64 KiB also works */
	return 0;
fail:
	saved = errno;
	fifo_destroy(f);
	errno = saved;
	return -1;
}

/* Reads what the FIFO holds now. 1 at end of data (writer closed), 0 for more later, -1 on error. */
static int fifo_drain(struct session *s, struct fifo *f, uint8_t *buf)
{
	for (;;) {
		ssize_t n = read(f->fd, buf, FIFO_READ_BUF);
		if (n > 0) {
			if (store_write(s, buf, (size_t)n) < 0)
				return capture_fail(s->ctx, "%s", store_writer_error(s->ctx->w));
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return capture_fail(s->ctx, "reading the snapshot FIFO: %s", strerror(errno));
	}
}

/* Wait for FIFO data, websocket messages, the target's exit, cancel or the deadline. */
static enum ws_io_result fifo_wait(struct session *s, struct fifo *f, bool fifo_open, const struct ws_wait *w,
				   bool *fifo_ready, bool *ws_ready)
{
	struct pollfd pfd[3] = { { .fd = s->pidfd, .events = POLLIN }, { .fd = ws_conn_fd(s->ws), .events = POLLIN },
				 { .fd = fifo_open ? f->fd : -1, .events = POLLIN } };
	int64_t left = w->deadline_ms - mono_ms();

	*fifo_ready = *ws_ready = false;
	if (s->ctx->cancel && *s->ctx->cancel)
		return WS_IO_CANCELLED;
	if (left <= 0)
		return WS_IO_TIMEOUT;
	if (ws_conn_has_pending(s->ws)) {
		*ws_ready = true;
		return WS_IO_OK;
	}
	if (poll(pfd, 3, left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS) < 0 && errno != EINTR)
		return WS_IO_ERROR;
	if (pfd[0].revents)
		return WS_IO_WATCH;
	*ws_ready = pfd[1].revents != 0;
	*fifo_ready = pfd[2].revents != 0;
	return WS_IO_OK;
}

/* Until the evaluate reply has come and the FIFO is at its end. */
static int fifo_transfer(struct session *s, struct fifo *f, const struct ws_wait *w, uint8_t *buf)
{
	struct ws_sink sink;
	bool eof = false;

	cdp_decoder_ws_sink(s->dec, &sink);
	while (!(s->replied && eof)) {
		bool fifo_ready, ws_ready;
		enum ws_io_result r;

		if (s->replied) {
			/* writeHeapSnapshot returned: the writer is closed, the rest is in the pipe. */
			int rc = fifo_drain(s, f, buf);
			if (rc < 0)
				return -1;
			eof = true;
			break;
		}
		if (check_intruders(s, false) < 0)
			return -1;
		r = fifo_wait(s, f, !eof, w, &fifo_ready, &ws_ready);
		if (r == WS_IO_TIMEOUT)
			return capture_fail(s->ctx, "heap snapshot not finished within %us", total_timeout_s(s->ctx->cfg));
		if (r != WS_IO_OK)
			return capture_fail(s->ctx, "%s", io_reason(r) ? io_reason(r) : "poll failed");
		if (fifo_ready) {
			int rc = fifo_drain(s, f, buf);
			if (rc < 0)
				return -1;
			eof = rc == 1;
		}
		if (ws_ready) {
			r = ws_conn_pump(s->ws, &sink, w, s->ctx->err, sizeof(s->ctx->err));
			if (r != WS_IO_OK)
				return pump_error(s, r);
		}
	}
	if (s->reply_err[0])
		return capture_fail(s->ctx, "v8.writeHeapSnapshot into the FIFO failed: %s", s->reply_err);
	return 0;
}

static int snapshot_via_fifo(struct session *s, struct fifo *f, const struct ws_wait *w)
{
	char expr[160];
	uint8_t *buf = malloc(FIFO_READ_BUF);
	int rc;

	if (!buf)
		return capture_fail(s->ctx, "out of memory");
	snprintf(expr, sizeof(expr), "require('v8').writeHeapSnapshot('%s')", f->inside);
	s->want_id = FIFO_REQ_ID;
	s->replied = false;
	rc = send_request(s, FIFO_REQ_ID, "Runtime.evaluate",
			  json_pack("{s:s, s:b}", "expression", expr, "includeCommandLineAPI", 1), w);
	if (rc == 0)
		rc = fifo_transfer(s, f, w, buf);
	free(buf);
	return rc;
}

/* FIFO first when allowed and possible; chunks when the FIFO cannot be set up, or
 * failed before a single byte reached the store (nothing to undo then). */
static int snapshot(struct session *s, enum inspector_transport t, const struct ws_wait *w)
{
	struct fifo f = { .fd = -1, .dirfd = -1 };
	int rc;

	if (t == INSPECTOR_CHUNKS)
		return take_snapshot(s, w);
	if (fifo_create(s, &f) < 0) {
		if (t == INSPECTOR_FIFO)
			return capture_fail(s->ctx, "cannot create a FIFO in the target's /tmp: %s", strerror(errno));
		log_debug("pid %d: no FIFO in its /tmp (%s), using snapshot chunks", (int)s->pid, strerror(errno));
		return take_snapshot(s, w);
	}
	s->used_fifo = true;
	rc = snapshot_via_fifo(s, &f, w);
	fifo_destroy(&f);
	if (rc == 0 || t == INSPECTOR_FIFO || s->bytes_written || s->store_failed || s->intruded ||
	    (s->ctx->cancel && *s->ctx->cancel) || target_exited_now(s) || !s->ws)
		return rc;
	log_info("pid %d: FIFO snapshot failed before any data (%s), using snapshot chunks", (int)s->pid, s->ctx->err);
	s->used_fifo = false;
	s->ctx->err[0] = '\0';
	return take_snapshot(s, w);
}

/* Arm the connect guard on the port in the target's network namespace, before the
 * inspector exists. Without a guard: only when the operator allows it (may_open). */
static int arm_guard(struct session *s)
{
	int fd, rc;

	if (!connect_guard_available(s->ctx->cguard) || s->ctx->proc->opts.inspect_port_random ||
	    !inspect_host_is_loopback(s->ctx->proc->opts.inspect_host))
		return 0;
	fd = ns_socket(s->pid, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return capture_fail(s->ctx, "socket in the network namespace of pid %d: %s", (int)s->pid, strerror(-fd));
	rc = connect_guard_netns_cookie(fd, &s->netns_cookie);
	close(fd);
	if (rc == 0)
		rc = connect_guard_arm(s->ctx->cguard, s->netns_cookie, s->port);
	if (rc == -EEXIST)
		return capture_fail(s->ctx, "inspector port %d in the network namespace of pid %d is guarded for "
				    "another capture already", s->port, (int)s->pid);
	if (rc < 0)
		return capture_fail(s->ctx, "arming the inspector connect guard: %s", strerror(-rc));
	s->guarded = true;
	return 0;
}

static void disarm_guard(struct session *s)
{
	uint64_t refused = 0;
	int rc;

	if (!s->guarded)
		return;
	rc = connect_guard_disarm(s->ctx->cguard, s->netns_cookie, s->port, &refused);
	s->guarded = false;
	if (rc < 0)
		log_warn("pid %d: disarming the inspector connect guard: %s", (int)s->pid, strerror(-rc));
	else if (refused)
		log_warn("pid %d: the connect guard refused %llu connection attempt(s) to the inspector on port %d",
			 (int)s->pid, (unsigned long long)refused, s->port);
}

static int open_guarded(struct session *s)
{
	char why[400];

	if (!may_open(s->ctx->proc, s->ctx->cfg, s->ctx->cguard, why, sizeof(why)))
		return capture_fail(s->ctx, "%s", why);
	return arm_guard(s);
}

static int run_capture(struct session *s, enum inspector_transport t)
{
	struct ws_wait w;

	if (!s->ctx->proc->opts.inspect_port_random)
		s->l = find_listener(s->pid, s->port);
	if (s->l.found && !s->l.owned) {
		describe_taken(&s->l, s->port, s->ctx->err, sizeof(s->ctx->err));
		return -1;
	}
	if (!s->l.found && (open_guarded(s) < 0 || open_inspector(s) < 0))
		return -1;
	w = make_wait(s, (int64_t)total_timeout_s(s->ctx->cfg) * 1000);
	/* The decoder first: closing the inspector after a failure talks to it too. */
	s->dec = cdp_decoder_new(0, store_write, on_message, s);
	if (!s->dec)
		return capture_fail(s->ctx, "out of memory");
	if (attach(s, &w) < 0 || check_intruders(s, true) < 0)
		return -1;
	if (snapshot(s, t, &w) < 0)
		return -1;
	return check_intruders(s, true);
}

static int discard_bytes(void *ctx, const void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return 0;
}

int capture_inspector_close_leftover(struct capture_ctx *ctx)
{
	struct session s = { .ctx = ctx, .pid = ctx->proc->pid, .pidfd = -1, .port = inspect_port(ctx->proc) };
	int rc = 0;

	ctx->err[0] = '\0';
	if (ctx->proc->opts.inspect)
		return 0; /* started with --inspect: the inspector is the operator's */
	if (ctx->proc->opts.inspect_port_random)
		return capture_fail(ctx, "the inspector the previous run opened is on a random port "
			    "(--inspect-port=0): it cannot be told from the app's own listeners, so it may still be open");
	s.l = find_listener(s.pid, s.port);
	if (!s.l.found || !s.l.owned)
		return 0;
	s.pidfd = procs_pidfd_open(s.pid, ctx->proc->start_time);
	if (s.pidfd < 0)
		return 0; /* gone */
	s.other_ns = ns_net_differs(s.pid) == 1;
	if (arm_guard(&s) < 0)
		log_warn("pid %d: closing the inspector left open without a connect guard: %s", (int)s.pid, ctx->err);
	ctx->err[0] = '\0';
	s.opened_by_us = true;
	s.dec = cdp_decoder_new(0, discard_bytes, on_message, &s);
	if (!s.dec)
		rc = capture_fail(ctx, "out of memory");
	else if (close_inspector(&s))
		rc = 1;
	else {
		/* The target may still be busy with the snapshot the killed agent asked for:
		 * the close request runs when it is done. */
		int64_t deadline = mono_ms() + (int64_t)total_timeout_s(ctx->cfg) * 1000;
		while (port_still_open(&s) && slice_wait(&s, deadline) == WS_IO_OK)
			;
		rc = port_still_open(&s) ? capture_fail(ctx, "the inspector on port %d is still listening "
							"after the close request", s.port) : 1;
	}
	disarm_guard(&s);
	cdp_decoder_free(s.dec);
	close(s.pidfd);
	return rc;
}

int capture_via_inspector(struct capture_ctx *ctx)
{
	return capture_inspector_run(ctx, INSPECTOR_AUTO);
}

int capture_inspector_run(struct capture_ctx *ctx, enum inspector_transport transport)
{
	struct session s = { .ctx = ctx, .pid = ctx->proc->pid, .pidfd = -1, .port = inspect_port(ctx->proc) };
	int rc;
	bool closed = false;

	ctx->err[0] = ctx->detail[0] = '\0';
	ctx->inspector_opened = false;
	ctx->inspector_window_ms = 0;
	s.pidfd = procs_pidfd_open(s.pid, ctx->proc->start_time);
	if (s.pidfd < 0)
		return capture_fail(s.ctx, "process exited before capture (pidfd: %s)", strerror(errno));
	s.other_ns = ns_net_differs(s.pid) == 1;
	rc = run_capture(&s, transport);
	if (s.opened_by_us) {
		closed = close_inspector(&s);
		if (!closed)
			log_warn("inspector of pid %d on port %d: opened by SIGUSR1, still listening after the close request%s",
				 (int)s.pid, s.port, s.guarded ? "; its connect guard is lifted now" : "");
		ctx->inspector_opened = true;
		ctx->inspector_window_ms = (closed ? s.gone_ms : mono_ms()) - s.signalled_ms;
		log_info("pid %d: the inspector was open %lld ms (SIGUSR1 to closed%s), %s", (int)s.pid,
			 (long long)ctx->inspector_window_ms, closed ? "" : ": NOT closed",
			 s.guarded ? "behind the connect guard" : "UNGUARDED (inspector_unguarded = on)");
	} else {
		if (s.ws)
			ws_conn_close(s.ws, &(struct ws_wait){ mono_ms() + 250, NULL, -1 });
		ws_conn_free(s.ws);
	}
	disarm_guard(&s);
	if (rc == 0)
		describe_success(&s, closed);
	else if (s.opened_by_us && !closed)
		snprintf(ctx->err + strlen(ctx->err), sizeof(ctx->err) - strlen(ctx->err),
			 "; the inspector opened by SIGUSR1 could not be closed");
	cdp_decoder_free(s.dec);
	close(s.pidfd);
	return rc;
}
