// SPDX-License-Identifier: Apache-2.0
/* S3 requests over libcurl (see s3.h). Why libcurl's signer and not our own: Debian's
 * libcurl 7.88 signs correctly once every request carries x-amz-content-sha256 and
 * the query is written sorted (checked against Ceph RGW), so there is nothing to
 * hand-write. */
#include "upload/s3.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"

#define REPLY_MAX (8u << 20)     /* an XML reply or a .json object */
#define KEY_MAX 1024

struct s3 {
	CURL *h;
	char endpoint[512], bucket[64], region[64], ca_file[4096];
	bool path_style;
	uint64_t max_send_bps;
	const struct s3_creds *creds;
	const struct cancel_token *cancel;
	void (*progress)(uint64_t, uint64_t, void *);
	void *progress_ctx;
	long status;
	uint64_t requests;
	char error[2048];
	char curl_err[CURL_ERROR_SIZE];
};

/* One request. */
struct req {
	const char *method, *key, *query;
	/* body */
	int in_fd;
	uint64_t in_off, in_len, in_pos;
	const char *in_buf;
	const unsigned char *md5;      /* Content-MD5 to send, or NULL */
	EVP_MD_CTX *body_md5;          /* hashes the body as it is read (file bodies), or NULL */
	const char *type;
	/* reply */
	int out_fd;
	uint64_t out_bytes;
	int out_errno;
	char *reply;
	size_t reply_len, reply_max;
	bool reply_too_big;
	char etag[80];
	uint64_t length;
	bool have_length;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

struct s3 *s3_new(const struct s3_conf *c, char *err, size_t errlen)
{
	struct s3 *s3;

	pthread_once(&curl_once, global_init);
	s3 = calloc(1, sizeof(*s3));
	if (!s3 || !(s3->h = curl_easy_init())) {
		snprintf(err, errlen, "s3: cannot start libcurl");
		free(s3);
		return NULL;
	}
	snprintf(s3->endpoint, sizeof(s3->endpoint), "%s", c->endpoint);
	snprintf(s3->bucket, sizeof(s3->bucket), "%s", c->bucket);
	snprintf(s3->region, sizeof(s3->region), "%s", c->region && *c->region ? c->region : "us-east-1");
	snprintf(s3->ca_file, sizeof(s3->ca_file), "%s", c->ca_file ? c->ca_file : "");
	s3->path_style = c->path_style;
	s3->max_send_bps = c->max_send_bps;
	s3->creds = c->creds;
	s3->cancel = c->cancel;
	s3->progress = c->progress;
	s3->progress_ctx = c->progress_ctx;
	return s3;
}

void s3_free(struct s3 *s3)
{
	if (!s3)
		return;
	curl_easy_cleanup(s3->h);
	free(s3);
}

const char *s3_error(const struct s3 *s3) { return s3->error; }
long s3_status(const struct s3 *s3) { return s3->status; }
uint64_t s3_requests(const struct s3 *s3) { return s3->requests; }

/* ---- helpers ---------------------------------------------------------------- */

int s3_encode(const char *in, bool keep_slash, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			     *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/');

		if (n + (plain ? 1 : 3) >= outlen)
			return -ENAMETOOLONG;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= outlen)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

int s3_md5_mem(const void *buf, size_t len, unsigned char md5[16])
{
	unsigned int mdlen = 16;

	return EVP_Digest(buf, len, md5, &mdlen, EVP_md5(), NULL) ? 0 : -ENOMEM;
}

void s3_md5_hex(const unsigned char md5[16], char hex[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md5[i]);
}

/* ---- curl callbacks ------------------------------------------------------------ */

static size_t on_read(char *buf, size_t size, size_t nitems, void *user)
{
	struct req *r = user;
	size_t want = size * nitems;
	uint64_t left = r->in_len - r->in_pos;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (r->in_buf) {
		memcpy(buf, r->in_buf + r->in_pos, want);
		r->in_pos += want;
		return want;
	}
	for (;;) {
		ssize_t n = pread(r->in_fd, buf, want, (off_t)(r->in_off + r->in_pos));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CURL_READFUNC_ABORT;  /* the file shrank or failed: never send a short body */
		if (r->body_md5 && !EVP_DigestUpdate(r->body_md5, buf, (size_t)n))
			return CURL_READFUNC_ABORT;
		r->in_pos += (uint64_t)n;
		return (size_t)n;
	}
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct req *r = user;
	size_t n = size * nmemb;

	if (r->out_fd >= 0 && r->reply_max == 0) {
		int rc = write_all(r->out_fd, data, n);

		if (rc < 0) {
			r->out_errno = -rc;
			return 0;
		}
		r->out_bytes += n;
		return n;
	}
	if (r->reply_len + n > r->reply_max) {
		r->reply_too_big = true;
		return 0;
	}
	char *grown = realloc(r->reply, r->reply_len + n + 1);
	if (!grown)
		return 0;
	r->reply = grown;
	memcpy(r->reply + r->reply_len, data, n);
	r->reply_len += n;
	r->reply[r->reply_len] = '\0';
	return n;
}

/* A reply's status line starts a new header block (redirects, 100 Continue). */
static size_t on_header(char *line, size_t size, size_t nitems, void *user)
{
	struct req *r = user;
	size_t n = size * nitems;

	if (n > 5 && strncasecmp(line, "HTTP/", 5) == 0) {
		char *sp = memchr(line, ' ', n);
		long code = sp ? strtol(sp + 1, NULL, 10) : 0;

		r->etag[0] = '\0';
		/* A body for a failed GET goes to memory (the error document), not to the file. */
		if (r->out_fd >= 0)
			r->reply_max = code >= 300 ? 64 * 1024 : 0;
		return n;
	}
	if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
		const char *v = line + 5;
		size_t len = n - 5;

		while (len && (*v == ' ' || *v == '"')) {
			v++;
			len--;
		}
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == '"' || v[len - 1] == ' '))
			len--;
		if (len >= sizeof(r->etag))
			len = sizeof(r->etag) - 1;
		memcpy(r->etag, v, len);
		r->etag[len] = '\0';
	}
	return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct s3 *s3 = user;

	(void)ultotal, (void)ulnow;
	if (cancel_token_is_set(s3->cancel))
		return 1;
	if (s3->progress && dlnow > 0)
		s3->progress((uint64_t)dlnow, (uint64_t)dltotal, s3->progress_ctx);
	return 0;
}

