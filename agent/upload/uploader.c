// SPDX-License-Identifier: Apache-2.0
/* The uploader thread (see uploader.h). */
#include "upload/uploader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "upload/creds.h"
#include "upload/queue.h"
#include "upload/s3.h"
#include "upload/s3index.h"

#define RESCAN_MS 30000      /* look for snapshots no notify announced (e.g. late ones) */
#define SETTLE_MS 20000      /* ... once they are this old (their report is attached) */
#define MAX_PARTS 10000
#define META_MAX (16u << 20)

struct uploader {
	const struct config *cfg;
	struct store *st;
	struct s3_creds creds;
	struct s3 *s3;
	struct s3 *s3_second;         /* a second connection for parts (NULL: one at a time) */
	char prefix[256];
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct upload_queue q;
	struct upload_stats stats;
	bool stopping;
	struct cancel_token cancel;    /* fired by uploader_stop: a transfer gives up */
	bool indexed;                 /* the bucket index covers every snapshot under prefix */
	char current[SNAPSHOT_ID_LEN]; /* being uploaded */
	char last_error[2048];        /* logged once at warn level, repeats at debug */
};

static uint32_t rnd32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)mono_ms() * 2654435761u;
	return r;
}

static void log_stats(struct uploader *u)
{
	struct upload_stats s;

	uploader_stats(u, &s);
	log_info("upload: queued=%llu pending=%llu uploaded=%llu failed=%llu retried=%llu bytes=%llu "
		 "evicted_before_upload=%llu oldest_waiting_s=%.1f",
		 (unsigned long long)s.queued, (unsigned long long)s.pending, (unsigned long long)s.uploaded,
		 (unsigned long long)s.failed, (unsigned long long)s.retried, (unsigned long long)s.bytes,
		 (unsigned long long)s.evicted, (double)s.oldest_wait_ms / 1000.0);
}

/* ---- one snapshot ---------------------------------------------------------------- */

struct leftover_ctx {
	struct uploader *u;
	const char *key;
};

static void abort_leftover(const char *key, const char *id, void *ctx)
{
	struct leftover_ctx *c = ctx;

	if (strcmp(key, c->key) != 0)
		return;
	if (s3_mpu_abort(c->u->s3, key, id) == 0)
		log_info("upload: aborted multipart upload %s of %s left by an earlier attempt", id, key);
	else
		log_warn("upload: %s", s3_error(c->u->s3));
}

/* The parts of one multipart upload, sent by up to two connections at once: one
 * stream leaves the server idle while it finishes each part and while we hash the next
 * bytes; two keep it busy. Parts are claimed in order; the first failure stops both. */
struct parts {
	struct uploader *u;
	const char *key, *upload_id;
	int fd;
	uint64_t size, part;
	unsigned nparts;
	unsigned char (*raw)[16];
	char (*hex)[33];
	atomic_uint next;
	pthread_mutex_t lock;
	int rc;                        /* the first failure, its cause in why */
	char why[2048];
};

static void parts_fail(struct parts *p, int rc, const char *why)
{
	pthread_mutex_lock(&p->lock);
	if (p->rc == 0) {
		p->rc = rc;
		snprintf(p->why, sizeof(p->why), "%s", why);
	}
	pthread_mutex_unlock(&p->lock);
}

static bool parts_failed(struct parts *p)
{
	pthread_mutex_lock(&p->lock);
	bool failed = p->rc != 0;
	pthread_mutex_unlock(&p->lock);
	return failed;
}

