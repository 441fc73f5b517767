// SPDX-License-Identifier: Apache-2.0
/* heapsnapd --check (see check.h). */
#include "daemon/check.h"

#include <errno.h>
#include <jansson.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "capture/inspector/connect_guard.h"
#include "track/features.h"
#include "track/gc.h"
#include "track/probes.h"

enum check_status { CHECK_OK, CHECK_DEGRADED, CHECK_MISSING };

static const char *const status_names[] = { "ok", "degraded", "missing" };

struct check_report {
	json_t *checks; /* array of {name, status, detail} */
	bool json;
};

ERR_PRINTF(4, 5) static enum check_status say(struct check_report *r, const char *name, enum check_status st,
					      const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (r->json)
		json_array_append_new(r->checks, json_pack("{s:s, s:s, s:s}", "name", name, "status",
							    status_names[st], "detail", detail));
	else
		printf("%-18s %-9s %s\n", name, status_names[st], detail);
	return st;
}

static void check_kernel(struct check_report *r, const struct features *f)
{
	say(r, "kernel", CHECK_OK, "%s", f->kernel);
	if (!f->bpf)
		say(r, "bpf", CHECK_MISSING, "the bpf() syscall is refused to this user (run --check as root): the BPF feature lines below are not the kernel's answer");
	if (f->btf)
		say(r, "btf", CHECK_OK, "/sys/kernel/btf/vmlinux");
	else
		say(r, "btf", CHECK_MISSING, "no /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y (BTF is the floor: no BPF part loads without it)");
	say(r, "rss_layout", CHECK_OK, "%s", f->rss_pre62 ? "struct mm_rss_stat (kernels before 6.2)" : "percpu_counter rss_stat[] (6.2 and later)");
	say(r, "tp_btf", f->tp_btf_rss && f->tp_btf_sched ? CHECK_OK : CHECK_MISSING, "%s",
	    f->tp_btf_rss && f->tp_btf_sched ? "rss_stat, sched_process_exec/exit" : "no BTF-typed rss_stat/sched tracepoints: no RSS trigger, no Node discovery");
	say(r, "ringbuf", f->ringbuf ? CHECK_OK : CHECK_MISSING, "%s", f->ringbuf ? "BPF ring buffer" : "no BPF ring buffer (5.8+): no kernel events");
}

static void ignore_event(void *ctx, const struct hs_event *ev)
{
	(void)ctx;
	(void)ev;
}

/* The core: the RSS trigger and Node discovery, loaded and attached as the agent does. */
static bool check_rss(struct check_report *r, const struct config *cfg)
{
	char err[512];
	struct probes *p = probes_start(cfg->node_names, cfg->node_name_count, ignore_event, NULL, err, sizeof(err));

	if (!p)
		return say(r, "rss_trigger", CHECK_MISSING, "%s", err) == CHECK_OK;
	probes_stop(p);
	return say(r, "rss_trigger", CHECK_OK, "exec/exit and rss_stat programs load and attach") == CHECK_OK;
}

static void check_gc(struct check_report *r, const struct features *f)
{
	char err[512];
	bool task = features_gc_task_storage(f);
	struct gc_tracker *gc;

	say(r, "task_storage", task ? CHECK_OK : CHECK_DEGRADED, "%s",
	    task ? "task storage and bpf_get_current_task_btf in uprobe programs"
		 : "no task storage or bpf_get_current_task_btf in uprobe programs: GC state in a hash keyed by thread id (a little more per GC)");
	if (f->uprobe_pmu)
		say(r, "uprobe_attach", CHECK_OK, "perf uprobe PMU");
	else if (f->uprobe_tracefs)
		say(r, "uprobe_attach", CHECK_DEGRADED, "legacy tracefs uprobe_events (no perf uprobe PMU): probes left behind if the agent is killed");
	else
		say(r, "uprobe_attach", CHECK_MISSING, "neither the perf uprobe PMU nor tracefs uprobe_events: no GC tracking");
	gc = gc_tracker_new(err, sizeof(err));
	if (gc)
		say(r, "gc_tracking", CHECK_OK, "V8 GC uprobes load (%s)", task ? "task storage" : "hash by thread id");
	else
		say(r, "gc_tracking", CHECK_DEGRADED, "%s: no leak heuristic, no GC stats; triggers on RSS alone", err);
	gc_tracker_free(gc);
}

/* The inspector route needs the connect guard, unless the operator accepts unguarded
 * inspectors. Returns whether the route can open inspectors. */
static bool check_inspector(struct check_report *r, const struct config *cfg, const struct features *f)
{
	char root[256], *text = malloc(64 * 1024);
	ssize_t n = text ? read_small_file("/proc/self/mounts", text, 64 * 1024) : -ENOMEM;
	bool cg2 = n >= 0 && cgroup2_mount_find(text, root, sizeof(root)) == 0;
	struct connect_guard *g;
	bool ok;

	free(text);
	say(r, "sock_addr", f->sock_addr && f->netns_cookie ? CHECK_OK : CHECK_MISSING, "%s",
	    f->sock_addr && f->netns_cookie ? "cgroup connect4/6 programs with bpf_get_netns_cookie"
					     : "no cgroup sock_addr programs with bpf_get_netns_cookie: no connect guard");
	say(r, "cgroup_v2", cg2 ? CHECK_OK : CHECK_MISSING, "%s", cg2 ? root : "no cgroup2 file system mounted: no connect guard");
	g = connect_guard_new("/proc/self/mounts");
	ok = connect_guard_available(g);
	if (ok)
		say(r, "connect_guard", CHECK_OK, "%s", connect_guard_why(g));
	else if (cfg->inspector_unguarded)
		say(r, "connect_guard", CHECK_DEGRADED, "%s; inspector_unguarded = on: inspectors opened by the agent are open to local processes", connect_guard_why(g));
	else
		say(r, "connect_guard", CHECK_DEGRADED, "%s; the inspector route works only for inspectors already open", connect_guard_why(g));
	connect_guard_free(g);
	return ok || cfg->inspector_unguarded;
}

