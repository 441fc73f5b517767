// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* heapsnap kernel side: which processes are Node (exec/exit) and when a watched
 * process's RSS reaches the level user space armed. User space is woken only on
 * exec of a matching binary, exit of a watched process and a threshold crossing,
 * never per page fault. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "heapsnap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PATH_BUF 256
#define PAGE_SHIFT_4K 12

/* Set before load through skel->rodata. */
const volatile char node_names[HS_MAX_NAMES][HS_NAME_LEN] = {};
const volatile __u32 node_name_count = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_MAX_WATCHED);
	__type(key, __u32);
	__type(value, struct hs_watch);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Scratch space for the exec path: too large for the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[PATH_BUF]);
} path_scratch SEC(".maps");

static __always_inline void emit(__u32 kind, __u32 tgid, __u64 rss, __u64 arm)
{
	struct hs_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return;
	e->kind = kind;
	e->pid = tgid;
	e->rss_bytes = rss;
	e->arm_bytes = arm;
	e->ktime_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* Is name (NUL-terminated, at most HS_NAME_LEN bytes) one of node_names? */
static __always_inline bool name_matches(const char name[HS_NAME_LEN])
{
	for (__u32 n = 0; n < HS_MAX_NAMES && n < node_name_count; n++) {
		bool same = true;
		for (__u32 i = 0; i < HS_NAME_LEN; i++) {
			char want = node_names[n][i];
			if (name[i] != want) {
				same = false;
				break;
			}
			if (want == '\0')
				break;
		}
		if (same)
			return true;
	}
	return false;
}

/* bprm->interp is the binary really loaded: for "#!/usr/bin/env node" scripts the
 * second exec (of node) is the one that matches. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0, start = 0;
	char *path = bpf_map_lookup_elem(&path_scratch, &zero);
	const char *interp = BPF_CORE_READ(bprm, interp);
	char name[HS_NAME_LEN] = {};

	if (!path)
		return 0;
	long len = bpf_probe_read_kernel_str(path, PATH_BUF, interp);
	if (len <= 1 || len > PATH_BUF)
		return 0;
	/* Last '/' : scan backwards from the end (len counts the NUL). */
	for (__u32 i = 0; i < PATH_BUF; i++) {
		long at = len - 2 - (long)i;
		if (at < 0)
			break;
		if (path[at & (PATH_BUF - 1)] == '/') {
			start = (__u32)at + 1;
			break;
		}
	}
	if (len - 1 - (long)start >= HS_NAME_LEN)
		return 0; /* longer than any name we match */
	if (bpf_probe_read_kernel_str(name, sizeof(name), interp + start) <= 0)
		return 0;
	if (!name_matches(name))
		return 0;
	/* The entry now, unarmed: the exit of a process that dies before user space has
	 * even read this event is reported all the same (user space drops the entry of
	 * one it does not want). An entry already there (node exec'ing node) stays. */
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct hs_watch fresh = { .arm_bytes = ~0ULL };
	long made = bpf_map_update_elem(&watched, &tgid, &fresh, BPF_NOEXIST);
	emit(HS_EV_EXEC, tgid, 0, made == 0 || bpf_map_lookup_elem(&watched, &tgid) ? ~0ULL : 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (BPF_CORE_READ(p, pid) != tgid)
		return 0; /* a thread, not the process */
	if (!bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	bpf_map_delete_elem(&watched, &tgid);
	emit(HS_EV_EXIT, tgid, 0, 0);
	return 0;
}

/* Before 6.2 the counters are one atomic per kind in struct mm_rss_stat; from 6.2 they
 * are an array of percpu_counter whose .count is the folded value. The flavour below
 * describes the old layout; libbpf matches it by name without the ___pre62 suffix, and
 * bpf_core_type_exists picks the branch at load (the other one is dead code the
 * verifier never checks, so its failed relocation does no harm). */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __s64 rss_pages_pre62(struct mm_struct *mm)
{
	struct mm_struct___pre62 *old = (void *)mm;

	return BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter) +
	       BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter) +
	       BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter);
}

static __always_inline __u64 rss_bytes_of(struct mm_struct *mm)
{
	__s64 pages;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62))
		pages = rss_pages_pre62(mm);
	else
		pages = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count) +
			BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count) +
			BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
	return pages > 0 ? (__u64)pages << PAGE_SHIFT_4K : 0;
}

/* The mm's owner, so that updates made by reclaim or another task land on the
 * right process; without CONFIG_MEMCG (no mm->owner) only updates made by the
 * process itself count. */
static __always_inline __u32 tgid_of(struct mm_struct *mm)
{
	if (bpf_core_field_exists(mm->owner)) {
		struct task_struct *owner = BPF_CORE_READ(mm, owner);
		if (owner)
			return BPF_CORE_READ(owner, tgid);
		return 0;
	}
	/* bpf_get_current_task, not _btf: the older helper is on every kernel we load on. */
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(cur, mm) != mm)
		return 0;
	return BPF_CORE_READ(cur, tgid);
}

/* Only the first two arguments: 6.1 and older pass a third (count) that 6.2 dropped. */
SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	__u32 tgid = tgid_of(mm);
	struct hs_watch *w;

	if (!tgid)
		return 0;
	w = bpf_map_lookup_elem(&watched, &tgid);
	if (!w)
		return 0;

	__u64 rss = rss_bytes_of(mm);
	w->rss_bytes = rss;
	if (rss > w->peak_bytes)
		w->peak_bytes = rss;
	w->updates++;

	__u64 arm = w->arm_bytes;
	if (rss < arm)
		return 0;
	/* Disarm first: of several CPUs crossing at once, only one reports. */
	if (__sync_val_compare_and_swap(&w->arm_bytes, arm, ~0ULL) != arm)
		return 0;
	emit(HS_EV_RSS_CROSSED, tgid, rss, arm);
	return 0;
}
