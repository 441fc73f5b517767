// SPDX-License-Identifier: Apache-2.0
/* S3 reply XML with expat (see s3xml.h). */
#include "upload/s3xml.h"

#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16

struct walk {
	XML_Parser p;
	s3xml_fn fn;
	void *ctx;
	char path[S3XML_MAX_PATH];
	size_t plen[MAX_DEPTH + 1];
	int depth;
	char text[S3XML_MAX_TEXT + 1];
	size_t tlen;
	bool bad;
};

static void stop(struct walk *w)
{
	w->bad = true;
	XML_StopParser(w->p, XML_FALSE);
}

static void on_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
	struct walk *w = user;
	size_t cur = strlen(w->path), n = strlen(name);

	(void)attrs;
	if (w->bad)
		return;
	if (w->depth >= MAX_DEPTH || cur + 1 + n >= sizeof(w->path)) {
		stop(w);
		return;
	}
	w->plen[w->depth++] = cur;
	w->path[cur] = '/';
	memcpy(w->path + cur + 1, name, n + 1);
	w->tlen = 0;
	w->text[0] = '\0';
}

static void on_end(void *user, const XML_Char *name)
{
	struct walk *w = user;

	(void)name;
	if (w->bad || w->depth == 0)
		return;
	w->text[w->tlen] = '\0';
	w->fn(w->path, w->text, w->ctx);
	w->path[w->plen[--w->depth]] = '\0';
	w->tlen = 0;
	w->text[0] = '\0';
}

static void on_text(void *user, const XML_Char *s, int len)
{
	struct walk *w = user;
	size_t room = S3XML_MAX_TEXT - w->tlen, n = (size_t)len;

	if (w->bad || len <= 0)
		return;
	if (n > room)
		n = room;
	memcpy(w->text + w->tlen, s, n);
	w->tlen += n;
}

static void on_doctype(void *user, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
		       int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	stop(user);
}

int s3xml_walk(const char *buf, size_t len, s3xml_fn fn, void *ctx)
{
	struct walk *w;
	int rc = 0;

	if (len > (1u << 30))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	w->p = XML_ParserCreate("UTF-8");
	if (!w->p) {
		free(w);
		return -ENOMEM;
	}
	XML_SetUserData(w->p, w);
	XML_SetElementHandler(w->p, on_start, on_end);
	XML_SetCharacterDataHandler(w->p, on_text);
	XML_SetStartDoctypeDeclHandler(w->p, on_doctype);
	if (XML_Parse(w->p, buf, (int)len, XML_TRUE) != XML_STATUS_OK || w->bad)
		rc = -EINVAL;
	XML_ParserFree(w->p);
	free(w);
	return rc;
}

/* ---- replies ---------------------------------------------------------------- */

static void copy(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src);
}

struct err_ctx {
	char *code, *msg;
	size_t codelen, msglen;
	bool seen;
};

static void on_error_el(const char *path, const char *text, void *ctx)
{
	struct err_ctx *e = ctx;

	if (strcmp(path, "/Error/Code") == 0) {
		copy(e->code, e->codelen, text);
		e->seen = true;
	} else if (strcmp(path, "/Error/Message") == 0) {
		copy(e->msg, e->msglen, text);
	}
}

