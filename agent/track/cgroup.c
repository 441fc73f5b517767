// SPDX-License-Identifier: Apache-2.0
/* Memory cgroup and host memory facts for the memory guard (see cgroup.h). */
#include "track/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on x86-64). */
#define V1_UNLIMITED_FROM (1ULL << 62)

/* The memory controller's file names, per cgroup version. */
struct mem_files {
	int version;
	const char *limit_file;
	const char *usage_file;
	const char *inactive_key;    /* memory.stat key of reclaimable cache, hierarchical */
	const char *limit_name;
};

static const struct mem_files v2_files = { 2, "memory.max", "memory.current", "inactive_file",
					   "cgroup memory.max" };
static const struct mem_files v1_files = { 1, "memory.limit_in_bytes", "memory.usage_in_bytes",
					   "total_inactive_file", "cgroup memory.limit_in_bytes" };

struct hierarchy {
	char base[CGROUP_PATH_LEN];  /* directory the cgroup paths are relative to */
	const struct mem_files *f;
};

static int copy_path(char *dst, const char *src, size_t srclen)
{
	if (srclen >= CGROUP_PATH_LEN)
		return -ENAMETOOLONG;
	memcpy(dst, src, srclen);
	dst[srclen] = '\0';
	return 0;
}

/* True if the comma-separated controller list [s, s+len) contains "memory". */
static int lists_memory(const char *s, size_t len)
{
	while (len > 0) {
		const char *comma = memchr(s, ',', len);
		size_t word = comma ? (size_t)(comma - s) : len;
		if (word == 6 && memcmp(s, "memory", 6) == 0)
			return 1;
		if (!comma)
			break;
		len -= word + 1;
		s = comma + 1;
	}
	return 0;
}

int cgroup_parse(const char *text, struct cgroup_ref *out)
{
	memset(out, 0, sizeof(*out));
	const char *line = text;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *c1 = memchr(line, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			const char *ctrl = c1 + 1, *path = c2 + 1;
			size_t ctrl_len = (size_t)(c2 - ctrl), path_len = len - (size_t)(path - line);
			if (path_len > 0 && path[0] == '/') {
				if (ctrl_len == 0 && c1 - line == 1 && line[0] == '0') {
					if (copy_path(out->v2_path, path, path_len) < 0)
						return -ENAMETOOLONG;
				} else if (lists_memory(ctrl, ctrl_len)) {
					if (copy_path(out->v1_path, path, path_len) < 0)
						return -ENAMETOOLONG;
				}
			}
		}
		line = end ? end + 1 : NULL;
	}
	return out->v1_path[0] || out->v2_path[0] ? 0 : -EINVAL;
}

