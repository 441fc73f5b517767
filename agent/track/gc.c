// SPDX-License-Identifier: Apache-2.0
/* GC tracker: finds the binary holding V8 for a process, attaches the uprobes of
 * bpf/gc.bpf.c to it once per binary, and reads per-process counters (see gc.h). */
#include "track/gc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/err.h"
#include "base/loop.h"
#include "gc.skel.h"
#include "track/features.h"
#include "track/procs.h"
#include "track/symbols.h"

#define GC_MAX_MAPPINGS 512

enum probe_site {
	SITE_COLLECT,      /* entry + return */
	SITE_SCAVENGE,
	SITE_MINOR_MC,
	SITE_MINOR_MS,
	SITE_MARK_COMPACT,
	SITE_SIZE,         /* return */
	SITE_COUNT
};

static const char *const site_prefix[SITE_COUNT] = {
	[SITE_COLLECT] = "_ZN2v88internal4Heap14CollectGarbageE",
	[SITE_SCAVENGE] = "_ZN2v88internal4Heap8ScavengeE",
	[SITE_MINOR_MC] = "_ZN2v88internal4Heap16MinorMarkCompactE",
	[SITE_MINOR_MS] = "_ZN2v88internal4Heap14MinorMarkSweepE",
	[SITE_MARK_COMPACT] = "_ZN2v88internal4Heap11MarkCompactE",
	[SITE_SIZE] = "_ZN2v88internal4Heap13SizeOfObjectsE",
};

#define GC_MAX_LINKS (SITE_COUNT * SYM_MAX_MATCHES + SYM_MAX_MATCHES)

/* One binary (device + inode), attached or known to hold no V8 symbols: the cache of
 * the GC probe lookup. A process whose executable is here with V8 is attached on one
 * stat of /proc/PID/exe (gc_watch_opts); a file replaced or rewritten gets a new
 * identity (inode, or size and mtime), so its old entry never matches again. */
struct gc_binary {
	bool used;
	bool has_v8;
	dev_t dev;
	ino_t ino;
	off_t size;                    /* with mtime: the same file, not a reused inode */
	struct timespec mtime;
	int refs;                      /* watched processes attached through it */
	int64_t unused_since_ms;       /* monotonic: refs fell to 0 then, probes still attached */
	int64_t last_used_ms;          /* monotonic: last looked up (the least recent goes first) */
	char path[PATH_MAX];           /* how the agent reached it when attaching */
	char why[192];                 /* has_v8 == false: the reason */
	struct sym_query sites[SITE_COUNT];
	struct bpf_link *links[GC_MAX_LINKS];
	int nlinks;
};

struct gc_watch {
	pid_t pid;
	int bin;
	char via[64];                  /* how this process's binary is reached: /proc/PID/exe or
	                                * /proc/PID/map_files/START-END (gc_tracker_binary) */
};

struct gc_tracker {
	struct gc_bpf *skel;
	struct ring_buffer *rb;
	struct gc_binary bins[GC_MAX_BINARIES];
	struct gc_watch *watches;
	size_t nwatches;
	void (*on_major)(void *ctx, const struct gc_major_event *ev);
	void *on_major_ctx;
};

/* An executable file mapping from /proc/PID/maps. */
struct exec_mapping {
	unsigned long start, end, pgoff, ino;
};

/* A process's executable file mappings, and the first libnode.so.N among them. */
struct exec_maps {
	struct exec_mapping m[GC_MAX_MAPPINGS];
	int n;
	int libnode;                   /* index in m, -1 if none */
	char libnode_path[PATH_MAX];   /* its name in maps (for messages only: never opened) */
};

static int on_ringbuf_event(void *ctx, void *data, size_t size)
{
	struct gc_tracker *tr = ctx;
	struct gc_major_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	if (tr->on_major)
		tr->on_major(tr->on_major_ctx, &ev);
	return 0;
}

/* Per-thread GC state: task storage where the kernel has it for uprobe programs, else
 * a hash keyed by thread id (the task-storage map is then made a hash nobody uses, so
 * that creating it cannot fail). */
void gc_bpf_choose_inflight(struct gc_bpf *skel, bool task)
{
	skel->rodata->inflight_in_task = task;
	if (task) {
		bpf_map__set_max_entries(skel->maps.inflight_by_tid, 1);
		return;
	}
	bpf_map__set_type(skel->maps.inflight, BPF_MAP_TYPE_HASH);
	bpf_map__set_max_entries(skel->maps.inflight, 1);
}