static void send_parts(struct parts *p, struct s3 *s3)
{
	unsigned i;

	while (!parts_failed(p) && (i = atomic_fetch_add(&p->next, 1)) < p->nparts) {
		uint64_t off = (uint64_t)i * p->part, len = p->size - off < p->part ? p->size - off : p->part;
		char got[80] = "", why[2048];
		int rc = s3_mpu_part(s3, p->key, p->upload_id, i + 1, p->fd, off, len, p->raw[i], got, sizeof(got));

		if (rc < 0) {
			parts_fail(p, rc, s3_error(s3));
			break;
		}
		s3_md5_hex(p->raw[i], p->hex[i]);
		log_debug("upload: %s part %u/%u sent (%llu bytes)", p->key, i + 1, p->nparts, (unsigned long long)len);
		if (got[0] && strcmp(got, p->hex[i]) != 0) {
			snprintf(why, sizeof(why), "%s part %u: the server's ETag %s is not our MD5 %s", p->key, i + 1, got,
				 p->hex[i]);
			parts_fail(p, -EIO, why);
		}
	}
}

static void *parts_thread(void *arg)
{
	struct parts *p = arg;

	send_parts(p, p->u->s3_second);
	return NULL;
}

/* Multipart: parts of part_bytes (more if 10000 would not do), each read once and hashed
 * as it is sent; a part whose ETag is not the MD5 of what we sent fails the upload. *etag
 * = the ETag S3 gives the whole: hex MD5 of the parts' binary MD5s, "-N" (the HEAD
 * checks it, also where a server returns no part ETags). An upload that fails is
 * aborted (the cause stays in why). */
static int put_multipart(struct uploader *u, const char *key, int fd, uint64_t size, char *etag,
			 size_t etaglen, char *why, size_t whylen)
{
	struct parts p = { .u = u, .key = key, .fd = fd, .size = size, .part = u->cfg->upload_part_bytes };
	char upload_id[S3XML_MAX_TEXT + 1], h[33];
	unsigned char all[16];
	pthread_t helper;
	bool helped = false;
	int rc;

	if ((size + p.part - 1) / p.part > MAX_PARTS)
		p.part = ((size + MAX_PARTS - 1) / MAX_PARTS + (1 << 20) - 1) & ~(uint64_t)((1 << 20) - 1);
	p.nparts = (unsigned)((size + p.part - 1) / p.part);
	p.hex = calloc(p.nparts, sizeof(*p.hex));
	p.raw = calloc(p.nparts, sizeof(*p.raw));
	pthread_mutex_init(&p.lock, NULL);
	if (!p.hex || !p.raw) {
		snprintf(why, whylen, "out of memory");
		rc = -ENOMEM;
		goto cleanup;
	}
	rc = s3_mpu_begin(u->s3, key, upload_id, sizeof(upload_id));
	if (rc < 0) {
		snprintf(why, whylen, "%s", s3_error(u->s3));
		goto cleanup;
	}
	p.upload_id = upload_id;
	if (u->s3_second && p.nparts > 1)
		helped = pthread_create(&helper, NULL, parts_thread, &p) == 0;
	send_parts(&p, u->s3);
	if (helped)
		pthread_join(helper, NULL);
	rc = p.rc;
	if (rc < 0)
		snprintf(why, whylen, "%s", p.why);
	if (rc == 0 && (rc = s3_mpu_complete(u->s3, key, upload_id, (const char(*)[33])p.hex, p.nparts)) < 0)
		snprintf(why, whylen, "%s", s3_error(u->s3));
	if (rc < 0) {
		if (s3_mpu_abort(u->s3, key, upload_id) == 0)
			log_debug("upload: aborted multipart upload %s of %s", upload_id, key);
		goto cleanup;
	}
	rc = s3_md5_mem(p.raw, (size_t)p.nparts * 16, all);
	s3_md5_hex(all, h);
	snprintf(etag, etaglen, "%s-%u", h, p.nparts);
cleanup:
	pthread_mutex_destroy(&p.lock);
	free(p.hex);
	free(p.raw);
	return rc;
}

