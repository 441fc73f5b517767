// SPDX-License-Identifier: Apache-2.0
/* A capture job's journal while a route runs, and the next run's resume jobs made
 * from the journals the previous run left (recovery.h: the journal itself). */
#ifndef HS_RESUME_H
#define HS_RESUME_H

#include <sys/types.h>

#include "capture/job.h"

/* The route `method` is about to run job: journal it (nothing without a state file;
 * a failure is logged). */
void recovery_journal_begin(const char *state_file, const struct capture_job *job, enum route method);
/* The route ended: its journal goes (an unanswered signal's was renamed already). */
void recovery_journal_end(const char *state_file, pid_t pid);

/* Every journal the previous run left, as a resume job (resume_method set, baseline_id
 * empty) handed to submit, which checks the process and queues it. */
void recovery_resume_interrupted(const char *state_file, void (*submit)(void *arg, struct capture_job *job),
				 void *arg);

#endif