/* ---- one request ------------------------------------------------------------------- */
/* Note: no "Expect:" header to skip 100-continue: curl 7.88 signs the empty header it
 * then does not send, and the server answers SignatureDoesNotMatch (seen with RGW). */

static int build_url(struct s3 *s3, const struct req *r, char *url, size_t len)
{
	char key[3 * KEY_MAX + 1] = "";
	const char *host = strstr(s3->endpoint, "://");
	int n;

	if (r->key && s3_encode(r->key, true, key, sizeof(key)) < 0)
		return -ENAMETOOLONG;
	host = host ? host + 3 : s3->endpoint;
	if (s3->path_style)
		n = snprintf(url, len, "%s/%s/%s%s%s", s3->endpoint, s3->bucket, key, r->query ? "?" : "",
			     r->query ? r->query : "");
	else
		n = snprintf(url, len, "%.*s%s.%s/%s%s%s", (int)(host - s3->endpoint), s3->endpoint, s3->bucket,
			     host, key, r->query ? "?" : "", r->query ? r->query : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static struct curl_slist *build_headers(struct s3 *s3, const struct req *r)
{
	struct curl_slist *h = NULL, *t;
	char line[4200];

	h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (h && s3->creds->session_token[0]) {
		snprintf(line, sizeof(line), "x-amz-security-token: %s", s3->creds->session_token);
		t = curl_slist_append(h, line);
		explicit_bzero(line, sizeof(line));
		h = t ? t : (curl_slist_free_all(h), NULL);
	}
	if (h && r->md5) {
		unsigned char b64[32];

		EVP_EncodeBlock(b64, r->md5, 16);
		snprintf(line, sizeof(line), "Content-MD5: %s", b64);
		t = curl_slist_append(h, line);
		h = t ? t : (curl_slist_free_all(h), NULL);
	}
	if (h && r->type) {
		snprintf(line, sizeof(line), "Content-Type: %s", r->type);
		t = curl_slist_append(h, line);
		h = t ? t : (curl_slist_free_all(h), NULL);
	}
	return h;
}

static void setup(struct s3 *s3, struct req *r, const char *url, struct curl_slist *headers)
{
	CURL *h = s3->h;
	char provider[128];

	curl_easy_reset(h);
	snprintf(provider, sizeof(provider), "aws:amz:%s:s3", s3->region);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, provider);
	curl_easy_setopt(h, CURLOPT_USERNAME, s3->creds->access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, s3->creds->secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s3->curl_err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);    /* a server that stalls ... */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);    /* ... for a minute is given up */
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, s3);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (s3->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, s3->ca_file);
	if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, r);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->in_len);
		/* 256 KiB reads instead of 64 KiB: fewer callbacks and syscalls per part */
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
		curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)s3->max_send_bps);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->in_buf ? r->in_buf : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->in_len);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "DELETE") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
}