/* The .gz: one PUT or multipart, then HEAD: the size and ETag must be ours. */
static int put_blob(struct uploader *u, const char *key, int fd, uint64_t size, char *etag, size_t etaglen,
		    char *why, size_t whylen)
{
	struct leftover_ctx lc = { u, key };
	char want[80], got[80];
	uint64_t remote_size = 0;
	int rc;

	/* A multipart upload of this key a killed agent left behind: abort it. */
	if ((rc = s3_mpu_list(u->s3, key, abort_leftover, &lc)) < 0) {
		snprintf(why, whylen, "%s", s3_error(u->s3));
		return rc;
	}
	int64_t t0 = mono_ms();
	if (size > u->cfg->upload_part_bytes) {
		rc = put_multipart(u, key, fd, size, want, sizeof(want), why, whylen);
	} else {
		unsigned char md5[16];

		if ((rc = s3_put_range(u->s3, key, fd, 0, size, md5, NULL, 0)) < 0)
			snprintf(why, whylen, "%s", s3_error(u->s3));
		s3_md5_hex(md5, want);
	}
	if (rc < 0)
		return rc;
	log_debug("upload: %s sent in %lld ms (%s)", key, (long long)(mono_ms() - t0),
		  size > u->cfg->upload_part_bytes ? "multipart" : "one PUT");
	/* Verify what is there now (RGW's CompleteMultipartUpload reply has an empty ETag). */
	if ((rc = s3_head(u->s3, key, &remote_size, got, sizeof(got))) < 0) {
		snprintf(why, whylen, "%s", s3_error(u->s3));
		return rc;
	}
	if (remote_size != size || strcmp(got, want) != 0) {
		snprintf(why, whylen, "s3 %s bucket %s: %s: remote copy is %llu bytes, ETag %s; expected %llu "
			 "bytes, ETag %s", u->cfg->upload_endpoint, u->cfg->upload_bucket, key,
			 (unsigned long long)remote_size, got, (unsigned long long)size, want);
		return -EIO;
	}
	snprintf(etag, etaglen, "%s", want);
	return 0;
}

/* The snapshot's entries in the bucket index (s3index.h), from its metadata text. */
static int put_index(struct uploader *u, const char *id, const char *meta, size_t meta_len, char *why, size_t whylen)
{
	struct snapshot_meta *m = calloc(1, sizeof(*m));
	int rc;

	if (!m) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (store_meta_parse(meta, meta_len, m) < 0)
		log_debug("upload: %s: unreadable metadata, indexed without host and app", id);
	rc = s3index_put(u->s3, u->prefix, id, m->host, m->app);
	if (rc < 0)
		snprintf(why, whylen, "%s", s3_error(u->s3));
	store_meta_free(m);
	free(m);
	return rc;
}

static void mark_done(struct uploader *u, const char *id, const char *key, const char *etag)
{
	struct upload_rec r = { .state = UPLOAD_DONE, .done_at_ms = wall_ms() };
	char *text;

	snprintf(r.key, sizeof(r.key), "%s", key);
	snprintf(r.etag, sizeof(r.etag), "%s", etag);
	text = upload_rec_format(&r);
	if (!text || store_side_write(u->st, id, ".upload", text) < 0)
		log_warn("upload: %s: cannot record the upload as done (it will be repeated, same objects)", id);
	free(text);
}

/* The incident's sampling heap profile (ID.heapprofile, small), when it has one. */
static int put_profile(struct uploader *u, const char *id, char *why, size_t whylen)
{
	char key[1100], etag[80], *text = NULL;
	if (store_side_read(u->st, id, ".heapprofile", &text) < 0)
		return 0;
	int rc = upload_key(u->prefix, id, ".heapprofile", key, sizeof(key));
	if (rc >= 0 && (rc = s3_put_mem(u->s3, key, text, strlen(text), "application/json", etag, sizeof(etag))) < 0)
		snprintf(why, whylen, "%s", s3_error(u->s3));
	free(text);
	return rc < 0 ? rc : 0;
}

/* 0 uploaded and verified; GONE the snapshot is no longer in the store; else -errno,
 * failed (why set). A 404 from the server (-ENOENT: no such bucket) is a failure like
 * any other, never "gone". */
