// SPDX-License-Identifier: Apache-2.0
#include "daemon/persist.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *item_json(const struct persisted *p)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:I, s:I}", "pid", (json_int_t)p->pid,
			 "start_time", (json_int_t)p->start_time, "baseline_rss",
			 (json_int_t)p->trig.rss_first_seen, "last_capture_rss",
			 (json_int_t)p->trig.last_capture_rss, "last_capture_ms",
			 (json_int_t)p->trig.last_capture_ms, "captures", (json_int_t)p->trig.captures,
			 "baseline_requested", p->trig.baseline_requested, "baseline_id", p->baseline_id,
			 "capture_offset", (json_int_t)p->trig.capture_offset, "baseline_app_rss",
			 (json_int_t)p->trig.baseline_app_rss);
}

char *persist_dump(const struct persisted *items, size_t n)
{
	json_t *arr = json_array();
	char *text;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, item_json(&items[i]));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

int persist_write(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (rc == 0 && off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int persist_save(const char *path, const struct persisted *items, size_t n)
{
	char *text = persist_dump(items, n);
	int rc = text ? persist_write(path, text) : -ENOMEM;

	free(text);
	return rc;
}

void persist_batch_changed(struct persist_batch *b, bool urgent)
{
	b->dirty = true;
	b->urgent |= urgent;
}

bool persist_batch_due(const struct persist_batch *b, int64_t now_ms)
{
	return b->dirty && (b->urgent || !b->written || now_ms - b->written_ms >= PERSIST_BATCH_MS);
}

int persist_batch_write(struct persist_batch *b, const char *path, char *text, int64_t now_ms)
{
	int rc = 0;

	if (!text)
		return -ENOMEM;
	b->dirty = b->urgent = false;
	if (b->written && strcmp(b->written, text) == 0) {
		free(text);
		return 0;
	}
	rc = persist_write(path, text);
	if (rc) {
		free(text);
		b->dirty = true; /* tried again at the next flush */
		return rc;
	}
	free(b->written);
	b->written = text;
	b->written_ms = now_ms;
	return 1;
}

void persist_batch_free(struct persist_batch *b)
{
	free(b->written);
	*b = (struct persist_batch){ 0 };
}

static int item_from_json(json_t *o, struct persisted *p)
{
	json_int_t pid, start, base, last_rss, last_ms, captures;
	int requested;
	const char *baseline_id;

	if (json_unpack(o, "{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "pid", &pid, "start_time", &start,
			"baseline_rss", &base, "last_capture_rss", &last_rss, "last_capture_ms", &last_ms,
			"captures", &captures, "baseline_requested", &requested, "baseline_id",
			&baseline_id) != 0)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->pid = (pid_t)pid;
	p->start_time = (uint64_t)start;
	p->trig.rss_first_seen = (uint64_t)base;
	p->trig.last_capture_rss = (uint64_t)last_rss;
	p->trig.last_capture_ms = (int64_t)last_ms;
	p->trig.captures = (unsigned)captures;
	p->trig.baseline_requested = requested;
	snprintf(p->baseline_id, sizeof(p->baseline_id), "%s", baseline_id);
	/* absent in a state file written before the capture offset existed: 0 */
	json_int_t offset = json_integer_value(json_object_get(o, "capture_offset"));
	json_int_t base_app = json_integer_value(json_object_get(o, "baseline_app_rss"));
	p->trig.capture_offset = offset > 0 ? (uint64_t)offset : 0;
	p->trig.baseline_app_rss = base_app > 0 ? (uint64_t)base_app : 0;
	return 0;
}

int persist_load(const char *path, struct persisted **items, size_t *n)
{
	json_error_t jerr;
	json_t *arr = json_load_file(path, 0, &jerr);

	*items = NULL;
	*n = 0;
	if (!arr)
		return access(path, F_OK) == 0 ? -EINVAL : 0;
	if (!json_is_array(arr)) {
		json_decref(arr);
		return -EINVAL;
	}
	size_t count = json_array_size(arr);
	*items = calloc(count ? count : 1, sizeof(**items));
	if (!*items) {
		json_decref(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		if (item_from_json(json_array_get(arr, i), &(*items)[*n]) == 0)
			(*n)++;
	json_decref(arr);
	return 0;
}