static int status_errno(long code)
{
	if (code == 403 || code == 401)
		return -EACCES;
	if (code == 404)
		return -ENOENT;
	if (code >= 500 || code == 429 || code == 408)
		return -EAGAIN;
	return -EPROTO;
}

/* What the operator can do about a server error code. */
static const char *hint(const char *code)
{
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return ": the secret key is wrong";
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return ": the access key is unknown to the server";
	if (strcmp(code, "NoSuchBucket") == 0)
		return ": the bucket does not exist";
	if (strcmp(code, "AccessDenied") == 0)
		return ": these credentials may not do this";
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return ": this host's clock is off";
	return "";
}

/* The query as shown in messages: an uploadId's value elided, so that the same
 * failure reads the same on every attempt (and is logged once). */
static void shown_query(const char *q, char *out, size_t len)
{
	const char *id = q ? strstr(q, "uploadId=") : NULL;

	if (!q)
		out[0] = '\0';
	else if (!id)
		snprintf(out, len, "?%s", q);
	else
		snprintf(out, len, "?%.*suploadId=...%s", (int)(id - q), q, strchr(id, '&') ? strchr(id, '&') : "");
}

/* The operation's one error sentence in s3->error: endpoint, bucket, request, what. */
static void report(struct s3 *s3, const struct req *r, const char *fmt, ...) ERR_PRINTF(3, 4);
static void report(struct s3 *s3, const struct req *r, const char *fmt, ...)
{
	char what[512], query[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	shown_query(r->query, query, sizeof(query));
	snprintf(s3->error, sizeof(s3->error), "s3 %s bucket %s: %s %s%s: %s", s3->endpoint, s3->bucket,
		 r->method, r->key ? r->key : "", query, what);
}

static int http_failure(struct s3 *s3, struct req *r)
{
	char code[64], msg[200], detail[400];

	if (r->reply && s3xml_error(r->reply, r->reply_len, code, sizeof(code), msg, sizeof(msg)) == 0) {
		snprintf(detail, sizeof(detail), "%s%s%s%s", code, msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
		char status[32];
		snprintf(status, sizeof(status), "HTTP %ld", s3->status);
		report(s3, r, "%s %s", status, detail);
		size_t used = strlen(s3->error);
		snprintf(s3->error + used, sizeof(s3->error) - used, "%s%s", hint(code),
			 s3->status == 403 ? " (credentials from " : "");
		if (s3->status == 403) {
			used = strlen(s3->error);
			snprintf(s3->error + used, sizeof(s3->error) - used, "%s, access key %s)",
				 s3->creds->source, s3->creds->access_key);
		}
	} else {
		char status[32];
		snprintf(status, sizeof(status), "%ld", s3->status);
		report(s3, r, "HTTP %s%s", status, s3->status == 404 ? " (no such object or bucket)" :
		       s3->status == 403 ? " (access denied: check the credentials)" : "");
	}
	return status_errno(s3->status);
}

static int perform(struct s3 *s3, struct req *r)
{
	char url[4096 + 3 * KEY_MAX];
	struct curl_slist *headers;
	CURLcode cc;
	int rc;

	s3->error[0] = s3->curl_err[0] = '\0';
	s3->status = 0;
	if (build_url(s3, r, url, sizeof(url)) < 0) {
		report(s3, r, "key too long");
		return -ENAMETOOLONG;
	}
	headers = build_headers(s3, r);
	if (!headers) {
		report(s3, r, "out of memory");
		return -ENOMEM;
	}
	setup(s3, r, url, headers);
	s3->requests++;
	cc = curl_easy_perform(s3->h);
	curl_easy_getinfo(s3->h, CURLINFO_RESPONSE_CODE, &s3->status);
	curl_off_t cl = -1;
	curl_easy_getinfo(s3->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	if (cl >= 0) {
		r->length = (uint64_t)cl;
		r->have_length = true;
	}
	curl_easy_setopt(s3->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		report(s3, r, "cancelled");
		return -ECANCELED;
	}
	if (cc == CURLE_WRITE_ERROR && r->out_errno) {
		report(s3, r, "writing the download: %s", strerror(r->out_errno));
		return -r->out_errno;
	}
	if (cc == CURLE_WRITE_ERROR && r->reply_too_big) {
		report(s3, r, "reply too large");
		return -EPROTO;
	}
	if (cc != CURLE_OK && !(s3->status >= 300 && cc == CURLE_WRITE_ERROR)) {
		report(s3, r, "%s%s", s3->curl_err[0] ? s3->curl_err : curl_easy_strerror(cc),
		       cc == CURLE_COULDNT_CONNECT ? " (is the server up?)" : "");
		rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		return rc;
	}
	if (s3->status < 200 || s3->status >= 300)
		return http_failure(s3, r);
	return 0;
}

static void req_init(struct req *r, const char *method, const char *key, const char *query)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->key = key;
	r->query = query;
	r->in_fd = -1;
	r->out_fd = -1;
	r->reply_max = REPLY_MAX;
}

/* A PUT of r->in_len bytes (from in_fd at in_off, or in_buf) with their MD5; the reply's
 * ETag into etag (when not NULL). */
static int put_body(struct s3 *s3, struct req *r, const unsigned char md5[16], char *etag,
		    size_t etaglen)
{
	int rc;

	r->md5 = md5;
	rc = perform(s3, r);
	if (etag)
		snprintf(etag, etaglen, "%s", r->etag);
	free(r->reply);
	return rc;
}

/* ---- operations ---------------------------------------------------------------------- */

/* A PUT of fd[off, off+len): the body is read once, and hashed as it goes out (no
 * Content-MD5: it would need a pass over the part before sending, which halved the
 * throughput on a 2-core host); its MD5 into md5, for the caller to hold against the
 * ETag the server computed from what it received. */
static int put_file_range(struct s3 *s3, struct req *r, int fd, uint64_t off, uint64_t len,
			  unsigned char md5[16], char *etag, size_t etaglen)
{
	unsigned int mdlen = 0;
	int rc;

	r->in_fd = fd;
	r->in_off = off;
	r->in_len = len;
	r->body_md5 = EVP_MD_CTX_new();
	if (!r->body_md5 || !EVP_DigestInit_ex(r->body_md5, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(r->body_md5);
		return -ENOMEM;
	}
	rc = put_body(s3, r, NULL, etag, etaglen);
	if (rc == 0 && r->in_pos != len) {
		report(s3, r, "sent %llu of %llu bytes", (unsigned long long)r->in_pos, (unsigned long long)len);
		rc = -EIO;
	}
	if (!EVP_DigestFinal_ex(r->body_md5, md5, &mdlen) || mdlen != 16)
		rc = rc < 0 ? rc : -ENOMEM;
	EVP_MD_CTX_free(r->body_md5);
	return rc;
}

int s3_put_range(struct s3 *s3, const char *key, int fd, uint64_t off, uint64_t len, unsigned char md5[16],
		 char *etag, size_t etaglen)
{
	struct req r;

	req_init(&r, "PUT", key, NULL);
	r.type = "application/gzip";
	return put_file_range(s3, &r, fd, off, len, md5, etag, etaglen);
}

int s3_put_mem(struct s3 *s3, const char *key, const void *buf, size_t len, const char *type,
	       char *etag, size_t etaglen)
{
	unsigned char md5[16];
	unsigned int mdlen = 16;
	struct req r;

	if (!EVP_Digest(buf, len, md5, &mdlen, EVP_md5(), NULL))
		return -ENOMEM;
	req_init(&r, "PUT", key, NULL);
	r.in_buf = buf;
	r.in_len = len;
	r.type = type;
	return put_body(s3, &r, md5, etag, etaglen);
}

int s3_head(struct s3 *s3, const char *key, uint64_t *size, char *etag, size_t etaglen)
{
	struct req r;
	int rc;

	req_init(&r, "HEAD", key, NULL);
	rc = perform(s3, &r);
	if (rc == 0 && !r.have_length) {
		report(s3, &r, "reply without Content-Length");
		rc = -EPROTO;
	}
	*size = r.length;
	if (etag)
		snprintf(etag, etaglen, "%s", r.etag);
	free(r.reply);
	return rc;
}

int s3_get_fd(struct s3 *s3, const char *key, int fd, uint64_t *got)
{
	struct req r;
	int rc;

	req_init(&r, "GET", key, NULL);
	r.out_fd = fd;
	r.reply_max = 0;
	rc = perform(s3, &r);
	*got = r.out_bytes;
	if (rc == 0 && r.have_length && r.length != r.out_bytes) {
		report(s3, &r, "download shorter than its Content-Length");
		rc = -EPROTO;
	}
	free(r.reply);
	return rc;
}

int s3_get_mem(struct s3 *s3, const char *key, size_t max, char **buf, size_t *len)
{
	struct req r;
	int rc;

	req_init(&r, "GET", key, NULL);
	r.reply_max = max;
	rc = perform(s3, &r);
	if (rc == 0 && !r.reply)
		r.reply = calloc(1, 1);
	if (rc < 0 || !r.reply) {
		free(r.reply);
		return rc < 0 ? rc : -ENOMEM;
	}
	*buf = r.reply;
	*len = r.reply_len;
	return 0;
}

int s3_delete(struct s3 *s3, const char *key)
{
	struct req r;
	int rc;

	req_init(&r, "DELETE", key, NULL);
	rc = perform(s3, &r);
	free(r.reply);
	return rc;
}

/* A listing is the server's word on how many pages there are: a server that answers
 * "truncated" forever (or repeats its continuation token) must not keep a caller
 * looping. 10000 pages of up to 1000 keys is ten million objects. */
#define LIST_MAX_PAGES 10000
#define LIST_MAX_OBJECTS 10000000ull

struct list_count {
	void (*on_object)(const struct s3_object *, void *);
	void *ctx;
	unsigned long long objects;
};

static void count_object(const struct s3_object *o, void *ctx)
{
	struct list_count *lc = ctx;

	if (++lc->objects <= LIST_MAX_OBJECTS)
		lc->on_object(o, lc->ctx);
}

/* One ListObjectsV2 page's query, its parameters in sorted order (libcurl signs the
 * query as written): continuation-token < delimiter < list-type < prefix < start-after. */
static int list_query(const struct s3_list_opts *o, const char *token, char *query, size_t len)
{
	char etok[3 * (S3XML_MAX_TEXT + 1)], epfx[3 * KEY_MAX + 1], eafter[3 * KEY_MAX + 1], edelim[16];
	const char *after = o->start_after ? o->start_after : "", *delim = o->delimiter ? o->delimiter : "";

	if (s3_encode(token, false, etok, sizeof(etok)) < 0 || s3_encode(o->prefix, false, epfx, sizeof(epfx)) < 0 ||
	    s3_encode(after, false, eafter, sizeof(eafter)) < 0 || s3_encode(delim, false, edelim, sizeof(edelim)) < 0)
		return -ENAMETOOLONG;
	int n = snprintf(query, len, "%s%s%s%s%s%slist-type=2&prefix=%s%s%s", token[0] ? "continuation-token=" : "",
			 etok, token[0] ? "&" : "", delim[0] ? "delimiter=" : "", edelim, delim[0] ? "&" : "", epfx,
			 after[0] && !token[0] ? "&start-after=" : "", after[0] && !token[0] ? eafter : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int s3_list_from(struct s3 *s3, const struct s3_list_opts *o,
		 void (*on_object)(const struct s3_object *, void *), void *ctx)
{
	char token[S3XML_MAX_TEXT + 1] = "", prev[sizeof(token)] = "";
	char query[3 * (S3XML_MAX_TEXT + 1) + 6 * KEY_MAX + 128];
	struct list_count lc = { .on_object = on_object, .ctx = ctx };
	bool more = true;
	int rc = 0;

	for (int page = 0; more && rc == 0; page++) {
		struct req r;

		if (list_query(o, token, query, sizeof(query)) < 0)
			return -ENAMETOOLONG;
		req_init(&r, "GET", NULL, query);
		if (page == LIST_MAX_PAGES || lc.objects > LIST_MAX_OBJECTS) {
			report(s3, &r, "the listing goes on past %d pages or %llu objects: stopped", LIST_MAX_PAGES,
			       LIST_MAX_OBJECTS);
			return -E2BIG;
		}
		snprintf(prev, sizeof(prev), "%s", token);
		rc = perform(s3, &r);
		if (rc == 0 && s3xml_list_objects(r.reply ? r.reply : "", r.reply_len, count_object, &lc, &more,
						  token, sizeof(token)) < 0) {
			report(s3, &r, "unreadable listing (not ListObjectsV2 XML)");
			rc = -EPROTO;
		} else if (rc == 0 && more && strcmp(token, prev) == 0) {
			report(s3, &r, "the server says the listing is truncated but returns the same continuation "
				       "token again: stopped");
			rc = -EPROTO;
		}
		free(r.reply);
	}
	return rc;
}

int s3_list(struct s3 *s3, const char *prefix, void (*on_object)(const struct s3_object *, void *),
	    void *ctx)
{
	struct s3_list_opts o = { .prefix = prefix };

	return s3_list_from(s3, &o, on_object, ctx);
}

int s3_mpu_begin(struct s3 *s3, const char *key, char *upload_id, size_t idlen)
{
	struct req r;
	int rc;

	req_init(&r, "POST", key, "uploads=");
	r.type = "application/gzip";
	rc = perform(s3, &r);
	if (rc == 0 && s3xml_upload_id(r.reply ? r.reply : "", r.reply_len, upload_id, idlen) < 0) {
		report(s3, &r, "no UploadId in the reply");
		rc = -EPROTO;
	}
	free(r.reply);
	return rc;
}

int s3_mpu_part(struct s3 *s3, const char *key, const char *upload_id, unsigned partno, int fd,
		uint64_t off, uint64_t len, unsigned char md5[16], char *etag, size_t etaglen)
{
	char eid[3 * S3XML_MAX_TEXT + 1], query[sizeof(eid) + 64];
	struct req r;

	if (s3_encode(upload_id, false, eid, sizeof(eid)) < 0)
		return -ENAMETOOLONG;
	snprintf(query, sizeof(query), "partNumber=%u&uploadId=%s", partno, eid);
	req_init(&r, "PUT", key, query);
	return put_file_range(s3, &r, fd, off, len, md5, etag, etaglen);
}

int s3_mpu_complete(struct s3 *s3, const char *key, const char *upload_id, const char (*etags)[33],
		    unsigned nparts)
{
	char eid[3 * S3XML_MAX_TEXT + 1], query[sizeof(eid) + 64];
	size_t cap = 128 + (size_t)nparts * 96, n = 0;
	char *body = malloc(cap);
	struct req r;
	int rc;

	if (!body)
		return -ENOMEM;
	if (s3_encode(upload_id, false, eid, sizeof(eid)) < 0) {
		free(body);
		return -ENAMETOOLONG;
	}
	n += (size_t)snprintf(body + n, cap - n, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < nparts; i++)
		n += (size_t)snprintf(body + n, cap - n, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
				      i + 1, etags[i]);
	n += (size_t)snprintf(body + n, cap - n, "</CompleteMultipartUpload>");
	snprintf(query, sizeof(query), "uploadId=%s", eid);
	req_init(&r, "POST", key, query);
	r.in_buf = body;
	r.in_len = n;
	r.type = "application/xml";
	rc = perform(s3, &r);
	/* 200 with an <Error> body is how S3 reports a late failure of Complete. */
	char code[64], msg[200];
	if (rc == 0 && r.reply && s3xml_error(r.reply, r.reply_len, code, sizeof(code), msg, sizeof(msg)) == 0) {
		report(s3, &r, "CompleteMultipartUpload failed: %s %s", code, msg);
		rc = -EAGAIN;
	}
	free(r.reply);
	free(body);
	return rc;
}

int s3_mpu_abort(struct s3 *s3, const char *key, const char *upload_id)
{
	char eid[3 * S3XML_MAX_TEXT + 1], query[sizeof(eid) + 64];
	struct req r;
	int rc;

	if (s3_encode(upload_id, false, eid, sizeof(eid)) < 0)
		return -ENAMETOOLONG;
	snprintf(query, sizeof(query), "uploadId=%s", eid);
	req_init(&r, "DELETE", key, query);
	rc = perform(s3, &r);
	free(r.reply);
	return rc == -ENOENT ? 0 : rc;  /* already gone */
}

int s3_mpu_list(struct s3 *s3, const char *prefix, void (*on_upload)(const char *, const char *, void *),
		void *ctx)
{
	char epfx[3 * KEY_MAX + 1], query[sizeof(epfx) + 32];
	struct req r;
	int rc;

	if (s3_encode(prefix, false, epfx, sizeof(epfx)) < 0)
		return -ENAMETOOLONG;
	snprintf(query, sizeof(query), "prefix=%s&uploads=", epfx);
	req_init(&r, "GET", NULL, query);
	rc = perform(s3, &r);
	if (rc == 0 && s3xml_list_uploads(r.reply ? r.reply : "", r.reply_len, on_upload, ctx) < 0) {
		report(s3, &r, "unreadable ListMultipartUploads reply");
		rc = -EPROTO;
	}
	free(r.reply);
	return rc;
}
