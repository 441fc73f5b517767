// SPDX-License-Identifier: Apache-2.0
/* Inspector route, port discovery (see inspector_port.h). */
#include "capture/inspector/inspector_port.h"

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

#include "capture/capture_route.h"
#include "capture/inspector/connect_guard.h"

#define DEFAULT_INSPECT_PORT 9229


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

struct listener inspector_find_listener(pid_t pid, int port)
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
size_t inspector_owned_listeners(pid_t pid, struct listener *out, size_t max)
{
	struct owned_query q = { .pid = pid, .out = out, .max = max };

	each_listener(pid, "tcp", AF_INET, collect_owned, &q);
	if (q.n < max)
		each_listener(pid, "tcp6", AF_INET6, collect_owned, &q);
	return q.n;
}

bool listener_on_loopback(const struct listener *l)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct in6_addr a6;

	if (l->family == AF_INET)
		return l->addr[0] == 127;
	memcpy(&a6, l->addr, sizeof(a6));
	return IN6_IS_ADDR_LOOPBACK(&a6) || (!memcmp(l->addr, v4mapped, sizeof(v4mapped)) && l->addr[12] == 127);
}

void listener_address(const struct listener *l, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(l->family, l->addr, ip, sizeof(ip));
	snprintf(out, outlen, l->family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, l->port);
}

struct ports_query {
	int *out;
	size_t n, max;
	bool overflow;
};

static bool collect_port(struct listener *l, void *arg)
{
	struct ports_query *q = arg;

	for (size_t i = 0; i < q->n; i++)
		if (q->out[i] == l->port)
			return true;
	if (q->n == q->max) {
		q->overflow = true;
		return false;
	}
	q->out[q->n++] = l->port;
	return true;
}

ssize_t inspector_netns_listen_ports(pid_t pid, int *out, size_t max)
{
	struct ports_query q = { .out = out, .max = max };

	each_listener(pid, "tcp", AF_INET, collect_port, &q);
	if (!q.overflow)
		each_listener(pid, "tcp6", AF_INET6, collect_port, &q);
	return q.overflow ? -E2BIG : (ssize_t)q.n;
}

/* --inspect-port=0: Node picks the port when SIGUSR1 opens the inspector, so the
 * inspector is the listener the process did not have before the signal. */
bool inspector_find_new_listener(pid_t pid, const struct listener *before, size_t nbefore, struct listener *out)
{
	struct listener now[INSPECTOR_MAX_LISTENERS];
	size_t n = inspector_owned_listeners(pid, now, INSPECTOR_MAX_LISTENERS);

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

int inspector_port(const struct proc_info *p)
{
	return p->opts.inspect_port > 0 ? p->opts.inspect_port : DEFAULT_INSPECT_PORT;
}

void inspector_describe_taken(const struct listener *l, int port, char *out, size_t outlen)
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
bool inspector_may_open(const struct proc_info *p, const struct config *cfg, const struct connect_guard *g, char *why,
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
			      char *why, size_t whylen, struct inspector_verdict *v)
{
	int port = inspector_port(p);
	struct inspector_verdict ignored;

	if (!v)
		v = &ignored;
	*v = (struct inspector_verdict){ 0 };
	if (p->opts.inspect_port_random && p->opts.inspect) {
		snprintf(why, whylen, "started with --inspect on port 0: its inspector's random port cannot be told "
			 "from the app's own listeners");
		return false;
	}
	if (p->opts.inspect_port_random && p->opts.disable_sigusr1) {
		snprintf(why, whylen, "started with --disable-sigusr1");
		return false;
	}
	if (p->opts.inspect_port_random) {
		v->needs_guard = !inspector_may_open(p, cfg, g, why, whylen);
		return !v->needs_guard;
	}
	struct listener l = inspector_find_listener(p->pid, port);

	if (l.found && l.owned && !listener_on_loopback(&l)) {
		char addr[64];
		listener_address(&l, addr, sizeof(addr));
		snprintf(why, whylen, "its inspector listens on %s, not on loopback: refused (reachable from other hosts)",
			 addr);
		return false;
	}
	if ((l.found && l.owned) || (!l.found && p->opts.inspect)) {
		/* Open now, or about to be: started with --inspect, Node opens it at start. */
		v->already_open = true;
		return true;
	}
	if (l.found) {
		inspector_describe_taken(&l, port, why, whylen);
		return false;
	}
	if (p->opts.disable_sigusr1) {
		snprintf(why, whylen, "started with --disable-sigusr1 and no inspector listening on port %d", port);
		return false;
	}
	v->needs_guard = !inspector_may_open(p, cfg, g, why, whylen);
	return !v->needs_guard;
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

/* The first connection to the inspector that is not ours (its peer port), or 0. Read
 * from the target's own view of its network namespace. */
int inspector_foreign_peer_of(pid_t pid, int port, const int *own, size_t nown)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	char path[64], line[512];
	int peer = 0;

	for (size_t t = 0; t < 2 && !peer; t++) {
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, tables[t]);
		if (!(f = fopen(path, "re")))
			continue;
		while (!peer && fgets(line, sizeof(line), f))
			peer = inspector_foreign_peer(line, port, own, nown);
		fclose(f);
	}
	return peer;
}

