// SPDX-License-Identifier: Apache-2.0
/* A capture job's journal while a route runs, and the next run's resume jobs made
 * from the journals (see recovery.h for the journal's state machine). */
#include "capture/resume.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/loop.h"
#include "capture/recovery.h"
#include "decide/trigger.h"

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
