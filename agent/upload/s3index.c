// SPDX-License-Identifier: Apache-2.0
/* The bucket's index keys (see s3index.h). */
#include "upload/s3index.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const family_name[] = { [S3INDEX_HOST] = "host", [S3INDEX_APP] = "app",
					   [S3INDEX_TIME] = "time" };

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decoding of one encoded segment (s3_encode's reverse); no NUL, no '/'. */
static int decode(const char *in, char *out, size_t outlen)
{
	size_t o = 0, n = strlen(in);

	for (size_t i = 0; i < n; i++) {
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		if (in[i] == '/')
			return -EINVAL;
		if (in[i] != '%') {
			out[o++] = in[i];
			continue;
		}
		int hi = i + 2 < n ? hex_value(in[i + 1]) : -1, lo = i + 2 < n ? hex_value(in[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi | lo) == 0)
			return -EINVAL;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return 0;
}

int s3index_family_prefix(enum s3index_family fam, const char *value, char *out, size_t outlen)
{
	char enc[1024];
	int n;

	if (fam == S3INDEX_TIME) {
		n = snprintf(out, outlen, S3INDEX_V1 "time/");
	} else {
		if (s3_encode(value && *value ? value : "-", false, enc, sizeof(enc)) < 0)
			return -ENAMETOOLONG;
		n = snprintf(out, outlen, S3INDEX_V1 "%s/%s/", family_name[fam], enc);
	}
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int s3index_entry_key(enum s3index_family fam, const char *value, const char *id, const char *prefix, char *out,
		      size_t outlen)
{
	char eprefix[1024];
	size_t used;

	if (s3index_family_prefix(fam, value, out, outlen) < 0 || s3_encode(prefix, false, eprefix, sizeof(eprefix)) < 0)
		return -ENAMETOOLONG;
	used = strlen(out);
	int n = snprintf(out + used, outlen - used, "%s/%s", id, eprefix);
	return n < 0 || (size_t)n >= outlen - used ? -ENAMETOOLONG : 0;
}

int s3index_parse_entry(const char *key, char *id, size_t idlen, char *json_key, size_t jsonlen)
{
	char prefix[1024];
	const char *last, *before;

	if (strncmp(key, S3INDEX_V1, strlen(S3INDEX_V1)) != 0 || !(last = strrchr(key, '/')))
		return -EINVAL;
	for (before = last; before > key && before[-1] != '/'; before--)
		;
	size_t n = (size_t)(last - before);
	if (n == 0 || n >= idlen || strspn(before, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") < n)
		return -EINVAL;
	snprintf(id, idlen, "%.*s", (int)n, before);
	if (!last[1] || decode(last + 1, prefix, sizeof(prefix)) < 0)
		return -EINVAL;
	n = (size_t)snprintf(json_key, jsonlen, "%s/%s.json", prefix, id);
	return n >= jsonlen ? -EINVAL : 0;
}

int s3index_complete_key(const char *prefix, char *out, size_t outlen)
{
	char eprefix[1024];

	if (s3_encode(prefix, false, eprefix, sizeof(eprefix)) < 0)
		return -ENAMETOOLONG;
	int n = snprintf(out, outlen, S3INDEX_V1 "complete/%s", eprefix);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int s3index_parse_complete(const char *key, char *prefix, size_t prefixlen)
{
	static const char head[] = S3INDEX_V1 "complete/";

	if (strncmp(key, head, sizeof(head) - 1) != 0 || !key[sizeof(head) - 1])
		return -EINVAL;
	return decode(key + sizeof(head) - 1, prefix, prefixlen);
}

int s3index_put(struct s3 *s3, const char *prefix, const char *id, const char *host, const char *app)
{
	static const enum s3index_family fams[] = { S3INDEX_HOST, S3INDEX_APP, S3INDEX_TIME };
	char key[4096];
	int rc = 0;

	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]) && rc == 0; i++) {
		rc = s3index_entry_key(fams[i], fams[i] == S3INDEX_HOST ? host : app, id, prefix, key, sizeof(key));
		if (rc == 0)
			rc = s3_put_mem(s3, key, "", 0, "application/octet-stream", NULL, 0);
	}
	return rc;
}
