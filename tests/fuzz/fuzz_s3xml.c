// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the S3 reply handling (agent/upload/s3xml.c, expat): any bytes
 * as a ListObjectsV2, ListMultipartUploads, InitiateMultipartUpload or Error reply.
 * Checks the results stay bounded and NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upload/s3xml.h"

static void on_object(const struct s3_object *o, void *ctx)
{
	size_t *n = ctx;
	if (strnlen(o->key, sizeof(o->key)) >= sizeof(o->key) || !o->key[0] ||
	    strnlen(o->etag, sizeof(o->etag)) >= sizeof(o->etag))
		__builtin_trap();
	(*n)++;
}

static void on_upload(const char *key, const char *id, void *ctx)
{
	size_t *n = ctx;
	if (!key[0] || !id[0] || strlen(id) > S3XML_MAX_TEXT)
		__builtin_trap();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char token[S3XML_MAX_TEXT + 1], code[64], msg[200], id[256];
	size_t n = 0;
	bool more = false;

	if (s3xml_list_objects(buf, size, on_object, &n, &more, token, sizeof(token)) == 0 && more && !token[0])
		__builtin_trap();
	s3xml_list_uploads(buf, size, on_upload, &n);
	if (s3xml_upload_id(buf, size, id, sizeof(id)) == 0 && (!id[0] || strlen(id) >= sizeof(id)))
		__builtin_trap();
	if (s3xml_error(buf, size, code, sizeof(code), msg, sizeof(msg)) == 0 && strlen(code) >= sizeof(code))
		__builtin_trap();
	return 0;
}
