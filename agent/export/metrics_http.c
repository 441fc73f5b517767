// SPDX-License-Identifier: Apache-2.0
/* The metrics endpoint over libmicrohttpd (one internal polling thread). */
#include "export/metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/err.h"
#include "base/log.h"
#include "base/loop.h"

#define METRICS_CONN_MEMORY (32 * 1024)   /* request headers of one connection */
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server {
	struct MHD_Daemon *mhd;
	struct metrics *m;
};

int metrics_split_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = listen;
	size_t hl;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - listen);
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (hl == 0 || hl >= hostlen || colon[1] == '\0' || *end || errno || p == 0 || p > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
			     const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(c, status, body, strlen(body), "text/plain; charset=utf-8");
}

static enum MHD_Result serve_metrics(struct metrics_server *s, struct MHD_Connection *c)
{
	char *body;
	size_t len;

	if (metrics_render(s->m, &body, &len) != 0)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, body, len, CONTENT_TYPE_METRICS);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req)
{
	struct metrics_server *s = cls;
	static int first_call;

	(void)version;
	(void)upload;
	if (*req == NULL) { /* headers only so far: answer once any body is read */
		*req = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* a body on a GET: ignored */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(s, c);
	if (strcmp(url, "/-/healthy") == 0) {
		bool ok = metrics_healthy(s->m, mono_ms(), METRICS_HEALTHY_MAX_AGE_MS);
		return reply_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR,
				  ok ? "heapsnapd is healthy\n" : "heapsnapd's event loop is stuck\n");
	}
	if (strcmp(url, "/-/ready") == 0) {
		bool ok = metrics_ready(s->m);
		return reply_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
				  ok ? "heapsnapd is ready\n" : "heapsnapd is starting\n");
	}
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /-/healthy, /-/ready\n");
}

/* The format is libmicrohttpd's: a literal there, checked as one here. */
ERR_PRINTF(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("metrics http: %s", msg);
}

static int resolve(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;

	if (metrics_split_listen(listen, host, sizeof(host), &p) != 0) {
		snprintf(err, errlen, "metrics: bad listen address '%s' (expected HOST:PORT)", listen);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", p);
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "metrics: cannot resolve listen address %s: %s", listen, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

struct metrics_server *metrics_server_start(const char *listen, struct metrics *m, char *err,
					    size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	struct metrics_server *s;

	if (resolve(listen, &ss, err, errlen) != 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	s->m = m;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first, to catch all */
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_MAX_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONN_MEMORY,
				  MHD_OPTION_END);
	if (!s->mhd) {
		int e = errno;
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", listen,
			 e ? strerror(e) : "libmicrohttpd could not start");
		free(s);
		return NULL;
	}
	return s;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