#define GONE 1
static int upload_one(struct uploader *u, const char *id, uint64_t *bytes, char *why, size_t whylen)
{
	char gz_key[1100], json_key[1100], etag[80], jetag[80], jmd5hex[33];
	unsigned char jmd5[16];
	char *meta = NULL;
	size_t meta_len = 0;
	struct stat sb;
	int fd, rc;

	if (upload_key(u->prefix, id, ".heapsnapshot.gz", gz_key, sizeof(gz_key)) < 0 ||
	    upload_key(u->prefix, id, ".json", json_key, sizeof(json_key)) < 0) {
		snprintf(why, whylen, "object key too long");
		return -ENAMETOOLONG;
	}
	int64_t t0 = mono_ms();
	fd = store_open_blob(u->st, id);
	if (fd < 0)
		return GONE;
	rc = store_read_meta_text(u->st, id, &meta, &meta_len);
	if (rc < 0 || fstat(fd, &sb) < 0) {
		rc = GONE;
		goto cleanup;
	}
	rc = put_blob(u, gz_key, fd, (uint64_t)sb.st_size, etag, sizeof(etag), why, whylen);
	if (rc < 0)
		goto cleanup;
	if ((rc = put_profile(u, id, why, whylen)) < 0)
		goto cleanup;
	/* The index before the metadata: an entry whose ID.json is not there is skipped. */
	if ((rc = put_index(u, id, meta, meta_len, why, whylen)) < 0)
		goto cleanup;
	/* The metadata last: a listed ID.json always has its whole snapshot. */
	if ((rc = s3_put_mem(u->s3, json_key, meta, meta_len, "application/json", jetag, sizeof(jetag))) < 0) {
		snprintf(why, whylen, "%s", s3_error(u->s3));
		goto cleanup;
	}
	s3_md5_mem(meta, meta_len, jmd5);
	s3_md5_hex(jmd5, jmd5hex);
	if (jetag[0] && strcmp(jetag, jmd5hex) != 0) {
		snprintf(why, whylen, "%s: the server's ETag %s is not our MD5 %s", json_key, jetag, jmd5hex);
		rc = -EIO;
		goto cleanup;
	}
	*bytes = (uint64_t)sb.st_size + meta_len;
	int still = store_open_blob(u->st, id);  /* evicted meanwhile: no state file for it */
	if (still >= 0) {
		close(still);
		mark_done(u, id, gz_key, etag);
	}
	double secs = (double)(mono_ms() - t0) / 1000.0;
	log_info("upload: %s uploaded to %s/%s/%s (%llu bytes in %.2f s, %.1f MiB/s, ETag %s, verified)", id,
		 u->cfg->upload_endpoint, u->cfg->upload_bucket, gz_key, (unsigned long long)sb.st_size, secs,
		 secs > 0 ? (double)sb.st_size / 1048576.0 / secs : 0.0, etag);
	if (!u->cfg->upload_keep_local) {
		if (store_remove(u->st, id) == 0)
			log_info("upload: %s removed from the local store (keep_local = off)", id);
	}
cleanup:
	free(meta);
	close(fd);
	return rc;
}

/* ---- the index of what older versions uploaded ------------------------------------- */

struct own_ids {
	const char *prefix;
	char (*ids)[SNAPSHOT_ID_LEN];
	size_t n, cap;
};

/* PREFIX/ID.json exactly (not deeper: another agent's prefix may extend ours). */
static void on_own_object(const struct s3_object *o, void *ctx)
{
	struct own_ids *c = ctx;
	size_t plen = strlen(c->prefix), klen = strlen(o->key);
	const char *rest = o->key + plen + 1;

	if (o->common_prefix || klen <= plen + 1 + 5 || strncmp(o->key, c->prefix, plen) != 0 || o->key[plen] != '/' ||
	    strchr(rest, '/') || strcmp(o->key + klen - 5, ".json") != 0 || (size_t)(klen - plen - 1 - 5) >= 64)
		return;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		char (*g)[64] = realloc(c->ids, ncap * sizeof(*g));

		if (!g)
			return;
		c->ids = g;
		c->cap = ncap;
	}
	snprintf(c->ids[c->n++], 64, "%.*s", (int)(klen - plen - 1 - 5), rest);
}

