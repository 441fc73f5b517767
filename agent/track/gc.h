// SPDX-License-Identifier: Apache-2.0
/* GC tracker: V8 garbage collections of watched Node processes, seen with uprobes
 * (bpf/gc.bpf.c), for the agent's main loop and `heapsnap ps`.
 *
 * Lifecycle: gc_tracker_new → add gc_tracker_fd() to the main epoll loop →
 * gc_tracker_watch(pid) for each Node process found → on readiness gc_tracker_consume()
 * (one callback per finished major GC) → gc_tracker_stats(pid) whenever wanted →
 * gc_tracker_unwatch(pid) when the process exits → gc_tracker_free.
 *
 * Contract:
 * - pids are tgids in the agent's pid namespace, which must be the initial one (BPF sees
 *   init-namespace ids). Processes in containers are fine as long as the agent is on the host.
 * - Uprobes are attached once per binary (keyed by device, inode, size and mtime) for every
 *   process mapping it, and detached GC_LINGER_MS after the last watched process of that
 *   binary is unwatched. What a binary holds is kept for GC_MAX_BINARIES binaries (the
 *   least recently used unreferenced one goes first), so an exec of a known Node reads
 *   no /proc/PID/maps (gc_watch_opts).
 *   The binary is the process's executable, or the libnode.so.N it maps (Debian's node),
 *   reached through /proc/PID/exe or /proc/PID/map_files/..., so binaries in other mount
 *   namespaces and deleted (upgraded) binaries work.
 * - Not thread-safe: call everything from the main loop's thread.
 * - Counts sum over every isolate (workers included). heap_used_bytes is that of the main
 *   isolate (the one collecting on the main thread) once it has done a major GC, else of
 *   whichever isolate did. Per-isolate series come with each gc_major_event (heap, tid). */
#ifndef HS_GC_TRACKER_H
#define HS_GC_TRACKER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "gc_types.h" /* struct gc_major_event (bpf/gc_types.h, not this file) */

struct gc_tracker;

struct gc_stats {
	uint64_t gc_minor;              /* scavenges + minor mark-compact/sweep */
	uint64_t gc_major;              /* mark-compacts */
	uint64_t gc_unclassified;       /* pauses where no collector body was seen */
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	uint64_t heap_used_bytes;       /* V8 heap used after the last major GC, 0 = none yet */
	uint64_t heap_used_before_bytes;/* ... and before it */
	uint64_t last_major_ns;         /* CLOCK_MONOTONIC end of the last major GC, 0 = none */
	uint64_t last_gc_ns;            /* CLOCK_MONOTONIC end of the last GC of any kind */
	uint64_t heap_used_last_bytes;  /* V8 heap used after the main isolate's last GC of any
	                                 * kind (scavenges: old space plus what they promoted) */
	uint64_t last_main_gc_ns;       /* CLOCK_MONOTONIC end of that GC, 0 = none */
};

/* Open and load the BPF object (no probe attached yet). NULL + message on failure
 * (no BTF, not root, no uprobe support). */
struct gc_tracker *gc_tracker_new(char *err, size_t errlen);
/* Before load: where the BPF side keeps per-thread GC state (task storage, or a hash
 * keyed by thread id). gc_tracker_new calls it from the probed features. */
struct gc_bpf;
void gc_bpf_choose_inflight(struct gc_bpf *skel, bool task_storage);

/* Ring buffer epoll fd: readable when major GC events wait. */
int gc_tracker_fd(struct gc_tracker *tr);

/* What the caller knows of the process that spares the lookup work. */
struct gc_watch_opts {
	/* V8's text cannot be remapped to anonymous memory (no --use-largepages in the
	 * process's options, node_opts): an executable known (or found now) to hold V8 is
	 * attached on one stat of /proc/PID/exe, without reading /proc/PID/maps. Else, and
	 * for an executable without V8 (a launcher linked to libnode.so), the maps are read. */
	bool text_stays_file_mapped;
	/* The stat of /proc/PID/exe, taken by the caller (procs' version lookup): the
	 * known-binary lookup needs no stat of its own. NULL: stat here. */
	const struct stat *exe_stat;
};

/* Binaries whose lookup (V8 symbols or their absence) is kept; also the most that can
 * be attached at once. */
#define GC_MAX_BINARIES 64

/* Start tracking pid (opts may be NULL: every check made). Returns 0 (already watched
 * counts), or a negative errno (-ENOEXEC: no usable V8 hooks, -ENOENT: process gone)
 * with a reason for the user in why, e.g. "stripped binary: no V8 symbols in /usr/bin/node",
 * "--use-largepages: text remapped to anonymous memory, uprobes would not fire",
 * "process gone", "uprobe attach failed: ...". On failure nothing is kept for pid: the agent
 * keeps working on RSS alone for that process. */
int gc_tracker_watch(struct gc_tracker *tr, pid_t pid, const struct gc_watch_opts *opts, char *why,
		     size_t whylen);

/* Stop tracking pid and forget its counters (no-op if not watched). */
void gc_tracker_unwatch(struct gc_tracker *tr, pid_t pid);
/* A binary no watched process uses any more keeps its probes this long (the next
 * short-lived process of it needs no new attach); unwatched processes of it pay for
 * the probe hits meanwhile (a few µs per GC, filtered out in the kernel). */
#define GC_LINGER_MS 30000
/* Once a second: detaches the probes of binaries unused for GC_LINGER_MS. Accepts NULL. */
void gc_tracker_tick(struct gc_tracker *tr);

/* Drain the ring buffer, calling on_major for each major GC of a watched process (the
 * event is valid only during the call). Returns events handled, or -errno. */
int gc_tracker_consume(struct gc_tracker *tr,
		       void (*on_major)(void *ctx, const struct gc_major_event *ev), void *ctx);

/* Counters of a watched pid. 0, or -ENOENT if pid is not watched. A watched process that
 * has not collected yet gives all zeros. */
int gc_tracker_stats(struct gc_tracker *tr, pid_t pid, struct gc_stats *out);

/* The proc_stats map's fd, for gc_heap_last_of from another thread (-1 if tr is NULL). */
int gc_tracker_stats_fd(const struct gc_tracker *tr);
/* Heap used after the last GC of any kind of pid, read from the map directly (a
 * syscall, no tracker state: safe from any thread). 0 when unknown. */
uint64_t gc_heap_last_of(int stats_fd, pid_t pid);

/* Path through which the agent reached the binary pid is attached through
 * ("/proc/PID/exe", or "/proc/PID/map_files/START-END" for a libnode.so: valid while
 * pid lives, e.g. for the library's Node version), and that binary's number of probes.
 * 0, or -ENOENT. */
int gc_tracker_binary(struct gc_tracker *tr, pid_t pid, char *path, size_t pathlen, int *nprobes);

/* Detach everything and free. NULL is fine. */
void gc_tracker_free(struct gc_tracker *tr);

#endif
