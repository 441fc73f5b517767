// SPDX-License-Identifier: Apache-2.0
/* S3 credentials (see creds.h). inih reads lines of at most INI_MAX_LINE (200) bytes
 * and Debian builds it without realloc, but an STS session token is often longer:
 * our line reader hands inih a long value as a placeholder ("\x01N") and keeps the
 * value itself aside, so the INI syntax is still inih's and no line is split. */
#include "upload/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LONG_LINE_MAX 8192
#define MAX_LONG 4

struct creds_parse {
	const char *name, *profile;
	struct s3_creds *out;
	FILE *fp;
	const char *text;
	int line, err_line;
	char err[256];
	bool in_profile, seen_profile;
	char *longval[MAX_LONG];
	int nlong;
};

static int next_char(struct creds_parse *c)
{
	if (c->fp)
		return getc(c->fp);
	if (*c->text == '\0')
		return EOF;
	return (unsigned char)*c->text++;
}

/* Read one whole line into buf; a "key = value" too long for inih becomes
 * "key = \x01N" with the value kept in longval[N]. */
static char *read_line(char *str, int num, void *stream)
{
	struct creds_parse *c = stream;
	char buf[LONG_LINE_MAX];
	size_t len = 0;
	int ch = next_char(c);

	if (ch == EOF)
		return NULL;
	c->line++;
	for (; ch != EOF && ch != '\n'; ch = next_char(c))
		if (len < sizeof(buf) - 1)
			buf[len++] = (char)ch;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len + 2 <= (size_t)num) {
		snprintf(str, (size_t)num, "%s\n", buf);
		return str;
	}
	char *eq = strchr(buf, '=');
	if (!eq || c->nlong == MAX_LONG || (size_t)(eq - buf) + 8 > (size_t)num) {
		if (!c->err_line) {
			c->err_line = c->line;
			snprintf(c->err, sizeof(c->err), "line too long");
		}
		str[0] = '\n', str[1] = '\0';
		return str;
	}
	char *v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	c->longval[c->nlong] = strdup(v);
	snprintf(str, (size_t)num, "%.*s= \x01%d\n", (int)(eq - buf), buf, c->nlong);
	c->nlong++;
	return str;
}

static int set_value(struct creds_parse *c, const char *key, char *dst, size_t dstlen, const char *v)
{
	if (v[0] == '\x01') {
		int i = atoi(v + 1);

		v = i >= 0 && i < c->nlong && c->longval[i] ? c->longval[i] : "";
	}
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= dstlen) {
		if (!c->err_line) {
			c->err_line = c->line;
			snprintf(c->err, sizeof(c->err), "%s too long (max %zu bytes)", key, dstlen - 1);
		}
		return 0;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 1;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct creds_parse *c = user;
	struct s3_creds *o = c->out;

	if (strcmp(section, c->profile) != 0)
		return 1;
	c->seen_profile = true;
	if (strcmp(key, "aws_access_key_id") == 0)
		return set_value(c, key, o->access_key, sizeof(o->access_key), value);
	if (strcmp(key, "aws_secret_access_key") == 0)
		return set_value(c, key, o->secret_key, sizeof(o->secret_key), value);
	if (strcmp(key, "aws_session_token") == 0)
		return set_value(c, key, o->session_token, sizeof(o->session_token), value);
	return 1;  /* region, output, ...: not ours */
}

static int finish(struct creds_parse *c, int rc, char *err, size_t errlen)
{
	struct s3_creds *o = c->out;
	int ret = 0;

	for (int i = 0; i < c->nlong; i++) {
		if (c->longval[i])
			explicit_bzero(c->longval[i], strlen(c->longval[i]));
		free(c->longval[i]);
	}
	if (rc > 0 && (!c->err_line || rc < c->err_line)) {
		c->err_line = rc;
		snprintf(c->err, sizeof(c->err), "syntax error (expected '[profile]' or 'key = value')");
	}
	if (c->err_line) {
		snprintf(err, errlen, "%s:%d: %s", c->name, c->err_line, c->err);
		ret = -EINVAL;
	} else if (rc < 0) {
		snprintf(err, errlen, "%s: cannot parse (out of memory)", c->name);
		ret = -ENOMEM;
	} else if (!c->seen_profile) {
		snprintf(err, errlen, "%s: no [%s] profile", c->name, c->profile);
		ret = -ENOENT;
	} else if (!o->access_key[0] || !o->secret_key[0]) {
		snprintf(err, errlen, "%s: profile [%s] lacks %s", c->name, c->profile,
			 !o->access_key[0] ? "aws_access_key_id" : "aws_secret_access_key");
		ret = -EINVAL;
	}
	if (ret < 0)
		creds_wipe(o);
	else
		snprintf(o->source, sizeof(o->source), "%s [%s]", c->name, c->profile);
	return ret;
}

