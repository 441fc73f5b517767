// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Types shared by bpf/gc.bpf.c (V8 GC uprobes) and agent/track/gc.c. Fixed-width types only,
 * no includes: the BPF side gets __u32/__u64 from vmlinux.h, user space from linux/types.h. */
#ifndef HS_GC_H
#define HS_GC_H

#define GC_MAX_PROCS 8192    /* watched tgids */
#define GC_MAX_THREADS 16384 /* threads inside a GC at once, without task storage */

/* Which body function ran inside one Heap::CollectGarbage bracket. */
enum gc_kind {
	GC_KIND_NONE = 0,         /* CollectGarbage returned without a collector body (rare) */
	GC_KIND_SCAVENGE = 1,     /* Heap::Scavenge: minor */
	GC_KIND_MINOR_MS = 2,     /* Heap::MinorMarkCompact (<=20) / Heap::MinorMarkSweep (22+): minor */
	GC_KIND_MARK_COMPACT = 3, /* Heap::MarkCompact: major */
};

/* One thread inside Heap::CollectGarbage (BPF task local storage of the thread). */
struct gc_inflight {
	__u64 start_ns;
	__u64 heap;          /* Heap* (rdi at entry): one per isolate, workers have their own */
	__u64 used_before;   /* first Heap::SizeOfObjects return inside the bracket */
	__u64 used_after;    /* the smallest of the later ones: what survived (see gc_size_exit) */
	__u32 size_calls;
	__u32 depth;         /* nested CollectGarbage calls: only the outermost brackets the pause */
	__u32 minor;         /* collector bodies seen in this bracket */
	__u32 major;
	__u32 active;        /* inside a bracket */
	__u32 pad;
};

/* Per watched process (key: tgid). Written only by BPF; user space reads it. Counts sum
 * over every isolate of the process; the heap fields are those of the last major GC of
 * the main isolate (GCs on the thread tid == tgid) once it has done one, before that of
 * any isolate (each ring buffer event says which isolate). */
struct gc_proc_stats {
	__u64 gc_minor;
	__u64 gc_major;
	__u64 pause_total_ns;
	__u64 pause_max_ns;
	__u64 last_gc_ns;             /* ktime (CLOCK_MONOTONIC) at the end of the last GC */
	__u64 last_major_ns;          /* ktime at the end of the last major GC, 0 = none yet */
	__u64 heap_used_after_major;  /* bytes, Heap::SizeOfObjects after the last major GC */
	__u64 heap_used_before_major;
	__u64 heap_used_last;         /* after the last GC of any kind of the main isolate */
	__u64 gc_unclassified;        /* brackets with no body seen (symbol missing or inlined) */
	__u64 main_major_seen;        /* the main thread's isolate has done a major GC */
	__u64 last_main_gc_ns;        /* ktime at the end of the main isolate's last GC (heap_used_last's) */
};

/* Sent to user space at the end of every major GC of a watched process (48 bytes). */
struct gc_major_event {
	__u32 tgid;
	__u32 tid;                    /* thread that ran the GC: tid == tgid is the main isolate */
	__u64 heap;                   /* Heap* of the isolate */
	__u64 ktime_ns;               /* end of the pause, CLOCK_MONOTONIC */
	__u64 pause_ns;
	__u64 heap_used_before;
	__u64 heap_used_after;
};

#endif
