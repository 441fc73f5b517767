// SPDX-License-Identifier: Apache-2.0
/* Kernel feature probes: libbpf_probe_bpf_* load a trivial program or create a tiny
 * map; the BTF probes look a type up in the running kernel's BTF. */
#include "track/features.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static struct features probed;
static bool probed_done;

struct feature_name {
	const char *name;
	size_t off;
};

#define FEATURE(n) { #n, offsetof(struct features, n) }
static const struct feature_name names[] = {
	FEATURE(bpf), FEATURE(btf), FEATURE(rss_pre62), FEATURE(tp_btf_rss), FEATURE(tp_btf_sched),
	FEATURE(ringbuf), FEATURE(task_storage), FEATURE(task_btf), FEATURE(sock_addr),
	FEATURE(netns_cookie), FEATURE(uprobe_pmu), FEATURE(uprobe_tracefs),
};

static bool *flag_of(struct features *f, size_t off) { return (bool *)((char *)f + off); }
static bool flag(const struct features *f, size_t off) { return *(const bool *)((const char *)f + off); }

static bool btf_has(const struct btf *btf, const char *name, int kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) > 0;
}

static void probe_btf(struct features *f)
{
	struct btf *btf;

	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	btf = f->btf ? btf__load_vmlinux_btf() : NULL;
	if (!btf)
		return;
	f->rss_pre62 = btf_has(btf, "mm_rss_stat", BTF_KIND_STRUCT);
	f->tp_btf_rss = btf_has(btf, "btf_trace_rss_stat", BTF_KIND_TYPEDEF);
	f->tp_btf_sched = btf_has(btf, "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF) &&
			  btf_has(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	btf__free(btf);
}

static void probe_bpf(struct features *f)
{
	f->bpf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY, NULL) == 1;
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->task_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1 &&
			  libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_storage_get, NULL) == 1;
	f->task_btf = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_current_task_btf, NULL) == 1;
	f->sock_addr = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) == 1;
	f->netns_cookie = f->sock_addr &&
			  libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_get_netns_cookie, NULL) == 1;
}

static void probe_uprobe(struct features *f)
{
	f->uprobe_pmu = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
	f->uprobe_tracefs = access("/sys/kernel/tracing/uprobe_events", W_OK) == 0 ||
			    access("/sys/kernel/debug/tracing/uprobe_events", W_OK) == 0;
}

void features_switch_off(struct features *f, const char *off)
{
	if (!off)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].name);
		for (const char *p = off; (p = strstr(p, names[i].name)) != NULL; p += n)
			if ((p == off || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
				*flag_of(f, names[i].off) = false;
	}
}

const struct features *features_get(void)
{
	struct utsname u;

	if (probed_done)
		return &probed;
	if (uname(&u) == 0)
		snprintf(probed.kernel, sizeof(probed.kernel), "%s", u.release);
	probe_btf(&probed);
	probe_bpf(&probed);
	probe_uprobe(&probed);
	features_switch_off(&probed, getenv("HEAPSNAP_FEATURES_OFF"));
	probed_done = true;
	return &probed;
}

bool features_gc_task_storage(const struct features *f) { return f->task_storage && f->task_btf; }

char *features_describe(const struct features *f, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!flag(f, names[i].off))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* whole names only */
			break;
		}
		used += (size_t)n;
	}
	return buf;
}
