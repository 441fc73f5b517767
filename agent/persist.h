/* What the agent must remember across its own restarts (a crash, an upgrade): per
 * watched process, identified by pid and start time, the trigger state (baseline
 * RSS, captures, last capture) and the baseline snapshot for the leak report. Kept
 * in a small JSON file, replaced atomically whenever it changes. */
#ifndef HS_PERSIST_H
#define HS_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trigger.h"

struct persisted {
	pid_t pid;
	uint64_t start_time;
	struct trigger_proc trig;
	char baseline_id[64];
};

/* 0, or -errno. */
int persist_save(const char *path, const struct persisted *items, size_t n);
/* 0 (a missing file is an empty list), or -errno / -EINVAL for a damaged file.
 * *items is malloc'ed. */
int persist_load(const char *path, struct persisted **items, size_t *n);

/* A capture in flight, journaled while its route runs (<state_file>.capture.PID) so
 * that a run of the agent killed in the middle leaves its successor enough to pick
 * the snapshot up (signal route) or close the inspector it opened. */
struct capture_journal {
	pid_t pid;
	uint64_t start_time;
	char method[16];               /* "signal" | "inspector" */
	char reason[32];
	uint64_t rss_bytes, threshold_bytes;
	int64_t triggered_wall_ms;
	int64_t started_wall_ms;
	bool baseline;
};

int journal_write(const char *state_file, const struct capture_journal *j);
void journal_remove(const char *state_file, pid_t pid);
/* The capture's signal went unanswered (late_sweep.h): its journal is kept, under a
 * name of its own, until Node has answered or exited, so that a next run of the agent
 * picks up a snapshot Node writes while the agent is down. */
int journal_keep_unanswered(const char *state_file, pid_t pid);
void journal_remove_unanswered(const char *state_file, pid_t pid);
/* Every journal left by a previous run (malloc'ed); the files are removed. */
int journal_take_all(const char *state_file, struct capture_journal **out, size_t *n);

#endif
