// SPDX-License-Identifier: Apache-2.0
/* What the agent must remember across its own restarts (a crash, an upgrade): per
 * watched process, identified by pid and start time, the trigger state (baseline
 * RSS, captures, last capture) and the baseline snapshot for the leak report. Kept
 * in a small JSON file, replaced atomically (batched: see struct persist_batch). */
#ifndef HS_PERSIST_H
#define HS_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decide/trigger.h"
#include "store/store.h"

struct persisted {
	pid_t pid;
	uint64_t start_time;
	struct trigger_proc trig;
	char baseline_id[SNAPSHOT_ID_LEN];
};

/* The items as the file's text (malloc'ed), or NULL when out of memory. */
char *persist_dump(const struct persisted *items, size_t n);
/* Replace the file at path by text atomically (temp file, fsync, rename). 0, or -errno. */
int persist_write(const char *path, const char *text);
/* persist_dump + persist_write. 0, or -errno. */
int persist_save(const char *path, const struct persisted *items, size_t n);

/* Saving off the hot path: a change marks the state dirty and it is written at most
 * every PERSIST_BATCH_MS (from a timer), at once when the change must survive a crash
 * (urgent: a capture's start and outcome), and never when the text is what the file
 * already holds. An exec or exit of a short-lived process costs no write. */
#define PERSIST_BATCH_MS 5000
struct persist_batch {
	bool dirty;
	bool urgent;
	char *written;                 /* the text last written (NULL: none yet) */
	int64_t written_ms;            /* monotonic, when */
};

void persist_batch_changed(struct persist_batch *b, bool urgent);
/* Whether the state should be written now. */
bool persist_batch_due(const struct persist_batch *b, int64_t now_ms);
/* Write text (persist_dump's, taken over: freed or kept) unless the file holds it
 * already. 1 written, 0 nothing to write, or -errno (still dirty: tried again). */
int persist_batch_write(struct persist_batch *b, const char *path, char *text, int64_t now_ms);
void persist_batch_free(struct persist_batch *b);
/* 0 (a missing file is an empty list), or -errno / -EINVAL for a damaged file.
 * *items is malloc'ed. */
int persist_load(const char *path, struct persisted **items, size_t *n);

#endif