struct gc_tracker *gc_tracker_new(char *err, size_t errlen)
{
	struct gc_tracker *tr = calloc(1, sizeof(*tr));
	int rc;

	if (!tr) {
		snprintf(err, errlen, "gc: out of memory");
		return NULL;
	}
	tr->skel = gc_bpf__open();
	if (!tr->skel) {
		snprintf(err, errlen, "gc: open BPF object: %s", strerror(errno));
		goto fail;
	}
	gc_bpf_choose_inflight(tr->skel, features_gc_task_storage(features_get()));
	rc = gc_bpf__load(tr->skel);
	if (rc) {
		snprintf(err, errlen, "gc: load BPF object: %s", strerror(-rc));
		goto fail;
	}
	tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.major_events), on_ringbuf_event, tr, NULL);
	if (!tr->rb) {
		snprintf(err, errlen, "gc: ring buffer: %s", strerror(errno));
		goto fail;
	}
	return tr;
fail:
	gc_tracker_free(tr);
	return NULL;
}

int gc_tracker_fd(struct gc_tracker *tr)
{
	return ring_buffer__epoll_fd(tr->rb);
}

static struct gc_watch *find_watch(struct gc_tracker *tr, pid_t pid)
{
	for (size_t i = 0; i < tr->nwatches; i++)
		if (tr->watches[i].pid == pid)
			return &tr->watches[i];
	return NULL;
}

static bool is_libnode(const char *path, size_t len)
{
	static const char lib[] = "libnode.so";
	const char *base = memrchr(path, '/', len);

	if (base)
		len -= (size_t)(base + 1 - path), path = base + 1;
	return len >= sizeof(lib) - 1 && memcmp(path, lib, sizeof(lib) - 1) == 0;
}

/* Executable file mappings of pid into out. 0, or -errno. */
static int read_exec_mappings(pid_t pid, struct exec_maps *out)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	out->n = 0;
	out->libnode = -1;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (out->n < GC_MAX_MAPPINGS && getline(&line, &cap, f) > 0) {
		struct exec_mapping *m = &out->m[out->n];
		struct maps_entry e;

		if (procs_parse_maps_line(line, &e) < 0 || e.perms[2] != 'x' || !e.ino)
			continue;
		*m = (struct exec_mapping){ .start = e.start, .end = e.end, .pgoff = e.pgoff, .ino = e.ino };
		if (out->libnode < 0 && is_libnode(e.path, e.path_len)) {
			out->libnode = out->n;
			snprintf(out->libnode_path, sizeof(out->libnode_path), "%.*s", (int)e.path_len, e.path);
		}
		out->n++;
	}
	free(line);
	fclose(f);
	return 0;
}

static void detach_links(struct gc_binary *b)
{
	for (int i = 0; i < b->nlinks; i++)
		bpf_link__destroy(b->links[i]);
	b->nlinks = 0;
}

static void detach_binary(struct gc_binary *b)
{
	detach_links(b);
	memset(b, 0, sizeof(*b));
}

/* The entry of the file st describes. An entry of the same inode whose size or mtime
 * changed (the file rewritten in place) can never match again: dropped if unused. */
