// SPDX-License-Identifier: Apache-2.0
/* The uploader: one thread, off the event loop and off the capture workers, that
 * copies every stored snapshot to S3-compatible storage ([upload]), oldest first,
 * and retries with exponential backoff and jitter until it is there. The store is
 * the queue: each snapshot's upload state is ID.upload beside it (atomic writes), so
 * a restarted agent resumes where it stopped. Order per snapshot: abort a multipart
 * upload a crash left, PREFIX/ID.heapsnapshot.gz (one PUT, or a multipart upload
 * streamed from the store file, two parts at a time unless max_mbps caps the upload;
 * each body read once and hashed as it is sent, part ETags checked against those MD5s), HEAD to verify size and ETag (the MD5 of what
 * we sent), then PREFIX/ID.json last; then ID.upload "done", and the
 * local copy is removed if keep_local = off. Downstream of the store only: it reads
 * the store and never calls the capture side. */
#ifndef HS_UPLOADER_H
#define HS_UPLOADER_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "store/store.h"

/* Counters a metrics module may read (uploader_stats); also logged after each attempt. */
struct upload_stats {
	uint64_t queued;        /* snapshots queued since start (incl. those found at start) */
	uint64_t pending;       /* waiting now */
	uint64_t uploaded;      /* verified in the bucket */
	uint64_t failed;        /* failed attempts */
	uint64_t retried;       /* attempts after a failure */
	uint64_t bytes;         /* bytes of verified objects */
	uint64_t evicted;       /* evicted by the store's quota before they were uploaded */
	int64_t oldest_wait_ms; /* age of the longest waiting snapshot */
};

struct uploader;

/* NULL and no error when [upload] endpoint is empty; NULL with err on a bad setup
 * (credentials). The thread starts at once and queues every stored snapshot whose
 * upload is not done. */
struct uploader *uploader_start(const struct config *cfg, struct store *st, char *err, size_t errlen);
/* A snapshot was stored (and its report attached): queue it. Cheap; called from the
 * capture_done alert sink (the report thread or a capture worker). */
void uploader_notify(struct uploader *u, const char *id);
void uploader_stats(struct uploader *u, struct upload_stats *out);
/* Cancel a running transfer, join the thread. Accepts NULL. */
void uploader_stop(struct uploader *u);

#endif
