// SPDX-License-Identifier: Apache-2.0
/* The memory limits that bound a process: its memory cgroup (v2 memory.max /
 * memory.current, or v1 memory.limit_in_bytes / memory.usage_in_bytes), walked up to
 * every ancestor because the tightest one is what the OOM killer enforces, and the
 * host's MemAvailable. Used by the memory guard before a capture.
 *
 * Paths in /proc/PID/cgroup are relative to the reader's cgroup namespace; the agent
 * runs in the host's, so they map onto the hierarchy mounted under `root`
 * (normally /sys/fs/cgroup; tests pass a fake tree). Layouts looked for under root:
 *   v2 unified:   root/<path>/memory.max
 *   v2 hybrid:    root/unified/<path>/memory.max
 *   v1:           root/memory/<path>/memory.limit_in_bytes
 * A v1 memory line wins over the "0::" line (in a hybrid setup the memory controller
 * can only be bound to one of them, and v1 is where it is when the line exists). */
#ifndef HS_CGROUP_H
#define HS_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_PATH_LEN 512

/* Which memory cgroup a process is in, from /proc/PID/cgroup. */
struct cgroup_ref {
	char v2_path[CGROUP_PATH_LEN]; /* from "0::/path", "" if absent */
	char v1_path[CGROUP_PATH_LEN]; /* from "N:...memory...:/path", "" if absent */
};

struct cgroup_mem {
	int version;                  /* 2 or 1; 0 = no memory cgroup found (then all zero) */
	uint64_t limit_bytes;         /* limit of the binding cgroup; 0 = no limit anywhere */
	uint64_t usage_bytes;         /* its memory.current / usage_in_bytes */
	uint64_t inactive_file_bytes; /* its reclaimable page cache (memory.stat), already in usage */
	/* The cgroup (path relative to its hierarchy root) whose limit leaves the least
	 * headroom: the process's own cgroup or one of its ancestors. */
	char binding_path[CGROUP_PATH_LEN];
	const char *limit_name;       /* "cgroup memory.max" or "cgroup memory.limit_in_bytes" */
};

/* Parse the text of /proc/PID/cgroup. Returns 0, or -EINVAL if it names neither a v2
 * nor a v1 memory cgroup. */
int cgroup_parse(const char *proc_cgroup_text, struct cgroup_ref *out);

/* Read the memory limits for ref under root (NULL = CGROUP_DEFAULT_ROOT). Walks from
 * the process's cgroup up to the hierarchy root and keeps the cgroup with the least
 * headroom (limit - usage minus reclaimable cache). Returns 0 (out->version 0 if no
 * memory controller was found for either path), -EXDEV if the path lies outside the
 * reader's cgroup namespace ("/../x": its limits cannot be read, the caller must not
 * assume there are none), or -errno on a read error of a file that exists. */
int cgroup_memory_read(const char *root, const struct cgroup_ref *ref, struct cgroup_mem *out);

/* /proc/PID/cgroup then cgroup_memory_read. -ESRCH if the process is gone. */
int cgroup_memory_of_pid(const char *root, pid_t pid, struct cgroup_mem *out);

/* MemAvailable from a meminfo file (NULL = /proc/meminfo), in bytes. 0 or -errno. */
int cgroup_host_mem_available(const char *meminfo_path, uint64_t *bytes);

#endif
