// SPDX-License-Identifier: Apache-2.0
/* An incident's leak report, made on the report thread (see incident_report.h). */
#include "capture/incident_report.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "capture/events.h"
#include "snapshot/heapprofile.h"
#include "snapshot/report.h"

/* The snapshot to diff an incident against: its baseline's path, or "" for a
 * report from the incident snapshot alone (no usable baseline, or it is gone). */
static void report_base(struct capturer *c, const struct capture_job *job, char *path, size_t len)
{
	struct snapshot_meta base;

	path[0] = '\0';
	if (!job->baseline_id[0])
		return;
	if (store_get(c->store, job->baseline_id, &base) != 0) {
		log_warn("pid %d: baseline snapshot %s is gone: the report comes from the incident snapshot alone",
			 job->pid, job->baseline_id);
		return;
	}
	store_blob_path(c->store, base.id, path, len);
	store_meta_free(&base);
}

/* The snapshot's extra members (its report) in its metadata. */
static void set_extra(struct capturer *c, const struct capture_job *job, const char *id, const json_t *extra)
{
	char *text = extra ? json_dumps(extra, JSON_COMPACT) : NULL;
	pthread_mutex_lock(&c->store_lock);
	if (!text || store_set_extra(c->store, id, text) != 0)
		log_warn("pid %d: cannot save the leak report of %s", job->pid, id);
	pthread_mutex_unlock(&c->store_lock);
	free(text);
}

/* Until its report is made, show --json says "report": "pending" rather than nothing;
 * failed (with why) when none will be. */
static void mark_pending(struct capturer *c, const struct capture_job *job, const char *id, const char *failed)
{
	json_t *pending = failed ? json_pack("{s:s, s:s}", "report", "failed", "report_error", failed)
				 : json_pack("{s:s}", "report", "pending");
	set_extra(c, job, id, pending);
	json_decref(pending);
}

/* No report for a snapshot above [report] max_mb: said in its metadata ("report":
 * "skipped", "report_error": why) and the log, instead of a parse whose memory grows
 * with it. */
static void skip_report(struct capturer *c, const struct capture_job *job, const char *id, const char *why,
			uint64_t max)
{
	json_t *extra = json_pack("{s:s, s:s, s:I}", "report", "skipped", "report_error", why, "report_max_bytes",
				  (json_int_t)max);

	log_warn("pid %d: no leak report for %s: %s", job->pid, id, why);
	set_extra(c, job, id, extra);
	json_decref(extra);
}

/* The incident's own size (decompressed, as the agent counted it while storing) is
 * known before any parse: true (and the report skipped) when above max. */
static bool report_too_large(struct capturer *c, const struct capture_job *job, const char *id, uint64_t max)
{
	struct snapshot_meta m;
	char why[160];
	uint64_t raw;

	if (store_get(c->store, id, &m) != 0)
		return false;
	raw = m.raw_bytes;
	store_meta_free(&m);
	if (raw <= max)
		return false;
	snprintf(why, sizeof(why), "snapshot %llu MiB > report.max_mb %llu", (unsigned long long)(raw >> 20),
		 (unsigned long long)(max >> 20));
	skip_report(c, job, id, why, max);
	return true;
}

/* The allocation stacks of the incident's ID.heapprofile into the report (stacks,
 * top_stack), or why it has none (profile_error). */
static void attach_stacks(struct capturer *c, const char *id, json_t *report, const char *profile_error)
{
	char *text = NULL, err[256];
	json_t *stacks = NULL;
	if (profile_error[0]) {
		json_object_set_new(report, "profile_error", json_string(profile_error));
		return;
	}
	if (store_side_read(c->store, id, ".heapprofile", &text) < 0) {
		json_object_set_new(report, "profile_error", json_string("the stored profile cannot be read"));
		return;
	}
	stacks = hs_heapprofile_stacks(text, HS_STACKS_TOP, err, sizeof(err));
	free(text);
	if (!stacks) {
		json_object_set_new(report, "profile_error", json_string(err));
		return;
	}
	if (!json_array_size(stacks))
		json_object_set_new(report, "profile_error",
				    json_string("the profile holds no live sampled allocation: what grew is outside "
						"the JS heap V8 samples (Buffer and ArrayBuffer backing stores), or "
						"grew by less than a few sampling intervals (profile_interval_kb)"));
	const char *top = json_string_value(json_object_get(json_array_get(stacks, 0), "text"));
	if (top)
		json_object_set_new(report, "top_stack", json_string(top));
	json_object_set_new(report, "stacks", stacks);
}

/* The leak report of an incident: a diff against the process's baseline (basis
 * "diff"), or the incident snapshot's own classes (basis "summary"). Stored in its
 * metadata (top_growth, retainer_path, basis); returns the brief for the alert line
 * (NULL when there is none). Runs here, off the agent's loop: it parses the
 * snapshots (seconds and ~1.5x the snapshot size in memory for large ones). */
