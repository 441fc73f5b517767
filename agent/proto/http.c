// SPDX-License-Identifier: Apache-2.0
/* Minimal bounded HTTP GET for the inspector discovery. See http.h. */
#include "proto/http.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HTTP_MAX_HEADERS 8192

static int send_request(int fd, const char *req, size_t len, const struct wait_spec *wait, char *err, size_t errlen)
{
	while (len) {
		ssize_t n = send(fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			req += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			int e = errno;
			snprintf(err, errlen, "http send: %s", strerror(e));
			return -e;
		}
		enum wait_result r = wait_fd(wait, fd, POLLOUT);
		if (r != WAIT_READY) {
			snprintf(err, errlen, "http send: %s", wait_result_str(r));
			return wait_result_errno(r);
		}
	}
	return 0;
}

/* Content-Length from the header block, or -1 if absent. */
static long content_length(const char *headers)
{
	for (const char *l = strstr(headers, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		if (!strncasecmp(l + 2, "Content-Length:", 15))
			return strtol(l + 17, NULL, 10);
	}
	return -1;
}

/* Reads until the headers are complete and Content-Length bytes (or EOF) followed. */
static int read_response(int fd, char *buf, size_t cap, size_t *have, size_t *hdr_len,
			 const struct wait_spec *wait, char *err, size_t errlen)
{
	long clen = -1;

	*have = 0;
	*hdr_len = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + *have, cap - *have, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			int e = errno;
			snprintf(err, errlen, "http receive: %s", strerror(e));
			return -e;
		}
		if (n > 0) {
			*have += (size_t)n;
			buf[*have] = '\0';
			if (!*hdr_len) {
				char *end = strstr(buf, "\r\n\r\n");
				if (end) {
					*hdr_len = (size_t)(end - buf) + 4;
					end[2] = '\0';
					clen = content_length(buf);
					end[2] = '\r';
				} else if (*have > HTTP_MAX_HEADERS) {
					snprintf(err, errlen, "http: response headers too long");
					return -EMSGSIZE;
				}
			}
			if (*hdr_len && clen >= 0 && *have >= *hdr_len + (size_t)clen)
				break;
			if (*have == cap) {
				snprintf(err, errlen, "http: response larger than %zu bytes", cap);
				return -EMSGSIZE;
			}
			continue;
		}
		enum wait_result r = wait_fd(wait, fd, POLLIN);
		if (r != WAIT_READY) {
			snprintf(err, errlen, "http receive: %s", wait_result_str(r));
			return wait_result_errno(r);
		}
	}
	if (!*hdr_len) {
		snprintf(err, errlen, "http: connection closed before the response headers ended");
		return -EPROTO;
	}
	if (clen >= 0 && *have > *hdr_len + (size_t)clen)
		*have = *hdr_len + (size_t)clen;
	return 0;
}

int http_get(int fd, const char *host, const char *path, const struct wait_spec *wait, size_t max_body,
	     char **body, size_t *body_len, char *err, size_t errlen)
{
	char req[512];
	size_t cap = HTTP_MAX_HEADERS + max_body, have, hdr_len;
	char *buf;
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
			 "Connection: close\r\n\r\n", path, host);

	*body = NULL;
	if (n < 0 || n >= (int)sizeof(req)) {
		snprintf(err, errlen, "http: request too long");
		return -ENAMETOOLONG;
	}
	int rc = send_request(fd, req, (size_t)n, wait, err, errlen);
	if (rc < 0)
		return rc;
	buf = malloc(cap + 1);
	if (!buf) {
		snprintf(err, errlen, "http: out of memory");
		return -ENOMEM;
	}
	if ((rc = read_response(fd, buf, cap, &have, &hdr_len, wait, err, errlen)) < 0)
		goto fail;
	if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4)) {
		char *eol = strchr(buf, '\r');
		snprintf(err, errlen, "http: GET %s: %.*s", path, eol ? (int)(eol - buf) : 40, buf);
		rc = -EPROTO;
		goto fail;
	}
	if (have - hdr_len > max_body) {
		snprintf(err, errlen, "http: body larger than %zu bytes", max_body);
		rc = -EMSGSIZE;
		goto fail;
	}
	memmove(buf, buf + hdr_len, have - hdr_len);
	buf[have - hdr_len] = '\0';
	*body = buf;
	*body_len = have - hdr_len;
	return 0;
fail:
	free(buf);
	return rc;
}

int http_inspector_ws_path(const char *body, size_t len, char *path, size_t pathlen, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *list = json_loadb(body, len, 0, &jerr);
	const char *url = json_string_value(json_object_get(json_array_get(list, 0), "webSocketDebuggerUrl"));
	const char *p;
	int rc = -EPROTO;

	if (!list) {
		snprintf(err, errlen, "inspector /json/list: malformed JSON: %s", jerr.text);
		return -EPROTO;
	}
	if (!url || strncmp(url, "ws://", 5) || !(p = strchr(url + 5, '/'))) {
		snprintf(err, errlen, "inspector /json/list: no ws:// webSocketDebuggerUrl in the first target");
	} else if (strlen(p) >= pathlen) {
		snprintf(err, errlen, "inspector /json/list: webSocketDebuggerUrl too long");
	} else {
		snprintf(path, pathlen, "%s", p);
		rc = 0;
	}
	json_decref(list);
	return rc;
}
