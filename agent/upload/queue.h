// SPDX-License-Identifier: Apache-2.0
/* The upload queue's pure parts (no I/O, unit-tested): the state kept beside each
 * snapshot in ID.upload, the in-memory queue of snapshots still to upload (oldest
 * first), and the retry backoff.
 *
 * State machine, per snapshot:  (no ID.upload) or "queued" --upload ok--> "done"
 *                               "queued" --failure--> "queued", attempts + 1, retry after backoff
 *                               any --evicted by quota / removed--> gone (counted if not done)
 * A restarted agent queues every snapshot that is not "done": object keys are fixed
 * (PREFIX/ID...), so an upload repeated after a crash replaces the same objects —
 * never a second copy — and a multipart upload it left is aborted first. */
#ifndef HS_UPLOAD_QUEUE_H
#define HS_UPLOAD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum upload_state { UPLOAD_QUEUED = 0, UPLOAD_DONE = 1 };

struct upload_rec {
	enum upload_state state;
	unsigned attempts;             /* failed attempts so far */
	int64_t done_at_ms;            /* epoch ms, when done */
	char etag[80];                 /* the verified remote ETag of the .gz, when done */
	char key[1100];                /* the .gz object key, when done */
	char last_error[2048];
};

/* ID.upload text <-> record. parse: 0, or -EINVAL (then treat as queued). */
int upload_rec_parse(const char *text, struct upload_rec *out);
char *upload_rec_format(const struct upload_rec *r);   /* malloc'ed */

/* Delay before retry number `attempts` (1 = after the first failure): 1 s doubling
 * up to cap_ms, then "equal jitter": a uniform pick in [d/2, d] from rnd. */
uint64_t upload_backoff_ms(unsigned attempts, uint64_t cap_ms, uint32_t rnd);

struct upload_item {
	char id[SNAPSHOT_ID_LEN];
	int64_t order;                 /* snapshot start, epoch ms: oldest first */
	int64_t queued_mono_ms;        /* for the oldest waiting age */
	unsigned attempts;
	int64_t due_mono_ms;           /* not before */
};

struct upload_queue {
	struct upload_item *items;
	size_t n, cap;
};

/* Add unless already queued. 1 added, 0 already there, -ENOMEM. */
int uq_add(struct upload_queue *q, const char *id, int64_t order, unsigned attempts, int64_t now_mono);
/* The oldest item due at now (index), or -1 and *wait_ms until the next one is due
 * (-1 if the queue is empty). */
int uq_next(const struct upload_queue *q, int64_t now_mono, int64_t *wait_ms);
/* Index of id in the queue, or -ENOENT. */
int uq_find(const struct upload_queue *q, const char *id);
void uq_remove(struct upload_queue *q, const char *id);
/* A failed attempt: attempts + 1, due after the backoff. Returns the delay. */
uint64_t uq_failed(struct upload_queue *q, int idx, int64_t now_mono, uint64_t cap_ms, uint32_t rnd);
/* Age of the longest waiting item (0 if empty). */
int64_t uq_oldest_age_ms(const struct upload_queue *q, int64_t now_mono);
void uq_free(struct upload_queue *q);

/* "PREFIX/ID.heapsnapshot.gz" and "PREFIX/ID.json". 0 or -ENAMETOOLONG. */
int upload_key(const char *prefix, const char *id, const char *suffix, char *out, size_t outlen);

#endif
