// SPDX-License-Identifier: Apache-2.0
/* The upload queue's pure parts (see queue.h). */
#include "upload/queue.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int upload_rec_parse(const char *text, struct upload_rec *out)
{
	json_t *o = json_loads(text, 0, NULL);
	const char *state, *s;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	state = json_string_value(json_object_get(o, "state"));
	json_int_t attempts = json_integer_value(json_object_get(o, "attempts"));
	out->attempts = attempts > 0 && attempts < 1000000 ? (unsigned)attempts : 0;
	out->done_at_ms = (int64_t)json_integer_value(json_object_get(o, "done_at_ms"));
	if ((s = json_string_value(json_object_get(o, "etag"))))
		snprintf(out->etag, sizeof(out->etag), "%s", s);
	if ((s = json_string_value(json_object_get(o, "key"))))
		snprintf(out->key, sizeof(out->key), "%s", s);
	if ((s = json_string_value(json_object_get(o, "last_error"))))
		snprintf(out->last_error, sizeof(out->last_error), "%s", s);
	int rc = 0;
	if (state && strcmp(state, "done") == 0)
		out->state = UPLOAD_DONE;
	else if (state && strcmp(state, "queued") == 0)
		out->state = UPLOAD_QUEUED;
	else
		rc = -EINVAL;
	json_decref(o);
	return rc;
}

char *upload_rec_format(const struct upload_rec *r)
{
	json_t *o = json_pack("{s:s, s:I}", "state", r->state == UPLOAD_DONE ? "done" : "queued",
			      "attempts", (json_int_t)r->attempts);
	char *text;

	if (!o)
		return NULL;
	if (r->state == UPLOAD_DONE) {
		json_object_set_new(o, "done_at_ms", json_integer(r->done_at_ms));
		json_object_set_new(o, "key", json_string(r->key));
		json_object_set_new(o, "etag", json_string(r->etag));
	}
	if (r->last_error[0])
		json_object_set_new(o, "last_error", json_string(r->last_error));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

uint64_t upload_backoff_ms(unsigned attempts, uint64_t cap_ms, uint32_t rnd)
{
	uint64_t d = 1000;

	for (unsigned i = 1; i < attempts && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	return d / 2 + (uint64_t)((double)rnd / 4294967296.0 * (double)(d - d / 2));
}

int uq_find(const struct upload_queue *q, const char *id)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->items[i].id, id) == 0)
			return (int)i;
	return -ENOENT;
}

int uq_add(struct upload_queue *q, const char *id, int64_t order, unsigned attempts, int64_t now_mono)
{
	if (uq_find(q, id) >= 0)
		return 0;
	if (strlen(id) >= sizeof(q->items[0].id))
		return -EINVAL;
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 16;
		struct upload_item *grown = realloc(q->items, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		q->items = grown;
		q->cap = ncap;
	}
	struct upload_item *it = &q->items[q->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->order = order;
	it->attempts = attempts;
	it->queued_mono_ms = now_mono;
	it->due_mono_ms = now_mono;
	return 1;
}

static bool older(const struct upload_item *a, const struct upload_item *b)
{
	if (a->order != b->order)
		return a->order < b->order;
	return strcmp(a->id, b->id) < 0;
}

int uq_next(const struct upload_queue *q, int64_t now_mono, int64_t *wait_ms)
{
	int best = -1;
	int64_t soonest = -1;

	for (size_t i = 0; i < q->n; i++) {
		const struct upload_item *it = &q->items[i];

		if (it->due_mono_ms <= now_mono) {
			if (best < 0 || older(it, &q->items[best]))
				best = (int)i;
		} else if (soonest < 0 || it->due_mono_ms - now_mono < soonest) {
			soonest = it->due_mono_ms - now_mono;
		}
	}
	*wait_ms = best >= 0 ? 0 : soonest;
	return best;
}

void uq_remove(struct upload_queue *q, const char *id)
{
	int i = uq_find(q, id);

	if (i < 0)
		return;
	q->items[i] = q->items[q->n - 1];
	q->n--;
}

uint64_t uq_failed(struct upload_queue *q, int idx, int64_t now_mono, uint64_t cap_ms, uint32_t rnd)
{
	struct upload_item *it = &q->items[idx];
	uint64_t d;

	it->attempts++;
	d = upload_backoff_ms(it->attempts, cap_ms, rnd);
	it->due_mono_ms = now_mono + (int64_t)d;
	return d;
}

int64_t uq_oldest_age_ms(const struct upload_queue *q, int64_t now_mono)
{
	int64_t age = 0;

	for (size_t i = 0; i < q->n; i++)
		if (now_mono - q->items[i].queued_mono_ms > age)
			age = now_mono - q->items[i].queued_mono_ms;
	return age;
}

void uq_free(struct upload_queue *q)
{
	free(q->items);
	memset(q, 0, sizeof(*q));
}

int upload_key(const char *prefix, const char *id, const char *suffix, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s%s%s", prefix, prefix[0] ? "/" : "", id, suffix);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}