static bool has_cap(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Returns whether the signal route can signal other users' processes. */
static bool check_caps(struct check_report *r, bool *can_setns)
{
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_BPF, "CAP_BPF" }, { CAP_PERFMON, "CAP_PERFMON" }, { CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" }, { CAP_KILL, "CAP_KILL" }, { CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE" },
	};
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	char missing[256] = "";

	if (syscall(SYS_capget, &hdr, data) != 0) {
		say(r, "capabilities", CHECK_MISSING, "capget: %s", strerror(errno));
		*can_setns = false;
		return false;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!has_cap(data, need[i].cap))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), " %s", need[i].name);
	*can_setns = has_cap(data, CAP_SYS_ADMIN);
	if (missing[0])
		say(r, "capabilities", CHECK_MISSING, "missing%s (run as root, or with conf/heapsnapd.service's set)", missing);
	else
		say(r, "capabilities", CHECK_OK, "CAP_BPF CAP_PERFMON CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_KILL CAP_DAC_OVERRIDE");
	return has_cap(data, CAP_KILL);
}

static bool check_store(struct check_report *r, const struct config *cfg)
{
	const char *dir = cfg->store_dir;
	struct statvfs vfs;
	char parent[sizeof(cfg->store_dir)];

	if (access(dir, F_OK) != 0) {
		/* The agent makes it with its missing parents: the nearest existing one counts. */
		snprintf(parent, sizeof(parent), "%s", dir);
		for (char *slash; access(parent, F_OK) != 0 && (slash = strrchr(parent, '/')) != NULL;)
			*(slash == parent ? slash + 1 : slash) = '\0';
		if (access(parent, W_OK | X_OK) != 0)
			return say(r, "store", CHECK_MISSING, "%s does not exist and %s is not writable: %s", dir, parent,
				   strerror(errno)) == CHECK_OK;
		return say(r, "store", CHECK_OK, "%s (made at start)", dir) == CHECK_OK;
	}
	if (access(dir, W_OK | X_OK) != 0)
		return say(r, "store", CHECK_MISSING, "%s: %s", dir, strerror(errno)) == CHECK_OK;
	if (statvfs(dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < cfg->min_free_bytes)
		return say(r, "store", CHECK_MISSING, "%s: %.0f MiB free, below min_free_mb %.0f", dir,
			   (double)vfs.f_bavail * vfs.f_frsize / 1048576.0, (double)cfg->min_free_bytes / 1048576.0) == CHECK_OK;
	return say(r, "store", CHECK_OK, "%s", dir) == CHECK_OK;
}

static bool check_routes(struct check_report *r, bool signal, bool inspector)
{
	say(r, "capture_signal", signal ? CHECK_OK : CHECK_MISSING, "%s",
	    signal ? "--heapsnapshot-signal processes" : "no CAP_KILL: cannot signal other users' processes");
	say(r, "capture_inspector", inspector ? CHECK_OK : CHECK_DEGRADED, "%s",
	    inspector ? "SIGUSR1 + inspector" : "only inspectors already open (no connect guard or no setns)");
	return signal || inspector;
}

int check_run(const struct config *cfg, const char *cfg_err, bool json)
{
	struct check_report r = { .checks = json_array(), .json = json };
	const struct features *f;
	char names[FEATURES_NAMES_LEN];
	bool rss, store, signal, setns, inspector, routes;

	if (!r.checks)
		return 1;
	log_set_level(LOG_ERROR); /* the lines below say it; no libbpf chatter in between */
	f = features_get();
	check_kernel(&r, f);
	if (cfg_err)
		say(&r, "config", CHECK_DEGRADED, "%s: checking with the defaults", cfg_err);
	rss = check_rss(&r, cfg);
	check_gc(&r, f);
	signal = check_caps(&r, &setns);
	inspector = check_inspector(&r, cfg, f) && setns;
	routes = check_routes(&r, signal, inspector);
	store = check_store(&r, cfg);
	bool ok = rss && routes && store;
	if (json) {
		json_t *present = json_array();
		features_describe(f, names, sizeof(names));
		for (char *save = NULL, *n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save))
			json_array_append_new(present, json_string(n));
		json_t *o = json_pack("{s:s, s:b, s:o, s:o}", "kernel", f->kernel, "ok", ok, "features", present,
				      "checks", r.checks);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		json_decref(r.checks);
		printf("%s: %s\n", ok ? "ready" : "not ready",
		       ok ? "the RSS trigger, a capture route and the store work here"
			  : "the agent cannot do its core job here (RSS trigger, a capture route, the store): see missing above");
	}
	return ok ? 0 : 1;
}
