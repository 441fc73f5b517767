// SPDX-License-Identifier: Apache-2.0
/* The sender thread and its bounded retry queue (see sender.h). */
#include "export/sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/loop.h"
#include "export/backoff.h"

#define TICK_MS 1000

struct target {
	enum metrics_sink sink;
	char *url;
	char *log_url;                 /* what the log names: the webhook without its path */
	char *username, *password, *bearer;
	bool failing;                  /* last attempt failed: logged once, until it works */
};

struct item {
	int target;
	char *body;
	size_t len;
	unsigned attempts;
	int64_t next_ms, expires_ms;
};

struct sender {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, stopping;
	struct metrics *m;
	struct target targets[SENDER_MAX_TARGETS];
	int ntargets;
	struct item q[SENDER_QUEUE_MAX];
	size_t nq;
	void (*tick)(void *ctx, int64_t now_ms);
	void *tick_ctx;
	struct backoff backoff;
	struct http_client *http;
};

static const char *sink_name(enum metrics_sink s)
{
	return s == SINK_ALERTMANAGER ? "alertmanager" : "webhook";
}

struct sender *sender_new(struct metrics *m)
{
	struct sender *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->m = m;
	backoff_init(&s->backoff, SENDER_BACKOFF_BASE_MS, SENDER_BACKOFF_MAX_MS,
		     (uint64_t)wall_ms() ^ ((uint64_t)mono_ms() << 20));
	if (http_client_global_init() != 0 ||
	    !(s->http = http_client_new(SENDER_CONNECT_TIMEOUT_MS, SENDER_TIMEOUT_MS))) {
		sender_free(s);
		return NULL;
	}
	return s;
}

static char *dup_or_null(const char *v)
{
	return v && *v ? strdup(v) : NULL;
}

int sender_add_target(struct sender *s, enum metrics_sink sink, const char *url,
		      const struct http_auth *auth)
{
	if (s->ntargets == SENDER_MAX_TARGETS)
		return -ENOSPC;
	struct target *t = &s->targets[s->ntargets];
	char shown[512];
	if (sink == SINK_WEBHOOK)
		http_url_origin(url, shown, sizeof(shown));
	else
		snprintf(shown, sizeof(shown), "%s", url);
	*t = (struct target){ .sink = sink, .url = strdup(url), .log_url = strdup(shown) };
	if (auth) {
		t->username = dup_or_null(auth->username);
		t->password = dup_or_null(auth->password);
		t->bearer = dup_or_null(auth->bearer);
	}
	if (!t->url || !t->log_url)
		return -ENOMEM;
	return s->ntargets++;
}

void sender_set_tick(struct sender *s, void (*fn)(void *ctx, int64_t now_ms), void *ctx)
{
	s->tick = fn;
	s->tick_ctx = ctx;
}

/* Caller holds the lock. */
static void drop_at(struct sender *s, size_t i, bool count)
{
	if (count)
		metrics_sink_dropped(s->m, s->targets[s->q[i].target].sink);
	free(s->q[i].body);
	memmove(&s->q[i], &s->q[i + 1], (s->nq - i - 1) * sizeof(s->q[0]));
	s->nq--;
}

static void push(struct sender *s, struct item it)
{
	if (s->nq == SENDER_QUEUE_MAX) {
		log_warn("%s: delivery queue full (%d), dropping the oldest",
			 sink_name(s->targets[s->q[0].target].sink), SENDER_QUEUE_MAX);
		drop_at(s, 0, true);
	}
	s->q[s->nq++] = it;
	metrics_set_queue_length(s->m, (unsigned)s->nq);
}

