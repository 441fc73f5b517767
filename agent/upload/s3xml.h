// SPDX-License-Identifier: Apache-2.0
/* The XML of S3 replies, read with expat (never a hand-written parser). Replies come
 * from the network: sizes are bounded, a DOCTYPE (entity tricks) is refused, and
 * anything malformed is an error, never a crash (fuzzed: tests/fuzz/fuzz_s3xml.c). */
#ifndef HS_S3XML_H
#define HS_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3XML_MAX_PATH 256
#define S3XML_MAX_TEXT 2048

/* fn(path, text, ctx) at the end of every element: path "/Root/Child" (namespace
 * prefixes as written), text its own character data (truncated to S3XML_MAX_TEXT,
 * "" for containers). 0, or -EINVAL (malformed, DOCTYPE, too deep). */
typedef void (*s3xml_fn)(const char *path, const char *text, void *ctx);
int s3xml_walk(const char *buf, size_t len, s3xml_fn fn, void *ctx);

/* <Error><Code>, <Message>: 0 when the reply is an S3 error document. */
int s3xml_error(const char *buf, size_t len, char *code, size_t codelen, char *msg, size_t msglen);

/* <InitiateMultipartUploadResult><UploadId>: 0, or -EINVAL. */
int s3xml_upload_id(const char *buf, size_t len, char *out, size_t outlen);

struct s3_object {
	char key[1024];
	bool common_prefix;            /* a <CommonPrefixes><Prefix> of a delimited listing */
	uint64_t size;
	char etag[80];
	char last_modified[40];
};

/* ListObjectsV2: on_object for every <Contents> and every <CommonPrefixes> (these with
 * common_prefix set and only the key); *truncated and next_token
 * (NextContinuationToken) for the next page. 0, or -EINVAL. */
int s3xml_list_objects(const char *buf, size_t len, void (*on_object)(const struct s3_object *, void *),
		       void *ctx, bool *truncated, char *next_token, size_t tokenlen);

/* ListMultipartUploads: on_upload(key, upload_id) for every <Upload>. */
int s3xml_list_uploads(const char *buf, size_t len, void (*on_upload)(const char *key, const char *upload_id, void *),
		       void *ctx);

#endif