static int index_one_old(struct uploader *u, const char *id)
{
	char key[1100], *text = NULL;
	size_t len = 0;
	int rc;

	snprintf(key, sizeof(key), "%s/%s.json", u->prefix, id);
	rc = s3_get_mem(u->s3, key, META_MAX, &text, &len);
	if (rc == -ENOENT)
		return 0;  /* deleted since the listing */
	if (rc == 0)
		rc = put_index(u, id, text, len, key, sizeof(key));
	free(text);
	return rc;
}

/* Once per prefix: give every PREFIX/ID.json an older version uploaded its index
 * entries, then write the prefix's completeness marker. Until then listings read this
 * prefix the old way. Retried at every rescan until it is done. */
static void index_backfill(struct uploader *u)
{
	struct own_ids own = { .prefix = u->prefix };
	char marker[1200], dir[300];
	uint64_t size;
	int rc;

	if (u->indexed || s3index_complete_key(u->prefix, marker, sizeof(marker)) < 0)
		return;
	rc = s3_head(u->s3, marker, &size, NULL, 0);
	if (rc == 0) {
		u->indexed = true;
		return;
	}
	snprintf(dir, sizeof(dir), "%s/", u->prefix);
	if (rc == -ENOENT)
		rc = s3_list(u->s3, dir, on_own_object, &own);
	for (size_t i = 0; rc == 0 && i < own.n; i++)
		rc = index_one_old(u, own.ids[i]);
	if (rc == 0)
		rc = s3_put_mem(u->s3, marker, "", 0, "application/octet-stream", NULL, 0);
	if (rc == 0) {
		u->indexed = true;
		log_info("upload: bucket index complete for prefix %s (%zu snapshots already there)", u->prefix, own.n);
	} else {
		log_debug("upload: indexing what is already under %s/: %s; retried later", u->prefix, s3_error(u->s3));
	}
	free(own.ids);
}

/* ---- the queue -------------------------------------------------------------------- */

/* Queue every stored snapshot whose upload is not done (at start, and as a safety
 * net every RESCAN_MS for snapshots no notify announced, once they have settled). */
static void scan_store(struct uploader *u, bool at_start)
{
	struct snapshot_meta *list;
	size_t count;
	int64_t now = wall_ms();

	if (store_list(u->st, &list, &count) < 0)
		return;
	for (size_t i = 0; i < count; i++) {
		struct upload_rec r = { 0 };
		char *text = NULL;

		if (store_side_read(u->st, list[i].id, ".upload", &text) == 0) {
			upload_rec_parse(text, &r);
			free(text);
			if (r.state == UPLOAD_DONE)
				continue;
		} else if (!at_start && now - list[i].ended_at_ms < SETTLE_MS) {
			continue;  /* just stored: its notify is on the way */
		}
		pthread_mutex_lock(&u->lock);
		if (uq_add(&u->q, list[i].id, list[i].started_at_ms, r.attempts, mono_ms()) == 1) {
			u->stats.queued++;
			log_info("upload: %s queued (%s)", list[i].id, at_start ? "found in the store at start" :
				 "found in the store");
		}
		pthread_mutex_unlock(&u->lock);
	}
	store_list_free(list, count);
}

/* Under u->lock: count the failure, schedule the retry; the new ID.upload text is
 * returned (malloc'ed, NULL if none) for the caller to write once the lock is released
 * (an fsync under the lock would stall uploader_notify, called from the report thread
 * or a capture worker with the alerter's lock held). */
