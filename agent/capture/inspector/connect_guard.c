// SPDX-License-Identifier: Apache-2.0
/* The inspector connect guard. See connect_guard.h. */
#include "capture/inspector/connect_guard.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "connect_guard.skel.h"
#include "connect_guard_types.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define MOUNTS_MAX (1u << 20)
/* The inode of the initial cgroup namespace (include/linux/proc_ns.h, fixed since 4.6). */
#define CGROUP_NS_INIT_INO 0xEFFFFFFBu

struct connect_guard {
	pthread_mutex_t lock;
	struct connect_guard_bpf *skel;
	int cgroup_fd;
	struct bpf_link *link4, *link6;
	unsigned armed;                 /* guards in the map: links exist while > 0 */
	char why[640];
};

/* --- pure parts ---------------------------------------------------------------- */

static size_t unescape_mount(const char *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\\' && i + 3 < len && in[i + 1] >= '0' && in[i + 1] <= '3' &&
		    in[i + 2] >= '0' && in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
			c = (char)(((in[i + 1] - '0') << 6) | ((in[i + 2] - '0') << 3) | (in[i + 3] - '0'));
			i += 3;
		}
		if (n + 1 >= outlen)
			return (size_t)-1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

int cgroup2_mount_find(const char *table, char *out, size_t outlen)
{
	const char *line = table;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *f[3];
		size_t flen[3];
		const char *p = line, *stop = line + len;
		int nf = 0;

		while (nf < 3 && p < stop) {
			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
			f[nf] = p;
			while (p < stop && *p != ' ' && *p != '\t')
				p++;
			flen[nf] = (size_t)(p - f[nf]);
			if (flen[nf])
				nf++;
		}
		if (nf == 3 && flen[2] == 7 && !memcmp(f[2], "cgroup2", 7))
			return unescape_mount(f[1], flen[1], out, outlen) == (size_t)-1 ? -ENAMETOOLONG : 0;
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Splits one mountinfo line into its fields up to " - " and the fstype after it. */
static bool mountinfo_fields(const char *line, size_t len, const char **root, size_t *rootlen, const char **mnt,
			     size_t *mntlen, bool *is_cgroup2)
{
	const char *f[6], *p = line, *stop = line + len, *sep;
	size_t flen[6];
	int nf = 0;

	while (nf < 6 && p < stop) {
		while (p < stop && *p == ' ')
			p++;
		f[nf] = p;
		while (p < stop && *p != ' ')
			p++;
		flen[nf] = (size_t)(p - f[nf]);
		if (flen[nf])
			nf++;
	}
	sep = nf == 6 ? memmem(p, (size_t)(stop - p), " - ", 3) : NULL;
	if (!sep)
		return false;
	*root = f[3], *rootlen = flen[3], *mnt = f[4], *mntlen = flen[4];
	*is_cgroup2 = (size_t)(stop - sep) >= 10 && !memcmp(sep + 3, "cgroup2", 7) && (sep[10] == ' ' || sep + 10 == stop);
	return true;
}

int cgroup2_hierarchy_root_find(const char *mountinfo, char *out, size_t outlen)
{
	const char *line = mountinfo;
	int rc = -ENOENT;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *root, *mnt;
		size_t len = end ? (size_t)(end - line) : strlen(line), rootlen, mntlen;
		bool cg2;

		if (mountinfo_fields(line, len, &root, &rootlen, &mnt, &mntlen, &cg2) && cg2) {
			bool at_root = rootlen == 1 && root[0] == '/';
			if (at_root || rc == -ENOENT) {
				if (unescape_mount(mnt, mntlen, out, outlen) == (size_t)-1)
					return -ENAMETOOLONG;
				rc = at_root ? 0 : -EXDEV;
			}
			if (at_root)
				return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return rc;
}

bool inspect_host_is_loopback(const char *host)
{
	char h[64];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (n == 0 || !strcmp(host, "localhost"))
		return true;
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
		if (n - 2 >= sizeof(h))
			return false;
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
	} else if (n < sizeof(h)) {
		memcpy(h, host, n + 1);
	} else {
		return false;
	}
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/* --- kernel side --------------------------------------------------------------- */

static void detach(struct connect_guard *g)
{
	bpf_link__destroy(g->link4);
	bpf_link__destroy(g->link6);
	g->link4 = g->link6 = NULL;
}

static int attach(struct connect_guard *g)
{
	g->link4 = bpf_program__attach_cgroup(g->skel->progs.guard_connect4, g->cgroup_fd);
	if (!g->link4)
		return -errno;
	g->link6 = bpf_program__attach_cgroup(g->skel->progs.guard_connect6, g->cgroup_fd);
	if (!g->link6) {
		int rc = -errno;
		detach(g);
		return rc;
	}
	return 0;
}

/* Programs attached below the hierarchy's root see only the sockets of that subtree:
 * such a guard would say "ready" and keep nobody out. So the attach point must be the
 * root itself: the agent in the initial cgroup namespace (inside another, even a
 * mount that says "/" is only the namespace's root) and the mount's root "/". */
static int find_root(struct connect_guard *g, const char *mountinfo_path, char *root, size_t rootlen)
{
	char *text = malloc(MOUNTS_MAX);
	ssize_t n = text ? read_small_file(mountinfo_path, text, MOUNTS_MAX) : -ENOMEM;
	struct stat st;
	int rc;

	if (n < 0) {
		snprintf(g->why, sizeof(g->why), "cannot read %s: %s", mountinfo_path, strerror((int)-n));
		free(text);
		return (int)n;
	}
	rc = cgroup2_hierarchy_root_find(text, root, rootlen);
	free(text);
	if (rc == -ENOENT)
		snprintf(g->why, sizeof(g->why), "no cgroup v2 file system is mounted (%s)", mountinfo_path);
	else if (rc == -EXDEV)
		snprintf(g->why, sizeof(g->why), "not effective: the cgroup v2 mount %s is below the hierarchy's root "
			 "(a guard attached there would miss every process outside it)", root);
	else if (rc < 0)
		snprintf(g->why, sizeof(g->why), "%s: %s", mountinfo_path, strerror(-rc));
	else if (stat("/proc/self/ns/cgroup", &st) == 0 && st.st_ino != CGROUP_NS_INIT_INO)
		rc = -EXDEV, snprintf(g->why, sizeof(g->why), "not effective: the agent runs in a cgroup namespace, so "
				      "%s is not known to be the hierarchy's root (a guard attached below it would "
				      "miss every process outside)", root);
	return rc;
}

static void explain(struct connect_guard *g, const char *step, const char *root, int err)
{
	const char *hint = (err == -EPERM || err == -EACCES) ? " (needs CAP_BPF and CAP_NET_ADMIN or CAP_SYS_ADMIN)" : "";
	snprintf(g->why, sizeof(g->why), "%s the BPF connect guard on the cgroup v2 root %s failed: %s%s", step,
		 root, strerror(-err), hint);
}

static int setup(struct connect_guard *g, const char *mountinfo_path)
{
	char root[256];
	int rc = find_root(g, mountinfo_path, root, sizeof(root));

	if (rc < 0)
		return rc;
	g->cgroup_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->cgroup_fd < 0) {
		rc = ERR_ERRNO();
		snprintf(g->why, sizeof(g->why), "cannot open the cgroup v2 root %s: %s", root, strerror(-rc));
		return rc;
	}
	g->skel = connect_guard_bpf__open();
	if (!g->skel) {
		rc = ERR_ERRNO();
		explain(g, "opening", root, rc);
		return rc;
	}
	if ((rc = connect_guard_bpf__load(g->skel)) != 0) {
		explain(g, "loading", root, rc);
		return rc;
	}
	/* A feature probe: attach once now, so a refusal is known (and said) at start. */
	if ((rc = attach(g)) != 0) {
		explain(g, "attaching", root, rc);
		return rc;
	}
	detach(g);
	snprintf(g->why, sizeof(g->why), "cgroup v2 root %s", root);
	return 0;
}

struct connect_guard *connect_guard_new(const char *mountinfo_path)
{
	struct connect_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->cgroup_fd = -1;
	if (setup(g, mountinfo_path) < 0) {
		connect_guard_bpf__destroy(g->skel);
		g->skel = NULL;
	}
	return g;
}

void connect_guard_free(struct connect_guard *g)
{
	if (!g)
		return;
	detach(g);
	connect_guard_bpf__destroy(g->skel);
	if (g->cgroup_fd >= 0)
		close(g->cgroup_fd);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

bool connect_guard_available(const struct connect_guard *g) { return g && g->skel; }

const char *connect_guard_why(const struct connect_guard *g)
{
	return g ? g->why : "no connect guard";
}

static struct cg_key make_key(uint64_t netns_cookie, int port)
{
	return (struct cg_key){ .netns_cookie = netns_cookie, .port = (__u32)port };
}

int connect_guard_arm(struct connect_guard *g, uint64_t netns_cookie, int port)
{
	struct cg_key k = make_key(netns_cookie, port);
	struct cg_guard v = { 0 };
	int rc = 0;

	if (!connect_guard_available(g))
		return -ENOTSUP;
	pthread_mutex_lock(&g->lock);
	if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.guards), &k, &v, BPF_NOEXIST) != 0)
		rc = -errno;
	else if (g->armed == 0 && (rc = attach(g)) != 0)
		bpf_map_delete_elem(bpf_map__fd(g->skel->maps.guards), &k);
	if (rc == 0)
		g->armed++;
	pthread_mutex_unlock(&g->lock);
	return rc;
}

