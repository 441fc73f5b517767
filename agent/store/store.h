// SPDX-License-Identifier: Apache-2.0
/* The snapshot store: one directory (0700), per snapshot ID.heapsnapshot.gz (0600,
 * gzip) and ID.json (0600, metadata). A snapshot becomes visible only when its
 * ID.json exists, and ID.json is written (atomically: *.tmp, fsync, rename, fsync
 * dir) only after the gzip file was renamed into place and the decompressed stream
 * verified complete. Leftover *.tmp files are removed by store_open. Used by the
 * agent (writes) and by the CLI (reads). */
#ifndef HS_STORE_H
#define HS_STORE_H

/* Errors (err.h): negative errno; where a sentence travels, err/errlen, or for a
 * writer store_writer_error. */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/identity.h"

/* A snapshot id ("20261127T081502Z-12345-a1b2", see store_begin) with its NUL: every
 * buffer that holds one. */
#define SNAPSHOT_ID_LEN 64

struct snapshot_meta {
	char id[SNAPSHOT_ID_LEN];
	char host[256];
	int pid;
	char exe[PATH_MAX];
	char node_version[32];
	char cmdline[4096];
	char cgroup[512];
	char reason[64];               /* "rss", "growth", "leak", "predictive", "manual", "baseline" */
	uint64_t rss_bytes;            /* RSS when the trigger fired */
	uint64_t heap_used_bytes;      /* V8 heap after the last major GC at the trigger (0 = unknown) */
	uint64_t heap_at_trigger_bytes; /* V8 heap after its newest GC (any kind) then, 0 = unknown */
	uint64_t rss_at_start_bytes;   /* RSS as the capture started */
	uint64_t heap_at_start_bytes;  /* V8 heap after its last GC (any kind) then, 0 = unknown */
	int64_t wait_ms;               /* trigger -> capture start */
	int64_t memory_wait_ms;        /* of it, waiting for the memory of running captures */
	uint64_t threshold_bytes;      /* the level it crossed */
	char method[16];               /* "signal" | "inspector" */
	int64_t triggered_at_ms;       /* epoch ms */
	int64_t started_at_ms;         /* capture start, epoch ms */
	int64_t ended_at_ms;           /* stored, epoch ms */
	uint64_t capture_ms;           /* trigger -> stored */
	uint64_t raw_bytes;            /* decompressed size */
	uint64_t size_bytes;           /* gzip size on disk */
	uint64_t compress_blocks;      /* compression blocks (pgz.h) ... */
	uint64_t compress_fast_blocks; /* ... of them at level 1: compression was behind */
	uint64_t node_count;           /* from the verifier */
	uint64_t edge_count;
	bool inspector_opened;         /* the inspector route opened the inspector (SIGUSR1) ... */
	int64_t inspector_window_ms;   /* ... and it was open this long (signal -> port gone) */
	/* labels (see labels.h): "" when not known */
	char app[IDENTITY_LEN];        /* identity_app */
	char machine_id[64];           /* /etc/machine-id */
	char container_id[IDENTITY_LEN]; /* identity_container_id */
	char pod_uid[40];              /* Kubernetes, from the cgroup path */
	char pod_name[128];            /* Kubernetes, from the environment */
	char pod_namespace[128];
	char container_name[128];
	char *extra_json;              /* NULL, or a JSON object whose members are merged into
	                                  ID.json (e.g. "top_growth"); owned, free with store_meta_free */
};

struct store;
struct store_writer;

/* Open (create=true: create 0700 if missing) and clean leftover *.tmp files.
 * Refuses a directory with group/other permissions or not owned by us.
 * create=true is the writer (the agent): it must own the directory, and it removes
 * *.tmp and any ID.heapsnapshot.gz without its ID.json (a crash between the two
 * renames); it holds an exclusive lock on the directory until store_close, and a
 * second writer gets -EBUSY naming the holder's pid. create=false is a reader (the CLI): it changes nothing, and root may read
 * a store owned by another user. Errors: -errno with a message in err. */
int store_open(const char *dir, bool create, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);
const char *store_dir(const struct store *st);

/* Quotas enforced after each commit (0 = no limit): oldest snapshots are evicted. */
void store_set_quota(struct store *st, uint64_t max_total_bytes, unsigned max_count,
		     unsigned max_age_days, uint64_t min_free_bytes);

