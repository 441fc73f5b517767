// SPDX-License-Identifier: Apache-2.0
/* Crash recovery of captures (see recovery.h for the journal's state machine). */
#include "capture/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/strtab.h"

/* ---- journals ---------------------------------------------------------------- */

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
			      "start_time", (json_int_t)j->start_time, "method", route_name(j->method), "reason",
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
		snprintf(j->reason, sizeof(j->reason), "%s", reason);
		rc = route_from_name(method, &j->method);
		if (rc == 0 && j->method == ROUTE_NONE)
			rc = -EINVAL;
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