int connect_guard_disarm(struct connect_guard *g, uint64_t netns_cookie, int port, uint64_t *refused)
{
	struct cg_key k = make_key(netns_cookie, port);
	struct cg_guard v = { 0 };
	int fd, rc = 0;

	if (refused)
		*refused = 0;
	if (!connect_guard_available(g))
		return -ENOTSUP;
	pthread_mutex_lock(&g->lock);
	fd = bpf_map__fd(g->skel->maps.guards);
	if (bpf_map_lookup_elem(fd, &k, &v) != 0 || bpf_map_delete_elem(fd, &k) != 0) {
		rc = -errno;
	} else if (--g->armed == 0) {
		detach(g);
	}
	pthread_mutex_unlock(&g->lock);
	if (refused)
		*refused = v.refused;
	return rc;
}

static void unexempt(struct connect_guard *g, uint64_t netns_cookie, const int *ports, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cg_key k = make_key(netns_cookie, ports[i]);
		bpf_map_delete_elem(bpf_map__fd(g->skel->maps.exempt), &k);
	}
}

int connect_guard_arm_opening(struct connect_guard *g, uint64_t netns_cookie, const int *exempt_ports, size_t n)
{
	__u8 one = 1;
	int rc;

	if (!connect_guard_available(g))
		return -ENOTSUP;
	if (n > CG_MAX_EXEMPT_PORTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		struct cg_key k = make_key(netns_cookie, exempt_ports[i]);
		if (exempt_ports[i] == CG_ANY_PORT)
			continue;
		if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.exempt), &k, &one, BPF_ANY) != 0) {
			rc = -errno;
			unexempt(g, netns_cookie, exempt_ports, i);
			return rc;
		}
	}
	if ((rc = connect_guard_arm(g, netns_cookie, CG_ANY_PORT)) < 0)
		unexempt(g, netns_cookie, exempt_ports, n);
	return rc;
}

