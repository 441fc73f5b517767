// SPDX-License-Identifier: Apache-2.0
/* Skeleton lifecycle (open → set rodata → load → attach → ring buffer) and the
 * watched-process map of bpf/heapsnap.bpf.c. */
#include "track/probes.h"

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "heapsnap.skel.h"

struct probes {
	struct heapsnap_bpf *skel;
	struct ring_buffer *rb;
	probes_event_fn fn;
	void *ctx;
	int map_fd;
};

static int on_ring_event(void *ctx, void *data, size_t size)
{
	struct probes *p = ctx;
	struct hs_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	p->fn(p->ctx, &ev);
	return 0;
}

/* The format is libbpf's: a literal there, checked as one here. */
ERR_PRINTF(2, 0) static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

static void explain_failure(const char *step, int err, char *buf, size_t len)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		snprintf(buf, len, "this kernel has no BTF (/sys/kernel/btf/vmlinux): heapsnapd needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	else if (err == -EPERM || err == -EACCES)
		snprintf(buf, len, "%s the BPF programs: permission denied (heapsnapd needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE + CAP_SYS_ADMIN)", step);
	else
		snprintf(buf, len, "%s the BPF programs failed: %s (run with log_level = debug for libbpf's log)", step, strerror(-err));
}

struct probes *probes_start(const char names[][HS_NAME_LEN], int count, probes_event_fn fn, void *ctx,
			    char *err, size_t errlen)
{
	struct probes *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->fn = fn;
	p->ctx = ctx;
	libbpf_set_print(libbpf_log);

	p->skel = heapsnap_bpf__open();
	if (!p->skel) {
		explain_failure("opening", -errno, err, errlen);
		goto fail;
	}
	if (count > HS_MAX_NAMES)
		count = HS_MAX_NAMES;
	for (int i = 0; i < count; i++)
		memcpy((char *)p->skel->rodata->node_names[i], names[i], HS_NAME_LEN);
	p->skel->rodata->node_name_count = (__u32)count;

	rc = heapsnap_bpf__load(p->skel);
	if (rc) {
		explain_failure("loading", rc, err, errlen);
		goto fail;
	}
	rc = heapsnap_bpf__attach(p->skel);
	if (rc) {
		explain_failure("attaching", rc, err, errlen);
		goto fail;
	}
	p->map_fd = bpf_map__fd(p->skel->maps.watched);
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_ring_event, p, NULL);
	if (!p->rb) {
		explain_failure("opening the ring buffer of", -errno, err, errlen);
		goto fail;
	}
	return p;
fail:
	probes_stop(p);
	return NULL;
}

void probes_stop(struct probes *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	heapsnap_bpf__destroy(p->skel);
	free(p);
}

int probes_fd(const struct probes *p) { return ring_buffer__epoll_fd(p->rb); }

int probes_consume(struct probes *p) { return ring_buffer__consume(p->rb); }

int probes_watch(struct probes *p, pid_t pid, uint64_t arm_bytes, uint64_t rss_now)
{
	__u32 key = (__u32)pid;
	struct hs_watch w = { .arm_bytes = arm_bytes, .rss_bytes = rss_now, .peak_bytes = rss_now };

	return bpf_map_update_elem(p->map_fd, &key, &w, BPF_ANY) ? -errno : 0;
}

int probes_unwatch(struct probes *p, pid_t pid)
{
	__u32 key = (__u32)pid;

	return bpf_map_delete_elem(p->map_fd, &key) ? -errno : 0;
}

int probes_lookup(struct probes *p, pid_t pid, struct hs_watch *out)
{
	__u32 key = (__u32)pid;

	return bpf_map_lookup_elem(p->map_fd, &key, out) ? -errno : 0;
}

int probes_arm(struct probes *p, pid_t pid, uint64_t arm_bytes)
{
	__u32 key = (__u32)pid;
	struct hs_watch w;

	if (bpf_map_lookup_elem(p->map_fd, &key, &w))
		return -errno;
	w.arm_bytes = arm_bytes;
	/* BPF_EXIST: never resurrect an entry the exit program just deleted. */
	return bpf_map_update_elem(p->map_fd, &key, &w, BPF_EXIST) ? -errno : 0;
}