static char *record_failure(struct uploader *u, const char *id, const char *why)
{
	struct upload_rec r = { .state = UPLOAD_QUEUED };
	int i = uq_find(&u->q, id);

	if (i < 0)
		return NULL;
	uint64_t delay = uq_failed(&u->q, i, mono_ms(), (uint64_t)u->cfg->upload_retry_max_s * 1000, rnd32());
	r.attempts = u->q.items[i].attempts;
	u->stats.failed++;
	if (strcmp(why, u->last_error) != 0) {
		log_warn("upload: %s failed: %s; snapshot kept, retry %u in %.1f s", id, why, r.attempts,
			 (double)delay / 1000.0);
		snprintf(u->last_error, sizeof(u->last_error), "%s", why);
	} else {
		log_debug("upload: %s failed again: %s; retry %u in %.1f s", id, why, r.attempts,
			  (double)delay / 1000.0);
	}
	snprintf(r.last_error, sizeof(r.last_error), "%s", why);
	return upload_rec_format(&r);
}

/* Wait for work: the oldest due item's id into id, false when stopping. */
static bool next_job(struct uploader *u, char *id, size_t idlen, unsigned *attempts, int64_t *next_scan)
{
	pthread_mutex_lock(&u->lock);
	for (;;) {
		int64_t wait, now = mono_ms();
		int i;

		if (u->stopping) {
			pthread_mutex_unlock(&u->lock);
			return false;
		}
		if (now >= *next_scan) {
			pthread_mutex_unlock(&u->lock);
			index_backfill(u);
			scan_store(u, false);
			*next_scan = mono_ms() + RESCAN_MS;
			pthread_mutex_lock(&u->lock);
			continue;
		}
		i = uq_next(&u->q, now, &wait);
		if (i >= 0) {
			snprintf(id, idlen, "%s", u->q.items[i].id);
			*attempts = u->q.items[i].attempts;
			snprintf(u->current, sizeof(u->current), "%s", id);
			pthread_mutex_unlock(&u->lock);
			return true;
		}
		if (wait < 0 || wait > *next_scan - now)
			wait = *next_scan - now;
		struct timespec ts = mono_after_ms(wait);
		pthread_cond_timedwait(&u->wake, &u->lock, &ts);
	}
}

/* This thread talks to the network and parses what comes back: it needs no
 * capability (the store is ours as its owner), so it holds none (capabilities are per
 * thread; the agent's other threads keep theirs). */
static void drop_all_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capset, &hdr, data) != 0)
		log_warn("upload: cannot drop the uploader thread's capabilities: %s, continuing", strerror(errno));
}

static void *uploader_main(void *arg)
{
	struct uploader *u = arg;
	int64_t next_scan = mono_ms() + RESCAN_MS;
	char id[SNAPSHOT_ID_LEN], why[2048];
	unsigned attempts;

	drop_all_capabilities();
	index_backfill(u);
	scan_store(u, true);
	log_stats(u);
	while (next_job(u, id, sizeof(id), &attempts, &next_scan)) {
		uint64_t bytes = 0;
		char *state = NULL;

		why[0] = '\0';
		int rc = upload_one(u, id, &bytes, why, sizeof(why));

		pthread_mutex_lock(&u->lock);
		u->current[0] = '\0';
		if (attempts > 0)
			u->stats.retried++;
		if (rc == 0) {
			uq_remove(&u->q, id);
			u->stats.uploaded++;
			u->stats.bytes += bytes;
			u->last_error[0] = '\0';
		} else if (rc == GONE) {
			uq_remove(&u->q, id);
			log_info("upload: %s is no longer in the store, dropped from the queue", id);
		} else if (rc != -ECANCELED || !u->stopping) {
			state = record_failure(u, id, why[0] ? why : strerror(-rc));
		}
		pthread_mutex_unlock(&u->lock);
		if (state)
			store_side_write(u->st, id, ".upload", state);
		free(state);
		log_stats(u);
	}
	return NULL;
}

/* ---- public --------------------------------------------------------------------------- */

static void on_evict(const char *id, void *ctx)
{
	struct uploader *u = ctx;

	pthread_mutex_lock(&u->lock);
	if (strcmp(id, u->current) == 0) {
		log_info("upload: %s evicted by the store quota while it is being uploaded: the upload goes on "
			 "from the open file", id);
	} else if (uq_find(&u->q, id) >= 0) {
		uq_remove(&u->q, id);
		u->stats.evicted++;
		log_warn("upload: %s evicted by the store quota before it was uploaded (%llu so far): it is lost",
			 id, (unsigned long long)u->stats.evicted);
	}
	pthread_mutex_unlock(&u->lock);
}