int creds_parse_string(const char *text, const char *name, const char *profile, struct s3_creds *out,
		       char *err, size_t errlen)
{
	struct creds_parse c = { .name = name, .profile = profile, .out = out, .text = text };

	memset(out, 0, sizeof(*out));
	return finish(&c, ini_parse_stream(read_line, &c, on_key, &c), err, errlen);
}

static int from_env(struct s3_creds *out, char *err, size_t errlen)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");

	memset(out, 0, sizeof(*out));
	if (!ak || !*ak || !sk || !*sk) {
		snprintf(err, errlen, "no credentials: set [upload] credentials_file, or AWS_ACCESS_KEY_ID and "
			 "AWS_SECRET_ACCESS_KEY in the environment");
		return -ENOENT;
	}
	if (strlen(ak) >= sizeof(out->access_key) || strlen(sk) >= sizeof(out->secret_key) ||
	    (tok && strlen(tok) >= sizeof(out->session_token))) {
		snprintf(err, errlen, "credentials in the environment too long");
		return -EINVAL;
	}
	strcpy(out->access_key, ak);
	strcpy(out->secret_key, sk);
	if (tok)
		strcpy(out->session_token, tok);
	snprintf(out->source, sizeof(out->source), "environment (AWS_ACCESS_KEY_ID)");
	return 0;
}

/* Who may access the file: its owner must be root or the user running us (someone
 * else could rewrite the keys the agent signs with, or point them at their bucket),
 * and nobody else may read or write it. The message says which rule it broke. */
static int check_owner_and_mode(const char *file, const struct stat *sb, char *err, size_t errlen)
{
	uid_t me = geteuid();
	mode_t m = sb->st_mode;

	if (sb->st_uid != 0 && sb->st_uid != me) {
		snprintf(err, errlen, "credentials_file %s: owned by uid %u, not by root or uid %u (who runs this): "
			 "refusing it (chown root %s)", file, (unsigned)sb->st_uid, (unsigned)me, file);
		return -EPERM;
	}
	if (m & 077) {
		snprintf(err, errlen, "credentials_file %s: permissions %04o let %s%s%s%s it: refusing it (chmod 600 %s)",
			 file, (unsigned)(m & 07777), m & 070 ? "its group" : "", (m & 070) && (m & 07) ? " and " : "",
			 m & 07 ? "others" : "",
			 (m & 022) && (m & 044) ? " read and write" : (m & 022) ? " write" : (m & 044) ? " read" : " use",
			 file);
		return -EPERM;
	}
	return 0;
}

int creds_load(const char *file, const char *profile, struct s3_creds *out, char *err, size_t errlen)
{
	struct creds_parse c = { .name = file, .profile = profile, .out = out };
	struct stat sb;
	int fd, rc;

	if (!file || !*file)
		return from_env(out, err, errlen);
	memset(out, 0, sizeof(*out));
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "credentials_file %s: %s", file, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "credentials_file %s: not a regular file", file);
		close(fd);
		return -EINVAL;
	}
	rc = check_owner_and_mode(file, &sb, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	c.fp = fdopen(fd, "re");
	if (!c.fp) {
		close(fd);
		return -ENOMEM;
	}
	rc = finish(&c, ini_parse_stream(read_line, &c, on_key, &c), err, errlen);
	fclose(c.fp);
	return rc;
}

void creds_wipe(struct s3_creds *c)
{
	explicit_bzero(c->access_key, sizeof(c->access_key));
	explicit_bzero(c->secret_key, sizeof(c->secret_key));
	explicit_bzero(c->session_token, sizeof(c->session_token));
}
