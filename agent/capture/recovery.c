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
#include "base/ns.h"
#include "base/strtab.h"
#include "capture/capture.h"
#include "capture/capture_route.h"
#include "capture/inspector_session.h"
#include "capture/late_sweep.h"

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

/* ---- the capture's side ------------------------------------------------------- */

void recovery_journal_begin(const char *state_file, const struct capture_job *job, enum route method)
{
	struct capture_journal j = {
		.pid = job->pid, .start_time = job->start_time, .method = method, .rss_bytes = job->rss_bytes,
		.threshold_bytes = job->threshold_bytes, .triggered_wall_ms = job->triggered_wall_ms,
		.started_wall_ms = job->resume_after_ms ? job->resume_after_ms : wall_ms(),
		.baseline = job->baseline,
	};

	if (!state_file[0])
		return;
	snprintf(j.reason, sizeof(j.reason), "%s", trigger_reason_name(job->reason));
	if (journal_write(state_file, &j) != 0)
		log_warn("pid %d: cannot journal the capture next to %s", job->pid, state_file);
}

void recovery_journal_end(const char *state_file, pid_t pid)
{
	if (state_file[0])
		journal_remove(state_file, pid);
}

/* ---- the next run ----------------------------------------------------------------- */

void recovery_resume_interrupted(const char *state_file, void (*submit)(void *arg, struct capture_job *job),
				 void *arg)
{
	struct capture_journal *journals;
	size_t n;

	if (!state_file[0] || journal_take_all(state_file, &journals, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct capture_journal *j = &journals[i];
		struct capture_job job = {
			.pid = j->pid, .start_time = j->start_time, .rss_bytes = j->rss_bytes,
			.threshold_bytes = j->threshold_bytes, .triggered_wall_ms = j->triggered_wall_ms,
			.triggered_mono_ms = mono_ms(), .baseline = j->baseline,
			.resume_after_ms = j->started_wall_ms, .resume_method = j->method,
		};
		/* The agent writes only valid names; a damaged one still resumes the capture. */
		if (trigger_reason_parse(j->reason, &job.reason) != 0)
			job.reason = job.baseline ? TRIGGER_BASELINE : TRIGGER_RSS;
		submit(arg, &job);
	}
	free(journals);
}

static int discard_bytes(void *ctx, const void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return 0;
}

/* The inspector the previous run opened with SIGUSR1 and could not close: close it
 * if it still listens and the process was not started with --inspect. 1 closed, 0
 * nothing to close, a negative errno with ctx->err. */
static int close_leftover(struct capture_ctx *ctx)
{
	struct session s = { .ctx = ctx, .pid = ctx->proc->pid, .pidfd = -1, .port = inspector_port(ctx->proc) };
	int rc = 0;

	ctx->err[0] = '\0';
	if (ctx->proc->opts.inspect)
		return 0; /* started with --inspect: the inspector is the operator's */
	if (ctx->proc->opts.inspect_port_random)
		return capture_fail(ctx, -EOPNOTSUPP, "the inspector the previous run opened is on a random port "
			    "(--inspect-port=0): it cannot be told from the app's own listeners, so it may still be open");
	s.l = inspector_find_listener(s.pid, s.port);
	if (!s.l.found || !s.l.owned)
		return 0;
	s.pidfd = procs_pidfd_open(s.pid, ctx->proc->start_time);
	if (s.pidfd < 0)
		return 0; /* gone */
	s.other_ns = ns_net_differs(s.pid) == 1;
	if (session_arm_guard(&s) < 0)
		log_warn("pid %d: closing the inspector left open without a connect guard: %s", (int)s.pid, ctx->err);
	ctx->err[0] = '\0';
	s.opened_by_us = s.seen_open = true;
	s.dec = cdp_decoder_new(0, discard_bytes, session_on_message, &s);
	if (!s.dec)
		rc = capture_fail(ctx, -ENOMEM, "out of memory");
	else if (session_close_inspector(&s))
		rc = 1;
	else
		rc = capture_fail(ctx, -ETIMEDOUT, "the inspector on port %d could not be confirmed closed (%s)", s.port,
				  s.close_unconfirmed ? "its event loop did not turn" : "it still listens");
	ctx->inspector_left_open = rc < 0;
	if (rc < 0)
		session_keep_guard(&s);
	else
		session_disarm_guard(&s);
	cdp_decoder_free(s.dec);
	close(s.pidfd);
	return rc;
}

int recovery_close_inspector(struct capture_ctx *ctx, pid_t pid, char *err, size_t errlen)
{
	int rc = close_leftover(ctx);

	if (rc == 1)
		log_info("pid %d: closed the inspector the previous run opened and left open", pid);
	else if (rc < 0)
		log_warn("pid %d: inspector left open by the previous run: %s", pid, ctx->err);
	snprintf(err, errlen, "interrupted inspector capture not resumed");
	return -ECANCELED;
}

int recovery_adopt_snapshot(int dir_fd, pid_t ns_pid, int64_t resume_after_ms, char *name, size_t namelen,
			    int (*remember_old)(void *arg, const char *name), void *arg)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	time_t newest = 0;
	struct dirent *e;
	int rc = 0;

	name[0] = '\0';
	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;
		if (!heap_snapshot_name_matches(e->d_name, ns_pid) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((int64_t)st.st_mtime * 1000 < resume_after_ms - 1000) {
			rc = remember_old(arg, e->d_name);
			continue;
		}
		if (st.st_mtime < newest)
			continue;
		newest = st.st_mtime;
		snprintf(name, namelen, "%s", e->d_name);
	}
	closedir(d);
	if (rc < 0)
		return rc;
	return name[0] ? 0 : 1;
}