static json_t *attach_report(struct capturer *c, const struct capture_job *job, const char *id,
			     const char *path, const char *profile_error)
{
	char base_path[PATH_MAX], err[512];
	uint64_t max = config_report_max_bytes(c->cfg);
	json_t *report = NULL;

	report_base(c, job, base_path, sizeof(base_path));
	if (report_too_large(c, job, id, max))
		return NULL;
	int rc = hs_report_build_max(base_path[0] ? base_path : NULL, path, max, &report, err, sizeof(err));
	if (rc == -EFBIG) {
		char why[600];

		snprintf(why, sizeof(why), "%s (report.max_mb %llu)", err, (unsigned long long)(max >> 20));
		skip_report(c, job, id, why, max);
		return NULL;
	}
	if (rc < 0) {
		log_warn("pid %d: leak report failed: %s", job->pid, err);
		report = json_pack("{s:s, s:s}", "report", "failed", "report_error", err);
		set_extra(c, job, id, report);
		json_decref(report);
		return NULL;
	}
	json_object_set_new(report, "report", json_string("done"));
	attach_stacks(c, id, report, profile_error);
	if (base_path[0])
		json_object_set_new(report, "baseline_id", json_string(job->baseline_id));
	set_extra(c, job, id, report);
	json_t *brief = hs_report_brief(report, 3);
	json_decref(report);
	return brief;
}

/* The next report to make (report_queue.h), or -1; under c->lock. */
static int report_next(struct capturer *c)
{
	uint64_t raw[QUEUE_MAX];

	for (unsigned i = 0; i < c->r_len; i++)
		raw[i] = c->reports[i].raw_bytes;
	return report_queue_next(raw, c->r_len, c->r_busy, c->r_busy_bytes, config_report_max_bytes(c->cfg));
}

/* The report threads: an incident's leak report takes seconds on a large snapshot, so
 * it is made here, not in the capture slot (the next incident must not wait for it);
 * capture_done, which carries the report's brief, follows it. Two threads, so a
 * small incident's report does not wait behind a large one (report_next). */
void *report_main(void *arg)
{
	struct capturer *c = arg;
	int i;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while ((i = report_next(c)) < 0 && !(c->stopping && c->r_len == 0))
			pthread_cond_wait(&c->report_wake, &c->lock);
		if (i < 0)
			break;
		struct done_info d = c->reports[i];
		memmove(&c->reports[i], &c->reports[i + 1], (c->r_len - (unsigned)i - 1) * sizeof(*c->reports));
		c->r_len--;
		c->r_busy++;
		c->r_busy_bytes += d.raw_bytes;
		bool stopping = c->stopping;
		pthread_mutex_unlock(&c->lock);
		json_t *brief = NULL;
		if (stopping) {
			log_info("pid %d: leak report of %s skipped: the agent is stopping", d.job.pid, d.id);
			mark_pending(c, &d.job, d.id, "skipped: the agent was stopping");
		}
		else
			brief = attach_report(c, &d.job, d.id, d.path, d.profile_error);
		emit_done(c, &d, brief);
		pthread_mutex_lock(&c->lock);
		c->r_busy--;
		c->r_busy_bytes -= d.raw_bytes;
		pthread_cond_broadcast(&c->report_wake);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* A stored snapshot: the capture_done alert (after its report, for an incident) and
 * the outcome. */
int finish_done(struct capturer *c, const struct capture_job *job, struct snapshot_meta *meta,
		struct capture_outcome *out, const char *profile_error)
{
	struct done_info d = { .job = *job, .raw_bytes = meta->raw_bytes, .size_bytes = meta->size_bytes,
			       .capture_ms = meta->capture_ms, .inspector_opened = meta->inspector_opened,
			       .inspector_window_ms = meta->inspector_window_ms };
	snprintf(d.id, sizeof(d.id), "%s", meta->id);
	snprintf(d.method, sizeof(d.method), "%s", meta->method);
	snprintf(d.profile_error, sizeof(d.profile_error), "%s", profile_error);
	store_blob_path(c->store, meta->id, d.path, sizeof(d.path));
	snprintf(out->snapshot_id, sizeof(out->snapshot_id), "%s", meta->id);
	store_meta_free(meta);
	bool queued = false;
	if (!job->baseline) {
		mark_pending(c, job, d.id, NULL);
		pthread_mutex_lock(&c->lock);
		if (c->r_len < QUEUE_MAX) {
			c->reports[c->r_len] = d;
			c->r_len++;
			queued = true;
			pthread_cond_broadcast(&c->report_wake);
		}
		pthread_mutex_unlock(&c->lock);
		if (!queued) {
			log_warn("pid %d: %d leak reports waiting: %s stored without one", job->pid, QUEUE_MAX, d.id);
			mark_pending(c, job, d.id, "too many leak reports waiting");
		}
	}
	if (!queued)
		emit_done(c, &d, NULL);
	return 0;
}
