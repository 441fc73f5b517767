/* Trigger policy: pure functions of (config, per-process state, RSS, time).
 * No I/O, so every rule is unit-tested without root.
 *
 * The kernel side only answers "wake me when this process's RSS reaches X";
 * trigger_arm_level() picks X, trigger_evaluate() decides what a wake-up means. */
#ifndef HS_TRIGGER_H
#define HS_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define TRIGGER_NEVER UINT64_MAX

struct trigger_proc {
	uint64_t baseline_rss;       /* RSS when the agent first saw the process */
	uint64_t last_capture_rss;   /* RSS at the last capture decision (0 = none) */
	int64_t last_capture_ms;     /* monotonic ms of the last capture decision (0 = none) */
	unsigned captures;           /* capture decisions so far */
	bool baseline_requested;     /* a baseline snapshot was asked for */
};

struct trigger_decision {
	bool fire;                   /* capture now */
	bool baseline;               /* take a baseline snapshot (not an incident) */
	const char *reason;          /* "rss" | "growth" | "baseline" */
	uint64_t threshold_bytes;    /* the level that was crossed */
	int64_t retry_at_ms;         /* held back by cooldown: evaluate again then (0 = no) */
	const char *held_back;       /* why not fired ("cooldown", "max_per_process"), or NULL */
};

void trigger_init(struct trigger_proc *t, uint64_t rss_now);

/* RSS at which the kernel should wake us next, TRIGGER_NEVER for none. */
uint64_t trigger_arm_level(const struct config *cfg, const struct trigger_proc *t, int64_t now_ms);

/* Called on a wake-up (or a retry timer) with the current RSS. */
void trigger_evaluate(const struct config *cfg, struct trigger_proc *t, uint64_t rss, int64_t now_ms,
		      struct trigger_decision *out);

/* An incident found by another detector (the leak heuristic, the predictive
 * trigger): the same holds (max_per_process, cooldown) and bookkeeping as a
 * threshold crossing. */
void trigger_incident(const struct config *cfg, struct trigger_proc *t, const char *reason,
		      uint64_t rss, uint64_t threshold, int64_t now_ms, struct trigger_decision *out);

#endif
