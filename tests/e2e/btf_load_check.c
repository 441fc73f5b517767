// SPDX-License-Identifier: Apache-2.0
/* btf_load_check BTF: load every BPF object of the agent on this kernel with BTF (a
 * vmlinux or a raw .btf file of another kernel) as the CO-RE target, the way libbpf
 * would on that kernel: the RSS/exec probes, the GC probes in both per-thread modes
 * (task storage and its hash fallback) and the connect guard. One line per object;
 * exit 1 if any fails. Programs are loaded, never attached. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "connect_guard.skel.h"
#include "gc.skel.h"
#include "heapsnap.skel.h"
#include "track/gc.h"

static char last_warn[512];

static int keep_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		vsnprintf(last_warn, sizeof(last_warn), fmt, ap);
		fputs(last_warn, stderr);
	}
	return 0;
}

static int report(const char *what, int rc)
{
	if (rc)
		printf("FAIL %s: %s (%s)\n", what, strerror(rc < 0 ? -rc : rc), last_warn);
	else
		printf("ok   %s\n", what);
	return rc ? 1 : 0;
}

static int load_heapsnap(const struct bpf_object_open_opts *o)
{
	struct heapsnap_bpf *s = heapsnap_bpf__open_opts(o);
	int rc = s ? heapsnap_bpf__load(s) : -errno;

	heapsnap_bpf__destroy(s);
	return report("heapsnap.bpf (exec/exit, RSS)", rc);
}

static int load_gc(const struct bpf_object_open_opts *o, bool task)
{
	struct gc_bpf *s = gc_bpf__open_opts(o);
	int rc;

	if (s)
		gc_bpf_choose_inflight(s, task);
	rc = s ? gc_bpf__load(s) : -errno;
	gc_bpf__destroy(s);
	return report(task ? "gc.bpf (task storage)" : "gc.bpf (hash by thread id)", rc);
}

static int load_guard(const struct bpf_object_open_opts *o)
{
	struct connect_guard_bpf *s = connect_guard_bpf__open_opts(o);
	int rc = s ? connect_guard_bpf__load(s) : -errno;

	connect_guard_bpf__destroy(s);
	return report("connect_guard.bpf", rc);
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BTF\n", argv[0]);
		return 2;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = argv[1]);
	libbpf_set_print(keep_warnings);
	failed |= load_heapsnap(&opts);
	failed |= load_gc(&opts, true);
	failed |= load_gc(&opts, false);
	failed |= load_guard(&opts);
	return failed;
}
