// SPDX-License-Identifier: Apache-2.0
/* One HTTP POST over libcurl, for the senders (Alertmanager, webhook). Blocking, bounded by connect and total
 * timeouts; meant for a sender thread, never the agent's loop. Redirects are not
 * followed; only http and https. Credentials are never part of a message. */
#ifndef HS_HTTP_POST_H
#define HS_HTTP_POST_H

#include <stddef.h>

struct http_auth {
	const char *username;          /* basic auth when set (with password) */
	const char *password;
	const char *bearer;            /* "Authorization: Bearer ..." when set */
};

struct http_client;

/* Call once before any thread uses libcurl. 0 or -1. */
int http_client_global_init(void);

struct http_client *http_client_new(long connect_timeout_ms, long timeout_ms);
void http_client_free(struct http_client *c);

/* For logs: scheme://host[:port] of url, with "/..." when it has a path (a webhook's
 * path or query often is its secret, as in chat tools' incoming webhooks). */
void http_url_origin(const char *url, char *out, size_t len);

/* POST body (Content-Type: application/json) to url. Returns the HTTP status
 * (100..599), or a negative errno with err (-EIO: "Couldn't connect to server: ..."); the response body
 * is read and discarded (at most 64 KiB). */
int http_post_json(struct http_client *c, const char *url, const struct http_auth *auth,
		   const char *body, size_t len, char *err, size_t errlen);

#endif