/* Parses "max" (v2: no limit -> 0) or a decimal. 0 on success or -EINVAL. */
static int parse_bytes(const char *s, uint64_t *out)
{
	if (strncmp(s, "max", 3) == 0) {
		*out = 0;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -EINVAL;
	*out = v;
	return 0;
}

static int read_bytes_file(const char *dir, const char *name, uint64_t *out)
{
	char path[CGROUP_PATH_LEN * 2 + 64], buf[64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return parse_bytes(buf, out);
}

/* Value of "key N" in a memory.stat file; 0 if absent or unreadable. */
static uint64_t read_stat_key(const char *dir, const char *key)
{
	char path[CGROUP_PATH_LEN * 2 + 64], buf[8192];
	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return 0;
	size_t klen = strlen(key);
	for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
			return strtoull(l + klen + 1, NULL, 10);
	}
	return 0;
}

static int file_exists(const char *dir, const char *name)
{
	char path[CGROUP_PATH_LEN * 2 + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* v2 memory controller: pure v2 at root, or hybrid at root/unified; it must list
 * "memory" in its root cgroup.controllers. */
static int find_v2(const char *root, struct hierarchy *h)
{
	static const char *const bases[] = {"", "/unified"};
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		char dir[CGROUP_PATH_LEN], buf[512];
		snprintf(dir, sizeof(dir), "%s%s/cgroup.controllers", root, bases[i]);
		ssize_t n = read_small_file(dir, buf, sizeof(buf));
		if (n < 0)
			continue;
		char *save = NULL;
		for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
			if (strcmp(w, "memory") == 0) {
				snprintf(h->base, sizeof(h->base), "%s%s", root, bases[i]);
				h->f = &v2_files;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static int find_v1(const char *root, struct hierarchy *h)
{
	snprintf(h->base, sizeof(h->base), "%s/memory", root);
	if (!file_exists(h->base, "memory.limit_in_bytes"))
		return -ENOENT;
	h->f = &v1_files;
	return 0;
}

static uint64_t headroom_of(uint64_t limit, uint64_t usage, uint64_t inactive)
{
	uint64_t working = usage > inactive ? usage - inactive : 0;
	return working < limit ? limit - working : 0;
}

/* Reads one cgroup level. 1 = it has a limit (filled in), 0 = no limit or no
 * controller files here, -errno on a read error. */
static int read_level(const struct hierarchy *h, const char *rel, struct cgroup_mem *lvl)
{
	char dir[CGROUP_PATH_LEN * 2];
	snprintf(dir, sizeof(dir), "%s%s", h->base, strcmp(rel, "/") == 0 ? "" : rel);
	uint64_t limit;
	int err = read_bytes_file(dir, h->f->limit_file, &limit);
	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	if (limit == 0 || (h->f->version == 1 && limit >= V1_UNLIMITED_FROM))
		return 0;
	err = read_bytes_file(dir, h->f->usage_file, &lvl->usage_bytes);
	if (err < 0)
		return err;
	lvl->limit_bytes = limit;
	lvl->inactive_file_bytes = read_stat_key(dir, h->f->inactive_key);
	snprintf(lvl->binding_path, sizeof(lvl->binding_path), "%s", rel);
	return 1;
}

/* Walks rel and its ancestors; keeps the level with the least headroom in out. */
static int walk_up(const struct hierarchy *h, const char *path, struct cgroup_mem *out)
{
	char rel[CGROUP_PATH_LEN];
	snprintf(rel, sizeof(rel), "%s", path);
	int found = 0;
	uint64_t best = UINT64_MAX;
	for (;;) {
		struct cgroup_mem lvl = {0};
		int r = read_level(h, rel, &lvl);
		if (r < 0)
			return r;
		uint64_t room = r ? headroom_of(lvl.limit_bytes, lvl.usage_bytes, lvl.inactive_file_bytes) : 0;
		if (r && (!found || room < best)) {
			found = 1;
			best = room;
			out->limit_bytes = lvl.limit_bytes;
			out->usage_bytes = lvl.usage_bytes;
			out->inactive_file_bytes = lvl.inactive_file_bytes;
			snprintf(out->binding_path, sizeof(out->binding_path), "%s", lvl.binding_path);
		}
		char *slash = strrchr(rel, '/');
		if (!slash || strcmp(rel, "/") == 0)
			break;
		if (slash == rel)
			slash[1] = '\0'; /* "/a" -> "/" */
		else
			*slash = '\0';
	}
	return 0;
}

static int read_hierarchy(const struct hierarchy *h, const char *path, struct cgroup_mem *out)
{
	memset(out, 0, sizeof(*out));
	out->version = h->f->version;
	out->limit_name = h->f->limit_name;
	int err = walk_up(h, path, out);
	if (err < 0)
		memset(out, 0, sizeof(*out));
	return err;
}

/* A path with a ".." component names a cgroup outside our cgroup namespace: it
 * cannot be reached under root (and must not be, by walking out of it). */
static bool outside_namespace(const char *path)
{
	for (const char *p = strstr(path, "/.."); p; p = strstr(p + 1, "/.."))
		if (p[3] == '/' || p[3] == '\0')
			return true;
	return false;
}

int cgroup_memory_read(const char *root, const struct cgroup_ref *ref, struct cgroup_mem *out)
{
	struct hierarchy h = {0};
	if (!root)
		root = CGROUP_DEFAULT_ROOT;
	memset(out, 0, sizeof(*out));
	if (outside_namespace(ref->v1_path) || outside_namespace(ref->v2_path))
		return -EXDEV;
	if (ref->v1_path[0] && find_v1(root, &h) == 0)
		return read_hierarchy(&h, ref->v1_path, out);
	if (ref->v2_path[0] && find_v2(root, &h) == 0)
		return read_hierarchy(&h, ref->v2_path, out);
	return 0;
}

int cgroup_memory_of_pid(const char *root, pid_t pid, struct cgroup_mem *out)
{
	char path[64], buf[4096];
	struct cgroup_ref ref;
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	if (cgroup_parse(buf, &ref) < 0)
		return 0; /* no memory cgroup named: nothing binds but the host */
	return cgroup_memory_read(root, &ref, out);
}

int cgroup_host_mem_available(const char *meminfo_path, uint64_t *bytes)
{
	char buf[8192];
	ssize_t n = read_small_file(meminfo_path ? meminfo_path : "/proc/meminfo", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *p = strstr(buf, "MemAvailable:");
	if (!p)
		return -ENOENT;
	char *end;
	unsigned long long kb = strtoull(p + strlen("MemAvailable:"), &end, 10);
	if (end == p + strlen("MemAvailable:"))
		return -EINVAL;
	*bytes = (uint64_t)kb * 1024;
	return 0;
}
