// SPDX-License-Identifier: Apache-2.0
/* Memory guard: before a capture, estimate the extra memory a V8 heap snapshot will
 * take inside the target and refuse the capture if that would not fit under the
 * process's memory cgroup limit or the host's MemAvailable (a snapshot that does not
 * fit gets the target OOM-killed: the one thing heapsnap must never do).
 *
 * Cost model (measured, see guard.c):
 *     cost   = guard_cost_factor x heap_used
 *     needed = cost + guard_min_headroom
 * guard_min_headroom covers the model's fixed part (~28 MB: a snapshot of an idle Node
 * process) and what must stay free after the snapshot. Worst measured slope: 12.1
 * (boxed doubles, Node 20); 15 is the recommended factor (the table is in guard.c). A capture is allowed when every known
 * limit leaves at least `needed` bytes. Everything here except guard_collect is pure. */
#ifndef HS_GUARD_H
#define HS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;

/* The [capture] guard keys. */
struct guard_params {
	bool enforce;                  /* guard: refuse what does not fit (off: only report) */
	unsigned cost_factor;          /* guard_cost_factor */
	uint64_t min_headroom_bytes;   /* guard_min_headroom_mb */
};

struct guard_params guard_params_from(const struct config *cfg);

/* Snapshot file size / heap used, worst measured (boxed doubles: 558 MB file for a
 * 195 MB heap). Counts only when the file lands in memory (tmpfs) under the same limit. */
#define GUARD_FILE_FACTOR 3

struct guard_input {
	uint64_t heap_used_bytes;      /* V8 heap used; 0 = unknown: rss_bytes stands in for it */
	bool file_in_memory;           /* the snapshot file is written to tmpfs charged to the
	                                * target (signal route, diagnostic dir on tmpfs): it adds
	                                * GUARD_FILE_FACTOR x heap to the cost */
	uint64_t rss_bytes;            /* the process's RSS */
	uint64_t cgroup_limit_bytes;   /* tightest memory cgroup limit; 0 = none */
	uint64_t cgroup_usage_bytes;   /* that cgroup's usage, minus reclaimable page cache */
	const char *cgroup_limit_name; /* "cgroup memory.max" (default when NULL) or "...limit_in_bytes" */
	uint64_t mem_available_bytes;  /* host MemAvailable; 0 = unknown */
};

struct guard_verdict {
	bool allow;
	bool heap_estimated;       /* heap_used was unknown: RSS was used instead */
	uint64_t cost_bytes;       /* estimated extra memory of the snapshot */
	uint64_t needed_bytes;     /* cost + guard_min_headroom */
	uint64_t headroom_bytes;   /* free memory under the binding limit (UINT64_MAX if none) */
	const char *limit;         /* binding limit: "cgroup memory.max", "host MemAvailable", "none" */
	char reason[256];          /* one sentence for the capture_refused event / the log */
};

/* Extra bytes the snapshot is expected to take (saturates at UINT64_MAX):
 * cost_factor x heap, plus GUARD_FILE_FACTOR x heap if file_in_memory. */
uint64_t guard_estimate_cost(const struct guard_params *p, const struct guard_input *in);

/* Decide. Returns out->allow. With p->enforce off the capture is always allowed
 * (the numbers are still filled in and the reason says the guard is off). */
bool guard_check(const struct guard_params *p, const struct guard_input *in, struct guard_verdict *out);

/* Signed margin: headroom - needed of the binding limit, in bytes (positive = fits).
 * INT64_MAX when no limit is known. Used by the predictive trigger. */
int64_t guard_margin(const struct guard_verdict *v);

/* 1 if path is on a memory-backed filesystem (tmpfs, ramfs), 0 if not, -errno.
 * For the signal route, pass the target's diagnostic dir as the agent reaches it
 * (/proc/PID/root/...) and set guard_input.file_in_memory from it. */
int guard_path_in_memory(const char *path);

/* Fill in from the live system: RSS from /proc/PID/statm, the process's memory cgroup
 * under cgroup_root (NULL = /sys/fs/cgroup), MemAvailable from meminfo_path (NULL =
 * /proc/meminfo). heap_used is passed through (0 = unknown). Returns 0 or -errno
 * (-ESRCH when the process is gone). Not pure: the agent's one call before capture. */
int guard_collect(pid_t pid, uint64_t heap_used, const char *cgroup_root, const char *meminfo_path,
		  struct guard_input *out);

#endif
