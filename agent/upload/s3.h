// SPDX-License-Identifier: Apache-2.0
/* A small S3 client over libcurl: requests signed with AWS SigV4 by libcurl itself
 * (CURLOPT_AWS_SIGV4, libcurl >= 7.75; Debian 12 has 7.88), path-style or
 * virtual-host URLs, bodies streamed from a file range (never held in memory), replies
 * read with expat. One struct s3 is one connection cache: use it from one thread.
 *
 * What libcurl 7.88 needs (measured against Ceph RGW; s3.c has the details): an x-amz-content-sha256 header on every
 * request (it then signs it; we send UNSIGNED-PAYLOAD and protect bodies with
 * Content-MD5 instead; a body streamed from a file is hashed while it is sent, and its
 * MD5 returned for the caller to check against the server's ETag), a known length for a streamed PUT (INFILESIZE_LARGE), query
 * parameters written in sorted order (it signs the query as written), keys
 * percent-encoded in the path.
 *
 * Calls return 0 on a 2xx reply, else -EACCES (401, 403), -ENOENT (404), -EAGAIN
 * (5xx, 408, 429), -EPROTO (other replies, or a reply we cannot read), -EIO/-ETIMEDOUT (network),
 * -ECANCELED (*cancel set); s3_error() then says what failed, naming the endpoint,
 * the bucket, the request and the server's error code. Secrets are never in it. */
#ifndef HS_S3_H
#define HS_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/wait.h"
#include "upload/creds.h"
#include "upload/s3xml.h"

struct s3_conf {
	const char *endpoint;          /* http(s)://HOST[:PORT] */
	const char *bucket;
	const char *region;
	bool path_style;
	const char *ca_file;           /* NULL/"": the system's CAs */
	uint64_t max_send_bps;         /* upload bandwidth cap, bytes/s (0 = none) */
	const struct s3_creds *creds;
	const struct cancel_token *cancel; /* optional: fired, it aborts a transfer */
	/* optional: called during downloads (bytes so far, total or 0) */
	void (*progress)(uint64_t now, uint64_t total, void *ctx);
	void *progress_ctx;
};

struct s3;

struct s3 *s3_new(const struct s3_conf *conf, char *err, size_t errlen);
void s3_free(struct s3 *s3);
const char *s3_error(const struct s3 *s3);
/* HTTP status of the last reply (0: none). */
long s3_status(const struct s3 *s3);
/* Requests sent through this handle so far (what a listing cost). */
uint64_t s3_requests(const struct s3 *s3);

/* Percent-encode KEY for a URL path ('/' kept) or a query value (keep_slash false). */
int s3_encode(const char *in, bool keep_slash, char *out, size_t outlen);
void s3_md5_hex(const unsigned char md5[16], char hex[33]);
int s3_md5_mem(const void *buf, size_t len, unsigned char md5[16]);

/* PUT KEY from fd[off, off+len), read once: the MD5 of what was sent into md5, the
 * reply's ETag (quotes removed) into etag (when not NULL). */
int s3_put_range(struct s3 *s3, const char *key, int fd, uint64_t off, uint64_t len, unsigned char md5[16],
		 char *etag, size_t etaglen);
/* PUT KEY from memory (Content-Type type). */
int s3_put_mem(struct s3 *s3, const char *key, const void *buf, size_t len, const char *type,
	       char *etag, size_t etaglen);
/* HEAD KEY: its size and ETag (quotes removed). */
int s3_head(struct s3 *s3, const char *key, uint64_t *size, char *etag, size_t etaglen);
/* GET KEY into fd (written from its current offset); *got bytes. */
int s3_get_fd(struct s3 *s3, const char *key, int fd, uint64_t *got);
/* GET KEY into a malloc'ed buffer of at most max bytes (NUL-terminated). */
int s3_get_mem(struct s3 *s3, const char *key, size_t max, char **buf, size_t *len);
int s3_delete(struct s3 *s3, const char *key);
/* Every object under PREFIX (all pages). on_object may be called before an error.
 * Bounded whatever the server says: -EPROTO when a "truncated" page repeats the
 * previous continuation token, -E2BIG past 10000 pages or ten million objects. */
int s3_list(struct s3 *s3, const char *prefix, void (*on_object)(const struct s3_object *, void *),
	    void *ctx);
struct s3_list_opts {
	const char *prefix;
	const char *start_after;       /* NULL, or only keys after this one */
	const char *delimiter;         /* NULL, or group keys by it (CommonPrefixes: common_prefix set) */
};
/* s3_list with a start-after key and a delimiter. */
int s3_list_from(struct s3 *s3, const struct s3_list_opts *o,
		 void (*on_object)(const struct s3_object *, void *), void *ctx);

/* Multipart upload. */
int s3_mpu_begin(struct s3 *s3, const char *key, char *upload_id, size_t idlen);
/* One part from fd[off, off+len), read once, its MD5 into md5 (as s3_put_range). */
int s3_mpu_part(struct s3 *s3, const char *key, const char *upload_id, unsigned partno, int fd,
		uint64_t off, uint64_t len, unsigned char md5[16], char *etag, size_t etaglen);
/* etags[i] is part i+1's hex MD5. */
int s3_mpu_complete(struct s3 *s3, const char *key, const char *upload_id, const char (*etags)[33],
		    unsigned nparts);
int s3_mpu_abort(struct s3 *s3, const char *key, const char *upload_id);
/* In-progress multipart uploads of keys under PREFIX. */
int s3_mpu_list(struct s3 *s3, const char *prefix, void (*on_upload)(const char *key, const char *id, void *),
		void *ctx);

#endif