int connect_guard_disarm_opening(struct connect_guard *g, uint64_t netns_cookie, const int *exempt_ports, size_t n,
				 uint64_t *refused)
{
	int rc = connect_guard_disarm(g, netns_cookie, CG_ANY_PORT, refused);

	if (connect_guard_available(g))
		unexempt(g, netns_cookie, exempt_ports, n);
	return rc;
}

uint64_t connect_guard_refused(struct connect_guard *g, uint64_t netns_cookie, int port)
{
	struct cg_key k = make_key(netns_cookie, port);
	struct cg_guard v = { 0 };

	if (connect_guard_available(g))
		bpf_map_lookup_elem(bpf_map__fd(g->skel->maps.guards), &k, &v);
	return v.refused;
}

int connect_guard_allow(struct connect_guard *g, int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	__u8 one = 1;

	*cookie = 0;
	if (!connect_guard_available(g))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) != 0)
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.allowed_socks), cookie, &one, BPF_ANY) != 0) {
		int rc = -errno;
		*cookie = 0;
		return rc;
	}
	return 0;
}

void connect_guard_unallow(struct connect_guard *g, uint64_t cookie)
{
	if (connect_guard_available(g) && cookie)
		bpf_map_delete_elem(bpf_map__fd(g->skel->maps.allowed_socks), &cookie);
}

int connect_guard_netns_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) == 0 ? 0 : -errno;
}
