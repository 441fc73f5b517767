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

#endif
