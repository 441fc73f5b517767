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

/* ---- capture journal ------------------------------------------------------ */

#define JOURNAL_INFIX ".capture."

static int journal_path(const char *state_file, pid_t pid, char *out, size_t len)
{
	return snprintf(out, len, "%s" JOURNAL_INFIX "%d", state_file, (int)pid) >= (int)len ? -ENAMETOOLONG : 0;
}

int journal_write(const char *state_file, const struct capture_journal *j)
{
	char path[PATH_MAX];
	int rc = journal_path(state_file, j->pid, path, sizeof(path));
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "pid", (json_int_t)j->pid,
			      "start_time", (json_int_t)j->start_time, "method", j->method, "reason",
			      j->reason, "rss_bytes", (json_int_t)j->rss_bytes, "threshold_bytes",
			      (json_int_t)j->threshold_bytes, "triggered_wall_ms",
			      (json_int_t)j->triggered_wall_ms, "started_wall_ms",
			      (json_int_t)j->started_wall_ms, "baseline", j->baseline);

	if (rc == 0 && (!o || json_dump_file(o, path, JSON_COMPACT) != 0))
		rc = -EIO;
	json_decref(o);
	return rc;
}

void journal_remove(const char *state_file, pid_t pid)
{
	char path[PATH_MAX];

	if (journal_path(state_file, pid, path, sizeof(path)) == 0)
		unlink(path);
}

/* The journal of a capture whose signal went unanswered: the same name + this. */
static int unanswered_path(const char *state_file, pid_t pid, char *out, size_t len)
{
	return snprintf(out, len, "%s" JOURNAL_INFIX "%d.unanswered", state_file, (int)pid) >= (int)len ?
		       -ENAMETOOLONG : 0;
}

int journal_keep_unanswered(const char *state_file, pid_t pid)
{
	char from[PATH_MAX], to[PATH_MAX];
	int rc = journal_path(state_file, pid, from, sizeof(from));

	if (rc == 0)
		rc = unanswered_path(state_file, pid, to, sizeof(to));
	if (rc)
		return rc;
	return rename(from, to) < 0 ? -errno : 0;
}

void journal_remove_unanswered(const char *state_file, pid_t pid)
{
	char path[PATH_MAX];

	if (unanswered_path(state_file, pid, path, sizeof(path)) == 0)
		unlink(path);
}

static int journal_read(const char *path, struct capture_journal *j)
{
	json_t *o = json_load_file(path, 0, NULL);
	json_int_t pid, start, rss, threshold, triggered, started;
	const char *method, *reason;
	int baseline, rc = -EINVAL;

	if (o && json_unpack(o, "{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "pid", &pid, "start_time",
			     &start, "method", &method, "reason", &reason, "rss_bytes", &rss,
			     "threshold_bytes", &threshold, "triggered_wall_ms", &triggered,
			     "started_wall_ms", &started, "baseline", &baseline) == 0) {
		*j = (struct capture_journal){ .pid = (pid_t)pid, .start_time = (uint64_t)start,
					       .rss_bytes = (uint64_t)rss, .threshold_bytes = (uint64_t)threshold,
					       .triggered_wall_ms = triggered, .started_wall_ms = started,
					       .baseline = baseline };
		snprintf(j->method, sizeof(j->method), "%s", method);
		snprintf(j->reason, sizeof(j->reason), "%s", reason);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

int journal_take_all(const char *state_file, struct capture_journal **out, size_t *n)
{
	char dir[PATH_MAX], base[PATH_MAX], prefix[PATH_MAX + 16];
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	snprintf(dir, sizeof(dir), "%s", state_file);
	snprintf(base, sizeof(base), "%s", state_file);
	snprintf(prefix, sizeof(prefix), "%s" JOURNAL_INFIX, basename(base));
	const char *dname = dirname(dir);
	DIR *d = opendir(dname);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char path[PATH_MAX * 2];
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dname, e->d_name);
		if (*n == cap) {
			struct capture_journal *grown = realloc(*out, (cap ? cap * 2 : 8) * sizeof(**out));
			if (!grown)
				break;
			*out = grown;
			cap = cap ? cap * 2 : 8;
		}
		if (journal_read(path, &(*out)[*n]) == 0)
			(*n)++;
		unlink(path);
	}
	closedir(d);
	return 0;
}
