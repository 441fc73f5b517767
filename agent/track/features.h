// SPDX-License-Identifier: Apache-2.0
/* What this kernel offers the agent's BPF side, probed once (libbpf's feature probes,
 * the kernel's BTF, sysfs), never guessed from the kernel version. Each agent part
 * asks here and falls back or switches itself off; heapsnapd --check and --version
 * print the same set. */
#ifndef HS_FEATURES_H
#define HS_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

struct features {
	char kernel[128];      /* uname release */
	bool bpf;              /* the bpf() syscall works for us (root / CAP_BPF): else the
				* probes below could not run and say nothing about the kernel */
	bool btf;              /* /sys/kernel/btf/vmlinux: CO-RE (the floor) */
	bool rss_pre62;        /* mm_struct counts RSS in struct mm_rss_stat (< 6.2 layout) */
	bool tp_btf_rss;       /* BTF-typed rss_stat tracepoint (RSS trigger) */
	bool tp_btf_sched;     /* BTF-typed sched_process_exec/exit (Node discovery) */
	bool ringbuf;          /* BPF ring buffer (every event path) */
	bool task_storage;     /* task local storage usable from uprobe programs */
	bool task_btf;         /* bpf_get_current_task_btf from uprobe programs */
	bool sock_addr;        /* cgroup connect4/6 programs (the inspector connect guard) */
	bool netns_cookie;     /* bpf_get_netns_cookie in those programs */
	bool uprobe_pmu;       /* perf "uprobe" PMU; else legacy tracefs uprobe_events */
	bool uprobe_tracefs;   /* tracefs uprobe_events (the legacy attach mode) */
};

/* The probed set, probed on the first call (needs the BPF syscall: root or CAP_BPF;
 * the first call comes from the main thread at start, later ones only read).
 * HEAPSNAP_FEATURES_OFF=name,name... pretends the named features are missing, to
 * exercise the fallbacks on a kernel that has everything (names: features_describe's). */
const struct features *features_get(void);
/* Clears the features named in off (comma-separated, exact names; NULL: none). */
void features_switch_off(struct features *f, const char *off);
/* GC brackets per thread in task storage; without it, in a hash map keyed by thread id. */
bool features_gc_task_storage(const struct features *f);
/* Space-separated names of the features present, e.g. "btf tp_btf ringbuf task_storage
 * ...", for one log line at start, --check and --version. Returns buf, which holds every
 * name in FEATURES_NAMES_LEN bytes. */
#define FEATURES_NAMES_LEN 512
char *features_describe(const struct features *f, char *buf, size_t len);

#endif
