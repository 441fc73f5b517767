// SPDX-License-Identifier: Apache-2.0
/* Minimal HTTP/1.1 GET for the inspector's discovery endpoint (/json/list): one
 * request per connection, bounded response size and time. Not a general HTTP client:
 * no chunked encoding, no redirects. */
#ifndef HS_HTTP_H
#define HS_HTTP_H

#include <stddef.h>

#include "base/wait.h"

/* GET path over the connected socket fd (not closed here). On 200, *body is the
 * NUL-terminated body (malloc'ed, free()) of at most max_body bytes. 0, or -errno with err. */
int http_get(int fd, const char *host, const char *path, const struct wait_spec *wait, size_t max_body,
	     char **body, size_t *body_len, char *err, size_t errlen);

/* From a /json/list body: the path part of the first target's webSocketDebuggerUrl
 * ("ws://127.0.0.1:9229/UUID" -> "/UUID"). 0, or -EPROTO with err. */
int http_inspector_ws_path(const char *body, size_t len, char *path, size_t pathlen, char *err, size_t errlen);

#endif