struct uploader *uploader_start(const struct config *cfg, struct store *st, char *err, size_t errlen)
{
	struct uploader *u;
	pthread_condattr_t ca;

	err[0] = '\0';
	if (!cfg->upload_endpoint[0])
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "upload: out of memory");
		return NULL;
	}
	u->cfg = cfg;
	u->st = st;
	if (cancel_token_init(&u->cancel) < 0) {
		snprintf(err, errlen, "upload: cannot make its cancel token: %s", strerror(errno));
		goto fail;
	}
	if (creds_load(cfg->upload_credentials_file, cfg->upload_profile, &u->creds, err, errlen) < 0)
		goto fail;
	if (cfg->upload_prefix[0])
		snprintf(u->prefix, sizeof(u->prefix), "%s", cfg->upload_prefix);
	else if (gethostname(u->prefix, sizeof(u->prefix) - 1) < 0 || !u->prefix[0])
		snprintf(u->prefix, sizeof(u->prefix), "localhost");
	struct s3_conf sc = {
		.endpoint = cfg->upload_endpoint, .bucket = cfg->upload_bucket, .region = cfg->upload_region,
		.path_style = cfg->upload_path_style, .ca_file = cfg->upload_ca_file, .creds = &u->creds,
		.cancel = &u->cancel, .max_send_bps = (uint64_t)cfg->upload_max_mbps * 1048576,
	};
	u->s3 = s3_new(&sc, err, errlen);
	if (!u->s3)
		goto fail;
	/* Parts go up two at a time, unless a bandwidth cap is set (it is per connection). */
	if (!cfg->upload_max_mbps && !(u->s3_second = s3_new(&sc, err, errlen)))
		goto fail;
	pthread_mutex_init(&u->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->wake, &ca);
	pthread_condattr_destroy(&ca);
	store_set_evict_hook(st, on_evict, u);
	if (pthread_create(&u->thread, NULL, uploader_main, u) != 0) {
		snprintf(err, errlen, "upload: cannot start its thread");
		store_set_evict_hook(st, NULL, NULL);
		goto fail;
	}
	u->started = true;
	log_info("upload: to %s bucket %s prefix %s (credentials from %s), keep_local %s", cfg->upload_endpoint,
		 cfg->upload_bucket, u->prefix, u->creds.source, cfg->upload_keep_local ? "on" : "off");
	return u;
fail:
	s3_free(u->s3);
	s3_free(u->s3_second);
	creds_wipe(&u->creds);
	cancel_token_destroy(&u->cancel);
	free(u);
	return NULL;
}

void uploader_notify(struct uploader *u, const char *id)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	if (uq_add(&u->q, id, wall_ms(), 0, mono_ms()) == 1) {
		u->stats.queued++;
		log_info("upload: %s queued", id);
	}
	pthread_cond_signal(&u->wake);
	pthread_mutex_unlock(&u->lock);
}

void uploader_stats(struct uploader *u, struct upload_stats *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->stats;
	out->pending = u->q.n;
	out->oldest_wait_ms = uq_oldest_age_ms(&u->q, mono_ms());
	pthread_mutex_unlock(&u->lock);
}

void uploader_stop(struct uploader *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->stopping = true;
	cancel_token_fire(&u->cancel);
	pthread_cond_broadcast(&u->wake);
	pthread_mutex_unlock(&u->lock);
	if (u->started)
		pthread_join(u->thread, NULL);
	store_set_evict_hook(u->st, NULL, NULL);
	log_stats(u);
	s3_free(u->s3);
	s3_free(u->s3_second);
	creds_wipe(&u->creds);
	cancel_token_destroy(&u->cancel);
	uq_free(&u->q);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->wake);
	free(u);
}
