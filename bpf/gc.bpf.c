// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* V8 garbage collection tracking with uprobes (attached by agent/track/gc.c, once per binary).
 *
 *   Heap::CollectGarbage entry/return   brackets one GC pause (per thread: task storage)
 *   Heap::Scavenge / MinorMarkCompact / MinorMarkSweep / MarkCompact entry
 *                                       classify the collection inside the bracket
 *   Heap::SizeOfObjects return          heap used: first return in the bracket = before,
 *                                       the smallest later one = after (the heap that
 *                                       survived; calls outside a bracket are ignored)
 *
 * Only tgids present in watched_tgids open a bracket, so unwatched Node processes cost one
 * hash lookup at CollectGarbage entry and one task-storage lookup at each other probe hit. Counts accumulate in proc_stats (key tgid); only the end of a
 * major GC wakes user space, through a ring buffer.
 * libbpf 1.1 has no BPF_UPROBE/BPF_URETPROBE macros: BPF_KPROBE/BPF_KRETPROBE read the same
 * pt_regs on a uprobe. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gc_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GC_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} watched_tgids SEC(".maps");

/* Set before load: false on kernels without task storage (or without
 * bpf_get_current_task_btf) in uprobe programs. The branch not taken is dead code the
 * verifier never checks, so the task-storage helpers in it do not stop the load. */
const volatile bool inflight_in_task = true;

/* Per-thread GC state in task local storage: a lookup is a pointer chase from the task
 * (a hash update/delete per GC cost ~2 us each here), and it is freed with the thread, so
 * a thread killed inside a GC leaves nothing behind. Without task storage user space
 * turns this map into a one-entry hash (never used) and inflight_by_tid takes over. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gc_inflight);
} inflight SEC(".maps");

/* The fallback, keyed by thread id; LRU so that threads killed inside a GC age out.
 * User space shrinks it to one entry when task storage is used. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GC_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct gc_inflight);
} inflight_by_tid SEC(".maps");

static __always_inline struct gc_inflight *inflight_by_tid_of_current(bool create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct gc_inflight *cur = bpf_map_lookup_elem(&inflight_by_tid, &tid);
	struct gc_inflight zero = {};

	if (cur || !create)
		return cur;
	bpf_map_update_elem(&inflight_by_tid, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&inflight_by_tid, &tid);
}

static __always_inline struct gc_inflight *inflight_of_current(__u64 flags)
{
	if (!inflight_in_task)
		return inflight_by_tid_of_current(flags & BPF_LOCAL_STORAGE_GET_F_CREATE);
	return bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, flags);
}

/* The bracket is over: the fallback map gives its entry back (task storage keeps it
 * with the thread, cheaper for the next GC). */
static __always_inline void inflight_done(struct gc_inflight *cur)
{
	cur->active = 0;
	if (!inflight_in_task) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		bpf_map_delete_elem(&inflight_by_tid, &tid);
	}
}

/* State of the current thread if it is inside a watched GC bracket. */
static __always_inline struct gc_inflight *active_inflight(void)
{
	struct gc_inflight *cur = inflight_of_current(0);

	return cur && cur->active ? cur : NULL;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GC_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct gc_proc_stats);
} proc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} major_events SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(gc_collect_entry, void *heap)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gc_inflight *cur;

	if (!bpf_map_lookup_elem(&watched_tgids, &tgid))
		return 0;
	cur = inflight_of_current(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cur)
		return 0;
	if (cur->active) {
		cur->depth++;
		return 0;
	}
	__builtin_memset(cur, 0, sizeof(*cur));
	cur->active = 1;
	cur->start_ns = bpf_ktime_get_ns();
	cur->heap = (__u64)heap;
	return 0;
}

static __always_inline void count_body(int major)
{
	struct gc_inflight *cur = active_inflight();

	if (!cur)
		return;
	if (major)
		cur->major++;
	else
		cur->minor++;
}

SEC("uprobe")
int BPF_KPROBE(gc_minor_body)
{
	count_body(0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(gc_major_body)
{
	count_body(1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(gc_size_exit, long used)
{
	struct gc_inflight *cur = active_inflight();

	if (!cur || used < 0)
		return 0;
	/* The first call is GCTracer::Start's. Later ones are its Stop and, on some V8
	 * versions (Node 18: ~6 calls per GC), calls after the weak callbacks, which may
	 * have allocated already: the smallest is the heap that survived. */
	if (cur->size_calls++ == 0)
		cur->used_before = cur->used_after = used;
	else if (cur->size_calls == 2 || (__u64)used < cur->used_after)
		cur->used_after = used;
	return 0;
}

static __always_inline struct gc_proc_stats *stats_of(__u32 tgid)
{
	struct gc_proc_stats *st = bpf_map_lookup_elem(&proc_stats, &tgid);
	struct gc_proc_stats zero = {};

	if (st)
		return st;
	bpf_map_update_elem(&proc_stats, &tgid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&proc_stats, &tgid);
}

static __always_inline void emit_major(const struct gc_inflight *cur, __u64 id, __u64 now, __u64 pause)
{
	struct gc_major_event *ev = bpf_ringbuf_reserve(&major_events, sizeof(*ev), 0);

	if (!ev)
		return;
	ev->tgid = id >> 32;
	ev->tid = (__u32)id;
	ev->heap = cur->heap;
	ev->ktime_ns = now;
	ev->pause_ns = pause;
	ev->heap_used_before = cur->used_before;
	ev->heap_used_after = cur->used_after;
	bpf_ringbuf_submit(ev, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(gc_collect_exit)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gc_inflight *cur = active_inflight();
	struct gc_proc_stats *st;
	__u64 now, pause;

	if (!cur)
		return 0;
	if (cur->depth) {
		cur->depth--;
		return 0;
	}
	now = bpf_ktime_get_ns();
	pause = now - cur->start_ns;
	st = stats_of(id >> 32);
	if (st) {
		/* Concurrent isolates (workers) of one process may race here; the counters are
		 * statistics, so atomic adds for the sums and plain stores for the rest. */
		__sync_fetch_and_add(&st->gc_minor, cur->minor);
		__sync_fetch_and_add(&st->gc_major, cur->major);
		__sync_fetch_and_add(&st->pause_total_ns, pause);
		if (!cur->minor && !cur->major)
			__sync_fetch_and_add(&st->gc_unclassified, 1);
		if (pause > st->pause_max_ns)
			st->pause_max_ns = pause;
		st->last_gc_ns = now;
		/* the main isolate's only: the leak verdict reads it beside that isolate's majors */
		if (cur->size_calls && (__u32)id == id >> 32) {
			st->heap_used_last = cur->used_after;
			st->last_main_gc_ns = now;
		}
		if (cur->major && ((__u32)id == id >> 32 || !st->main_major_seen)) {
			if ((__u32)id == id >> 32)
				st->main_major_seen = 1;
			st->last_major_ns = now;
			st->heap_used_before_major = cur->used_before;
			st->heap_used_after_major = cur->used_after;
		}
	}
	if (cur->major)
		emit_major(cur, id, now, pause);
	inflight_done(cur);
	return 0;
}