int sender_enqueue(struct sender *s, int target, const char *body, size_t len, int64_t max_age_ms)
{
	if (!s || target < 0 || target >= s->ntargets)
		return -EINVAL;
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	int64_t now = mono_ms();
	pthread_mutex_lock(&s->lock);
	push(s, (struct item){ .target = target, .body = copy, .len = len, .next_ms = now,
			       .expires_ms = now + max_age_ms });
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static bool retryable(int status)
{
	return status < 0 || status >= 500 || status == 408 || status == 429;
}

/* Logged on a change only (failing <-> delivering, or a delivery given up): the
 * metrics count every attempt. */
static void report(struct target *t, int status, const char *err, bool retry, unsigned attempts)
{
	char what[400];

	if (status >= 200 && status < 300) {
		if (t->failing)
			log_info("%s %s: delivering again", sink_name(t->sink), t->log_url);
		t->failing = false;
		return;
	}
	if (t->failing && retry)
		return;
	t->failing = true;
	if (status < 0)
		snprintf(what, sizeof(what), "%s", err);
	else
		snprintf(what, sizeof(what), "HTTP %d", status);
	if (retry)
		log_warn("%s %s: %s, retrying", sink_name(t->sink), t->log_url, what);
	else if (status >= 0 && !retryable(status))
		log_warn("%s %s: %s, not retried (the receiver refuses it)", sink_name(t->sink), t->log_url, what);
	else
		log_warn("%s %s: %s, given up after %u attempts", sink_name(t->sink), t->log_url, what, attempts);
}

/* One attempt, made without the lock; the item is back in the queue if it is retried. */
static void attempt(struct sender *s, struct item it)
{
	struct target *t = &s->targets[it.target];
	struct http_auth auth = { .username = t->username, .password = t->password, .bearer = t->bearer };
	char err[320];

	int status = http_post_json(s->http, t->url, &auth, it.body, it.len, err, sizeof(err));
	bool ok = status >= 200 && status < 300;
	metrics_sink_result(s->m, t->sink, ok);
	pthread_mutex_lock(&s->lock);
	int64_t next = mono_ms() + backoff_delay_ms(&s->backoff, ++it.attempts);
	bool retry = !ok && retryable(status) && next < it.expires_ms && !s->stopping;
	report(t, status, err, retry, it.attempts);
	if (retry) {
		it.next_ms = next;
		push(s, it);
	} else {
		if (!ok)
			metrics_sink_dropped(s->m, t->sink);
		free(it.body);
	}
	metrics_set_queue_length(s->m, (unsigned)s->nq);
	pthread_mutex_unlock(&s->lock);
}

/* Index of the item due first, or -1. Caller holds the lock. */
static long earliest(struct sender *s)
{
	long best = -1;

	for (size_t i = 0; i < s->nq; i++)
		if (best < 0 || s->q[i].next_ms < s->q[best].next_ms)
			best = (long)i;
	return best;
}

static void wait_until(struct sender *s, int64_t at_ms)
{
	int64_t d = at_ms - mono_ms();
	if (d <= 0)
		return;
	struct timespec ts = mono_after_ms(d);
	pthread_cond_timedwait(&s->wake, &s->lock, &ts);
}

static void *run(void *arg)
{
	struct sender *s = arg;
	int64_t next_tick = mono_ms();

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		int64_t now = mono_ms();
		if (now >= next_tick) {
			next_tick = now + TICK_MS;
			if (s->tick) {
				pthread_mutex_unlock(&s->lock);
				s->tick(s->tick_ctx, now);
				pthread_mutex_lock(&s->lock);
			}
			continue;
		}
		long i = earliest(s);
		if (i >= 0 && s->q[i].next_ms <= now) {
			struct item it = s->q[i];
			s->q[i].body = NULL;
			drop_at(s, (size_t)i, false);
			pthread_mutex_unlock(&s->lock);
			attempt(s, it);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		wait_until(s, i >= 0 && s->q[i].next_ms < next_tick ? s->q[i].next_ms : next_tick);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sender_start(struct sender *s)
{
	int rc = pthread_create(&s->thread, NULL, run, s);

	if (rc)
		return -rc;
	s->started = true;
	return 0;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < s->nq; i++)
		free(s->q[i].body);
	for (int i = 0; i < s->ntargets; i++) {
		free(s->targets[i].url);
		free(s->targets[i].log_url);
		free(s->targets[i].username);
		free(s->targets[i].password);
		free(s->targets[i].bearer);
	}
	http_client_free(s->http);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
