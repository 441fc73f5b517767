#include "persist.h"

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
			 (json_int_t)p->trig.baseline_rss, "last_capture_rss",
			 (json_int_t)p->trig.last_capture_rss, "last_capture_ms",
			 (json_int_t)p->trig.last_capture_ms, "captures", (json_int_t)p->trig.captures,
			 "baseline_requested", p->trig.baseline_requested, "baseline_id", p->baseline_id,
			 "capture_offset", (json_int_t)p->trig.capture_offset, "baseline_app_rss",
			 (json_int_t)p->trig.baseline_app_rss);
}

int persist_save(const char *path, const struct persisted *items, size_t n)
{
	char tmp[PATH_MAX];
	json_t *arr = json_array();
	int rc = 0;

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, item_json(&items[i]));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		json_decref(arr);
		return -ENAMETOOLONG;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		json_decref(arr);
		return -errno;
	}
	if (json_dumpfd(arr, fd, JSON_COMPACT) != 0 || fsync(fd) != 0)
		rc = errno ? -errno : -EIO;
	close(fd);
	json_decref(arr);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
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
	p->trig.baseline_rss = (uint64_t)base;
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
