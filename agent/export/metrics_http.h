// SPDX-License-Identifier: Apache-2.0
/* The metrics endpoint: libmicrohttpd on its own thread, serving
 *   GET /metrics      Prometheus text format 0.0.4 (metrics_render)
 *   GET /-/healthy    200 while the agent's loop turns (heartbeat at most
 *                     METRICS_HEALTHY_MAX_AGE_MS old), else 500
 *   GET /-/ready      200 once probes are attached and the /proc scan is done, else 503
 * Anything else: 404 (unknown path) or 405 (not GET/HEAD); a malformed request gets
 * libmicrohttpd's 400. A scraper cannot exhaust it: at most METRICS_MAX_CONNECTIONS
 * connections (METRICS_MAX_PER_IP from one address), each closed after
 * METRICS_IDLE_TIMEOUT_S of silence, with a small per-connection memory limit. The
 * HTTP thread only reads struct metrics; it never touches the agent's loop. */
#ifndef HS_METRICS_HTTP_H
#define HS_METRICS_HTTP_H

#include <stddef.h>

#include "export/metrics.h"

#define METRICS_MAX_CONNECTIONS 16
#define METRICS_MAX_PER_IP 8
#define METRICS_IDLE_TIMEOUT_S 10
#define METRICS_HEALTHY_MAX_AGE_MS 10000

struct metrics_server;

/* listen: "HOST:PORT" ("[v6]:PORT" for IPv6), a numeric address or a host name
 * resolved once here. NULL with err naming the address on failure. */
struct metrics_server *metrics_server_start(const char *listen, struct metrics *m, char *err,
					    size_t errlen);
/* Stops the thread, closes every connection. Accepts NULL. */
void metrics_server_stop(struct metrics_server *s);

/* Split "HOST:PORT" / "[HOST]:PORT". 0, or -EINVAL (port not 1..65535, no colon). */
int metrics_split_listen(const char *listen, char *host, size_t hostlen, unsigned *port);

#endif
