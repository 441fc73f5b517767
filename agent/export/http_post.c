// SPDX-License-Identifier: Apache-2.0
/* HTTP POST over a reused libcurl easy handle (keep-alive between sends). */
#include "export/http_post.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_MAX (64 * 1024)

struct http_client {
	CURL *h;
	long connect_timeout_ms, timeout_ms;
	size_t reply_len;
	char errbuf[CURL_ERROR_SIZE];
};

int http_client_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

struct http_client *http_client_new(long connect_timeout_ms, long timeout_ms)
{
	struct http_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return NULL;
	}
	c->connect_timeout_ms = connect_timeout_ms;
	c->timeout_ms = timeout_ms;
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	free(c);
}

/* The reply body is not needed: counted and dropped, and a huge one cut short. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	struct http_client *c = ctx;

	(void)p;
	c->reply_len += size * n;
	return c->reply_len > REPLY_MAX ? 0 : size * n;
}

static void set_auth(CURL *h, const struct http_auth *auth)
{
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_NONE);
	curl_easy_setopt(h, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
	curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, NULL);
	if (auth && auth->bearer) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, auth->bearer);
	} else if (auth && auth->username) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, auth->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, auth->password ? auth->password : "");
	}
}

void http_url_origin(const char *url, char *out, size_t len)
{
	const char *host = strstr(url, "://");
	size_t n;

	host = host ? host + 3 : url;
	n = (size_t)(host - url) + strcspn(host, "/?#");
	snprintf(out, len, "%.*s%s", (int)n, url, url[n] && strcmp(url + n, "/") ? "/..." : "");
}

int http_post_json(struct http_client *c, const char *url, const struct http_auth *auth,
		   const char *body, size_t len, char *err, size_t errlen)
{
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *h = c->h;
	long status = 0;

	if (!hdrs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->errbuf[0] = '\0';
	c->reply_len = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "heapsnapd");
	set_auth(h, auth);
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && c->reply_len > REPLY_MAX)) {
		snprintf(err, errlen, "%s%s%s", curl_easy_strerror(rc), c->errbuf[0] ? ": " : "", c->errbuf);
		return -EIO;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}