static int find_binary(struct gc_tracker *tr, const struct stat *st)
{
	for (int i = 0; i < GC_MAX_BINARIES; i++) {
		struct gc_binary *b = &tr->bins[i];
		if (!b->used || b->dev != st->st_dev || b->ino != st->st_ino)
			continue;
		if (b->size == st->st_size && b->mtime.tv_sec == st->st_mtim.tv_sec &&
		    b->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return i;
		if (!b->refs)
			detach_binary(b);
	}
	return -ENOENT;
}

/* A free slot, evicting the least recently looked-up unreferenced entry if needed (a
 * user exec'ing many distinct binaries named node cannot push out the one in use,
 * whose processes come and go, before its own entries). */
static int free_binary_slot(struct gc_tracker *tr)
{
	int victim = -ENOSPC;

	for (int i = 0; i < GC_MAX_BINARIES; i++) {
		const struct gc_binary *b = &tr->bins[i];
		if (!b->used)
			return i;
		if (!b->refs && (victim < 0 || b->last_used_ms < tr->bins[victim].last_used_ms))
			victim = i;
	}
	if (victim >= 0)
		detach_binary(&tr->bins[victim]);
	return victim;
}

/* Resolve the V8 hook symbols of the file at path into a new binary slot. Returns the
 * slot (has_v8 says whether it is usable), or a negative errno with why. */
static int scan_binary(struct gc_tracker *tr, const char *path, const struct stat *st, char *why,
		       size_t whylen)
{
	struct sym_file_info info;
	char err[256];
	struct gc_binary *b;
	int slot = free_binary_slot(tr);

	if (slot < 0) {
		snprintf(why, whylen, "too many distinct Node binaries in use (%d)", GC_MAX_BINARIES);
		return slot;
	}
	b = &tr->bins[slot];
	memset(b, 0, sizeof(*b));
	for (int s = 0; s < SITE_COUNT; s++)
		b->sites[s].prefix = site_prefix[s];
	if (symbols_resolve(path, b->sites, SITE_COUNT, &info, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "%s", err);
		return -ENOEXEC;
	}
	b->used = true;
	b->dev = st->st_dev;
	b->ino = st->st_ino;
	b->size = st->st_size;
	b->mtime = st->st_mtim;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->has_v8 = symbols_entry(&b->sites[SITE_COLLECT]) != NULL;
	if (!b->has_v8)
		snprintf(b->why, sizeof(b->why), "%s: no V8 symbols",
			 info.has_symtab ? "binary without V8 GC symbols" : "stripped binary");
	return slot;
}

/* The binary slot for the file at path (scanning it the first time it is seen);
 * known: its stat if the caller has it, else NULL. */
static int binary_for(struct gc_tracker *tr, const char *path, const struct stat *known, char *why,
		      size_t whylen)
{
	struct stat st;
	int slot;

	if (known)
		st = *known;
	else if (stat(path, &st) < 0) {
		int rc = -errno;

		if (rc == -ENOENT)
			snprintf(why, whylen, "process gone");
		else
			snprintf(why, whylen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	slot = find_binary(tr, &st);
	if (slot < 0)
		slot = scan_binary(tr, path, &st, why, whylen);
	else if (!tr->bins[slot].nlinks) /* attached again through a live process's path */
		snprintf(tr->bins[slot].path, sizeof(tr->bins[slot].path), "%s", path);
	if (slot >= 0)
		tr->bins[slot].last_used_ms = mono_ms();
	return slot;
}

/* The binary of pid holding V8 when its executable (exe_slot) does not: a mapped
 * libnode.so.N, reached through its map_files link (the very inode mapped), whose
 * path goes to via. */
static int locate_libnode(struct gc_tracker *tr, pid_t pid, int exe_slot, const struct exec_maps *maps,
			  char *via, size_t vialen, char *why, size_t whylen)
{
	const struct exec_mapping *m;
	int slot;

	if (maps->libnode < 0) {
		snprintf(why, whylen, "%s", tr->bins[exe_slot].why);
		return -ENOEXEC;
	}
	m = &maps->m[maps->libnode];
	snprintf(via, vialen, "/proc/%d/map_files/%lx-%lx", pid, m->start, m->end);
	slot = binary_for(tr, via, NULL, why, whylen);
	if (slot >= 0 && tr->bins[slot].has_v8)
		return slot;
	if (slot >= 0)
		snprintf(why, whylen, "%s (%s)", tr->bins[slot].why, maps->libnode_path);
	return slot >= 0 ? -ENOEXEC : slot;
}

/* True if the process maps the binary's CollectGarbage from the file itself; with
 * --use-largepages Node copies its text to anonymous memory and file uprobes never fire. */
static bool collect_mapped_from_file(const struct gc_binary *b, const struct exec_maps *maps)
{
	uint64_t off = symbols_entry(&b->sites[SITE_COLLECT])->offset;

	for (int i = 0; i < maps->n; i++) {
		const struct exec_mapping *m = &maps->m[i];
		if (m->ino == b->ino && off >= m->pgoff && off < m->pgoff + (m->end - m->start))
			return true;
	}
	return false;
}

static int attach_site(struct gc_binary *b, struct bpf_program *prog, bool retprobe, int site,
		       char *why, size_t whylen)
{
	const struct sym_query *q = &b->sites[site];

	for (int i = 0; i < q->count; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
		struct bpf_link *link;

		if (q->match[i].cold || b->nlinks == GC_MAX_LINKS)
			continue;
		link = bpf_program__attach_uprobe_opts(prog, -1, b->path, q->match[i].offset, &opts);
		if (!link) {
			int rc = ERR_ERRNO();  /* libbpf: NULL with errno set */

			snprintf(why, whylen, "uprobe attach failed at %s+0x%lx: %s", q->prefix,
				 (unsigned long)q->match[i].offset, strerror(-rc));
			return rc;
		}
		b->links[b->nlinks++] = link;
	}
	return 0;
}

static int attach_binary(struct gc_tracker *tr, struct gc_binary *b, char *why, size_t whylen)
{
	struct gc_bpf *s = tr->skel;
	int rc;

	if (b->nlinks)
		return 0;
	/* Classifiers and SizeOfObjects first, the bracket last: a GC opened before its
	 * classifier probes exist would count as unclassified. */
	if ((rc = attach_site(b, s->progs.gc_minor_body, false, SITE_SCAVENGE, why, whylen)) ||
	    (rc = attach_site(b, s->progs.gc_minor_body, false, SITE_MINOR_MC, why, whylen)) ||
	    (rc = attach_site(b, s->progs.gc_minor_body, false, SITE_MINOR_MS, why, whylen)) ||
	    (rc = attach_site(b, s->progs.gc_major_body, false, SITE_MARK_COMPACT, why, whylen)) ||
	    (rc = attach_site(b, s->progs.gc_size_exit, true, SITE_SIZE, why, whylen)) ||
	    (rc = attach_site(b, s->progs.gc_collect_exit, true, SITE_COLLECT, why, whylen)) ||
	    (rc = attach_site(b, s->progs.gc_collect_entry, false, SITE_COLLECT, why, whylen))) {
		for (int i = 0; i < b->nlinks; i++)
			bpf_link__destroy(b->links[i]);
		b->nlinks = 0;
	}
	return rc;
}

static int add_watch(struct gc_tracker *tr, pid_t pid, int slot, const char *via, char *why, size_t whylen)
{
	struct gc_watch *grown;
	__u32 tgid = (__u32)pid;
	__u8 one = 1;
	int rc;

	if (tr->nwatches >= GC_MAX_PROCS) {
		snprintf(why, whylen, "too many watched processes (%d)", GC_MAX_PROCS);
		return -ENOSPC;
	}
	grown = realloc(tr->watches, (tr->nwatches + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	tr->watches = grown;
	/* A recycled pid must not inherit the counters of its predecessor. */
	bpf_map__delete_elem(tr->skel->maps.proc_stats, &tgid, sizeof(tgid), 0);
	rc = bpf_map__update_elem(tr->skel->maps.watched_tgids, &tgid, sizeof(tgid), &one, sizeof(one), BPF_ANY);
	if (rc < 0) {
		snprintf(why, whylen, "watched_tgids map: %s", strerror(-rc));
		return rc;
	}
	tr->watches[tr->nwatches] = (struct gc_watch){ .pid = pid, .bin = slot };
	snprintf(tr->watches[tr->nwatches].via, sizeof(tr->watches[0].via), "%s", via);
	tr->nwatches++;
	tr->bins[slot].refs++;
	return 0;
}

/* Probes on the binary in slot (if not there yet), and pid watched through it. */
static int attach_and_watch(struct gc_tracker *tr, pid_t pid, int slot, const char *via, char *why, size_t whylen)
{
	int rc = attach_binary(tr, &tr->bins[slot], why, whylen);

	if (rc < 0)
		return rc;
	rc = add_watch(tr, pid, slot, via, why, whylen);
	if (rc < 0 && tr->bins[slot].refs == 0)
		detach_links(&tr->bins[slot]);
	return rc;
}

/* The lookup through /proc/PID/maps: the libnode.so pid maps when its executable has
 * no V8, and whether V8's text is still mapped from the file. */
static int watch_from_maps(struct gc_tracker *tr, pid_t pid, int exe_slot, const char *exe, char *why,
			   size_t whylen)
{
	struct exec_maps *maps = malloc(sizeof(*maps));
	char via[64];
	int rc, slot;

	if (!maps) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	rc = read_exec_mappings(pid, maps);
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(why, whylen, "process gone");
		else
			snprintf(why, whylen, "/proc/%d/maps: %s", pid, strerror(-rc));
		goto cleanup;
	}
	snprintf(via, sizeof(via), "%s", exe);
	rc = slot = tr->bins[exe_slot].has_v8 ? exe_slot
					       : locate_libnode(tr, pid, exe_slot, maps, via, sizeof(via), why, whylen);
	if (slot < 0)
		goto cleanup;
	if (!collect_mapped_from_file(&tr->bins[slot], maps)) {
		snprintf(why, whylen, "--use-largepages: text remapped to anonymous memory, uprobes would not fire");
		rc = -ENOEXEC;
		goto cleanup;
	}
	rc = attach_and_watch(tr, pid, slot, via, why, whylen);
cleanup:
	free(maps);
	return rc;
}

int gc_tracker_watch(struct gc_tracker *tr, pid_t pid, const struct gc_watch_opts *opts, char *why,
		     size_t whylen)
{
	char exe[64];
	int slot;

	if (find_watch(tr, pid))
		return 0;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	slot = binary_for(tr, exe, opts ? opts->exe_stat : NULL, why, whylen);
	if (slot < 0)
		return slot;
	if (tr->bins[slot].has_v8 && opts && opts->text_stays_file_mapped)
		return attach_and_watch(tr, pid, slot, exe, why, whylen);
	return watch_from_maps(tr, pid, slot, exe, why, whylen);
}

void gc_tracker_unwatch(struct gc_tracker *tr, pid_t pid)
{
	struct gc_watch *w = find_watch(tr, pid);
	__u32 tgid = (__u32)pid;
	struct gc_binary *b;

	if (!w)
		return;
	bpf_map__delete_elem(tr->skel->maps.watched_tgids, &tgid, sizeof(tgid), 0);
	bpf_map__delete_elem(tr->skel->maps.proc_stats, &tgid, sizeof(tgid), 0);
	b = &tr->bins[w->bin];
	/* Its probes stay GC_LINGER_MS (gc_tracker_tick), its symbols for good: under exec
	 * churn (short-lived processes one after another) an ELF scan, an attach and a
	 * detach per process would cost ms of CPU each and stall the loop on the kernel's
	 * uprobe unregistering. */
	if (--b->refs == 0)
		b->unused_since_ms = mono_ms();
	*w = tr->watches[--tr->nwatches];
}

void gc_tracker_tick(struct gc_tracker *tr)
{
	int64_t now = mono_ms();

	for (int i = 0; tr && i < GC_MAX_BINARIES; i++) {
		struct gc_binary *b = &tr->bins[i];
		if (b->used && !b->refs && b->nlinks && now - b->unused_since_ms >= GC_LINGER_MS)
			detach_links(b);
	}
}

int gc_tracker_consume(struct gc_tracker *tr,
		       void (*on_major)(void *ctx, const struct gc_major_event *ev), void *ctx)
{
	int n;

	tr->on_major = on_major;
	tr->on_major_ctx = ctx;
	n = ring_buffer__consume(tr->rb);
	tr->on_major = NULL;
	tr->on_major_ctx = NULL;
	return n;
}

int gc_tracker_stats(struct gc_tracker *tr, pid_t pid, struct gc_stats *out)
{
	struct gc_proc_stats st = { 0 };
	__u32 tgid = (__u32)pid;

	memset(out, 0, sizeof(*out));
	if (!find_watch(tr, pid))
		return -ENOENT;
	if (bpf_map__lookup_elem(tr->skel->maps.proc_stats, &tgid, sizeof(tgid), &st, sizeof(st), 0))
		return 0;
	out->gc_minor = st.gc_minor;
	out->gc_major = st.gc_major;
	out->gc_unclassified = st.gc_unclassified;
	out->pause_total_ns = st.pause_total_ns;
	out->pause_max_ns = st.pause_max_ns;
	out->heap_used_bytes = st.heap_used_after_major;
	out->heap_used_before_bytes = st.heap_used_before_major;
	out->last_major_ns = st.last_major_ns;
	out->last_gc_ns = st.last_gc_ns;
	out->heap_used_last_bytes = st.heap_used_last;
	out->last_main_gc_ns = st.last_main_gc_ns;
	return 0;
}

int gc_tracker_stats_fd(const struct gc_tracker *tr)
{
	return tr ? bpf_map__fd(tr->skel->maps.proc_stats) : -1;
}

uint64_t gc_heap_last_of(int stats_fd, pid_t pid)
{
	struct gc_proc_stats st = { 0 };
	__u32 tgid = (__u32)pid;

	if (stats_fd < 0 || bpf_map_lookup_elem(stats_fd, &tgid, &st))
		return 0;
	return st.heap_used_last;
}

int gc_tracker_binary(struct gc_tracker *tr, pid_t pid, char *path, size_t pathlen, int *nprobes)
{
	struct gc_watch *w = find_watch(tr, pid);

	if (!w)
		return -ENOENT;
	snprintf(path, pathlen, "%s", w->via);
	if (nprobes)
		*nprobes = tr->bins[w->bin].nlinks;
	return 0;
}

void gc_tracker_free(struct gc_tracker *tr)
{
	if (!tr)
		return;
	for (int i = 0; i < GC_MAX_BINARIES; i++)
		if (tr->bins[i].used)
			detach_binary(&tr->bins[i]);
	ring_buffer__free(tr->rb);
	gc_bpf__destroy(tr->skel);
	free(tr->watches);
	free(tr);
}
