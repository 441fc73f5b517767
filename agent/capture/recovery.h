// SPDX-License-Identifier: Apache-2.0
/* Crash recovery of captures: what a run of the agent killed in the middle of a
 * capture leaves behind, and how the next run finishes it. This file owns the
 * capture journals; the resume jobs made from them are resume.h's, the adoption of a
 * snapshot Node went on writing is the signal route's (signal/signal_adopt.c), the
 * closing of an inspector left open the inspector route's (inspector/inspector_leftover.c).
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

#endif
