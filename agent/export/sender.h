// SPDX-License-Identifier: Apache-2.0
/* The sender: one thread that POSTs queued JSON bodies to their targets
 * (Alertmanager instances, the webhook), so that nothing upstream ever waits on the
 * network. The queue is bounded (SENDER_QUEUE_MAX): when full, the oldest delivery is
 * dropped and counted. A failed delivery (no answer, a 5xx, 408 or 429) is retried
 * with exponential backoff and jitter (backoff.h) until its max_age runs out, then
 * dropped and counted; any other status but 2xx is not retried (the receiver refuses
 * the content). Each attempt counts in heapsnap_alerts_sent_total or
 * heapsnap_alerts_failed_total. A periodic hook (sender_set_tick) runs on the same thread
 * once a second: the Alertmanager lifecycle queues its re-sends from there. */
#ifndef HS_SENDER_H
#define HS_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "export/http_post.h"
#include "export/metrics.h"

#define SENDER_QUEUE_MAX 256
#define SENDER_MAX_TARGETS 17
#define SENDER_CONNECT_TIMEOUT_MS 3000
#define SENDER_TIMEOUT_MS 10000
#define SENDER_BACKOFF_BASE_MS 1000
#define SENDER_BACKOFF_MAX_MS 30000

struct sender;

struct sender *sender_new(struct metrics *m);
/* A receiver; the auth strings are copied. The target's index, or -errno. */
int sender_add_target(struct sender *s, enum metrics_sink sink, const char *url,
		      const struct http_auth *auth);
/* fn(ctx, mono_ms) once a second on the sender thread (set before sender_start). */
void sender_set_tick(struct sender *s, void (*fn)(void *ctx, int64_t now_ms), void *ctx);
int sender_start(struct sender *s);
/* Queue body (copied) for target. Never blocks on the network. 0, or -errno. */
int sender_enqueue(struct sender *s, int target, const char *body, size_t len, int64_t max_age_ms);
/* Stop the thread (an attempt in flight finishes, at most SENDER_TIMEOUT_MS) and drop
 * what is queued. Accepts NULL. */
void sender_free(struct sender *s);

#endif