int s3xml_error(const char *buf, size_t len, char *code, size_t codelen, char *msg, size_t msglen)
{
	struct err_ctx e = { code, msg, codelen, msglen, false };

	code[0] = msg[0] = '\0';
	if (s3xml_walk(buf, len, on_error_el, &e) < 0 || !e.seen) {
		code[0] = msg[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

struct id_ctx {
	char *out;
	size_t outlen;
	bool seen;
};

static void on_upload_id_el(const char *path, const char *text, void *ctx)
{
	struct id_ctx *c = ctx;

	if (strcmp(path, "/InitiateMultipartUploadResult/UploadId") == 0 && text[0]) {
		copy(c->out, c->outlen, text);
		c->seen = strlen(text) < c->outlen;
	}
}

int s3xml_upload_id(const char *buf, size_t len, char *out, size_t outlen)
{
	struct id_ctx c = { out, outlen, false };

	out[0] = '\0';
	if (s3xml_walk(buf, len, on_upload_id_el, &c) < 0 || !c.seen)
		return -EINVAL;
	return 0;
}

struct list_ctx {
	struct s3_object obj;
	void (*on_object)(const struct s3_object *, void *);
	void *ctx;
	bool *truncated;
	char *token;
	size_t tokenlen;
	bool root;
};

static void on_list_el(const char *path, const char *text, void *ctx)
{
	struct list_ctx *c = ctx;
	static const char contents[] = "/ListBucketResult/Contents";

	if (strncmp(path, contents, sizeof(contents) - 1) == 0) {
		const char *f = path + sizeof(contents) - 1;

		if (strcmp(f, "/Key") == 0)
			copy(c->obj.key, sizeof(c->obj.key), text);
		else if (strcmp(f, "/Size") == 0)
			c->obj.size = strtoull(text, NULL, 10);
		else if (strcmp(f, "/ETag") == 0)
			copy(c->obj.etag, sizeof(c->obj.etag), text);
		else if (strcmp(f, "/LastModified") == 0)
			copy(c->obj.last_modified, sizeof(c->obj.last_modified), text);
		else if (*f == '\0') {
			if (c->obj.key[0])
				c->on_object(&c->obj, c->ctx);
			memset(&c->obj, 0, sizeof(c->obj));
		}
	} else if (strcmp(path, "/ListBucketResult/CommonPrefixes/Prefix") == 0 && text[0]) {
		struct s3_object dir = { .common_prefix = true };

		copy(dir.key, sizeof(dir.key), text);
		c->on_object(&dir, c->ctx);
	} else if (strcmp(path, "/ListBucketResult/IsTruncated") == 0) {
		*c->truncated = strcmp(text, "true") == 0;
	} else if (strcmp(path, "/ListBucketResult/NextContinuationToken") == 0) {
		copy(c->token, c->tokenlen, text);
	} else if (strcmp(path, "/ListBucketResult") == 0) {
		c->root = true;
	}
}

int s3xml_list_objects(const char *buf, size_t len, void (*on_object)(const struct s3_object *, void *),
		       void *ctx, bool *truncated, char *next_token, size_t tokenlen)
{
	struct list_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->on_object = on_object;
	c->ctx = ctx;
	c->truncated = truncated;
	c->token = next_token;
	c->tokenlen = tokenlen;
	*truncated = false;
	next_token[0] = '\0';
	rc = s3xml_walk(buf, len, on_list_el, c);
	if (rc == 0 && (!c->root || (*truncated && !next_token[0])))
		rc = -EINVAL;  /* not a listing, or a next page we could not ask for */
	free(c);
	return rc;
}

struct uploads_ctx {
	char key[1024], id[S3XML_MAX_TEXT + 1];
	void (*on_upload)(const char *, const char *, void *);
	void *ctx;
	bool root;
};

static void on_uploads_el(const char *path, const char *text, void *ctx)
{
	struct uploads_ctx *c = ctx;

	if (strcmp(path, "/ListMultipartUploadsResult/Upload/Key") == 0) {
		copy(c->key, sizeof(c->key), text);
	} else if (strcmp(path, "/ListMultipartUploadsResult/Upload/UploadId") == 0) {
		copy(c->id, sizeof(c->id), text);
	} else if (strcmp(path, "/ListMultipartUploadsResult/Upload") == 0) {
		if (c->key[0] && c->id[0])
			c->on_upload(c->key, c->id, c->ctx);
		c->key[0] = c->id[0] = '\0';
	} else if (strcmp(path, "/ListMultipartUploadsResult") == 0) {
		c->root = true;
	}
}

int s3xml_list_uploads(const char *buf, size_t len, void (*on_upload)(const char *, const char *, void *),
		       void *ctx)
{
	struct uploads_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->on_upload = on_upload;
	c->ctx = ctx;
	rc = s3xml_walk(buf, len, on_uploads_el, c);
	if (rc == 0 && !c->root)
		rc = -EINVAL;
	free(c);
	return rc;
}
