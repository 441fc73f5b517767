// SPDX-License-Identifier: Apache-2.0
/* Crash recovery of captures: what a run of the agent killed in the middle of a
 * capture leaves behind, and how the next run finishes it. This module owns the
 * capture journals, the resume jobs made from them, the adoption of a snapshot Node
 * went on writing, and the closing of an inspector left open.
 *
 * One capture's journal, <state_file>.capture.PID (JSON: method, reason, times), goes
 * through these states:
 *
 *   (none) ──route starts──▶ JOURNALED            recovery_journal_begin
 *   JOURNALED ──route ends, ok or not──▶ (none)    recovery_journal_end
 *   JOURNALED ──signal unanswered──▶ UNANSWERED    journal_keep_unanswered (renamed
 *                                                  *.unanswered; the late sweep owns it)
 *   UNANSWERED ──Node answered or exited──▶ (none) journal_remove_unanswered (late_sweep.c)
 *   JOURNALED | UNANSWERED ──agent killed──▶ left on disk for the next run
 *
 * The next run, after its /proc scan (recovery_resume_interrupted): every journal is
 * taken (its file removed) and becomes a resume job, submitted if the process still
 * runs with the same start time and nothing of it is queued; otherwise GIVEN UP.
 *
 *   method signal:    RESUMING ──▶ ADOPTED: the signal route with resume_after_ms set
 *                     takes the newest matching snapshot file modified since the
 *                     capture began (recovery_adopt_snapshot), or waits for it as for
 *                     a new signal; stored like any capture.
 *                     RESUMING ──▶ GIVEN UP: no file within start_timeout_s (handed to
 *                     the late sweep: UNANSWERED again), the process exited, timeout.
 *   method inspector: CLOSING ──▶ INSPECTOR CLOSED: the inspector the killed run opened
 *                     is closed if it still listens and the process was not started
 *                     with --inspect (recovery_close_inspector); no snapshot is taken.
 *                     CLOSING ──▶ GIVEN UP: random port, or still listening.
 *
 * Journals on disk keep their strings ("signal", "inspector"); in memory the method
 * is an enum. */
#ifndef HS_RECOVERY_H
#define HS_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/route.h"

struct capture_job;
struct capture_ctx;

struct capture_journal {
	pid_t pid;
	uint64_t start_time;
	enum route method;             /* ROUTE_SIGNAL | ROUTE_INSPECTOR: the route that ran */
	char reason[32];
	uint64_t rss_bytes, threshold_bytes;
	int64_t triggered_wall_ms;
	int64_t started_wall_ms;
	bool baseline;
};

/* 0, or -errno. */
int journal_write(const char *state_file, const struct capture_journal *j);
void journal_remove(const char *state_file, pid_t pid);
/* The capture's signal went unanswered (late_sweep.h): its journal is kept, under a
 * name of its own, until Node has answered or exited, so that a next run of the agent
 * picks up a snapshot Node writes while the agent is down. 0, or -errno. */
int journal_keep_unanswered(const char *state_file, pid_t pid);
void journal_remove_unanswered(const char *state_file, pid_t pid);
/* Every journal left by a previous run (malloc'ed); the files are removed. 0, or -errno. */
int journal_take_all(const char *state_file, struct capture_journal **out, size_t *n);

/* The route `method` is about to run job: journal it (nothing without a state file;
 * a failure is logged). */
void recovery_journal_begin(const char *state_file, const struct capture_job *job, enum route method);
/* The route ended: its journal goes (an unanswered signal's was renamed already). */
void recovery_journal_end(const char *state_file, pid_t pid);

/* Every journal the previous run left, as a resume job (resume_method set, baseline_id
 * empty) handed to submit, which checks the process and queues it. */
void recovery_resume_interrupted(const char *state_file, void (*submit)(void *arg, struct capture_job *job),
				 void *arg);

/* A resumed inspector capture: close the inspector the previous run left open.
 * Always -ECANCELED (no snapshot comes of it), with err saying so. */
int recovery_close_inspector(struct capture_ctx *ctx, pid_t pid, char *err, size_t errlen);

/* A resumed signal capture: in dir_fd, the newest heap snapshot file of ns_pid
 * modified since resume_after_ms (wall) into name. Older matching names go to
 * remember_old (which returns -errno to stop). 0 adopted; 1 none yet; -errno. */
int recovery_adopt_snapshot(int dir_fd, pid_t ns_pid, int64_t resume_after_ms, char *name, size_t namelen,
			    int (*remember_old)(void *arg, const char *name), void *arg);

#endif