/* Start a snapshot: picks meta->id, opens ID.heapsnapshot.gz.tmp. The writer
 * compresses (level) and verifies everything written, and checks min_free_bytes
 * as it goes (before starting and every 4 MB of input). Returns NULL with err set.
 * ID = UTC start time, meta->pid, 16 random bits: "20261127T081502Z-12345-a1b2"
 * (sorts by time). meta->started_at_ms is set to now if 0. The one pointer-returning
 * call: NULL on failure, the reason in err. */
struct store_writer *store_writer_begin(struct store *st, struct snapshot_meta *meta, int level,
					 char *err, size_t errlen);
/* Append raw snapshot bytes. 0, or a negative errno (-ENOSPC disk full, -EINVAL not a
 * heap snapshot, -EIO) whose sentence is store_writer_error; later calls return the
 * same first failure. */
int store_writer_write(struct store_writer *w, const void *buf, size_t len);
/* The writer's error, "" while there is none. */
const char *store_writer_error(const struct store_writer *w);
uint64_t store_writer_raw_bytes(const struct store_writer *w);
/* Finish: verify complete, fsync, rename, write ID.json. Fills raw/size/counts in
 * meta (and ended_at_ms = now, capture_ms = ended - triggered, or - started, when
 * they are 0). Then applies the quotas (evictions are logged at info level).
 * Frees w. 0, or a negative errno with err set (nothing is left behind). Call it even after a
 * failed write: it then frees w and reports the write's error. */
int store_writer_commit(struct store_writer *w, struct snapshot_meta *meta, char *err, size_t errlen);
/* Drop everything written. Frees w. Accepts NULL. */
void store_writer_abort(struct store_writer *w);

/* Snapshots, oldest first. Free with store_list_free. */
int store_list(struct store *st, struct snapshot_meta **out, size_t *count);
void store_list_free(struct snapshot_meta *list, size_t count);
/* One snapshot's metadata by id (a unique prefix also matches). 0, -ENOENT, -EINVAL (ambiguous). */
int store_get(struct store *st, const char *id, struct snapshot_meta *out);
void store_meta_free(struct snapshot_meta *m);
/* Path of ID.heapsnapshot.gz into out. */
void store_blob_path(const struct store *st, const char *id, char *out, size_t outlen);
/* Replace the extra members of ID.json (atomic). */
int store_set_extra(struct store *st, const char *id, const char *extra_json);
int store_remove(struct store *st, const char *id);

/* Files beside a snapshot that belong to a later stage (the uploader's ID.upload, an
 * incident's sampling heap profile ID.heapprofile): NAME is ID + suffix (".upload" or
 * ".heapprofile", at most 16 MiB). Written atomically like ID.json, removed
 * with the snapshot, removed at store_open when their snapshot is gone. read: a
 * malloc'ed NUL-terminated text, or -ENOENT. */
int store_side_write(struct store *st, const char *id, const char *suffix, const char *text);
int store_side_read(struct store *st, const char *id, const char *suffix, char **text);
/* ID.heapsnapshot.gz opened read-only (O_CLOEXEC|O_NOFOLLOW), or -errno. */
int store_open_blob(struct store *st, const char *id);
/* The bytes of ID.json (malloc'ed, NUL-terminated), or -errno. */
int store_read_meta_text(struct store *st, const char *id, char **text, size_t *len);
/* Called (from whichever thread commits) for every snapshot the quotas evict, before
 * it is removed; a later stage counts what it never got to. */
void store_set_evict_hook(struct store *st, void (*fn)(const char *id, void *ctx), void *ctx);

/* The metadata as a JSON object text (malloc'ed), as list/show --json print it:
 * every field of struct snapshot_meta under its own name, "started_at" (ISO-8601
 * UTC), then the members of extra_json (which never replace those names). */
char *store_meta_to_json(const struct snapshot_meta *m);
/* ms since the epoch as UTC text: "2026-11-27T08:15:02Z" (iso) or "2026-11-27 08:15:02". */
void store_time_utc(int64_t ms, bool iso, char *out, size_t outlen);
/* The reverse (an ID.json's text, e.g. downloaded from a bucket). 0 or -EINVAL. */
int store_meta_parse(const char *text, size_t len, struct snapshot_meta *m);

#endif
