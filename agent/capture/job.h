// SPDX-License-Identifier: Apache-2.0
/* One capture job: what the trigger saw, what the worker adds as it starts, and, for
 * a job resumed after a killed run, which route to finish (recovery.h); and its
 * outcome. The pool (capture.h, capturer.h), the journal (resume.h) and the agent
 * share them. */
#ifndef HS_CAPTURE_JOB_H
#define HS_CAPTURE_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/recovery.h"
#include "decide/trigger.h"
#include "store/store.h"

struct capture_job {
	pid_t pid;
	uint64_t start_time;           /* identity of the process the trigger saw */
	enum trigger_reason reason;
	uint64_t rss_bytes;            /* RSS at the trigger */
	uint64_t threshold_bytes;      /* level crossed */
	uint64_t heap_used_bytes;      /* post-GC heap used if known (0 = unknown) */
	uint64_t heap_at_trigger_bytes; /* V8 heap after its newest GC (any kind) at the trigger, 0 = unknown */
	int64_t triggered_wall_ms;
	int64_t triggered_mono_ms;
	bool baseline;                 /* a baseline for later reports, not an incident */
	bool profile_only;             /* no snapshot: only start the sampling profiler in the
	                                  process (its baseline skipped); yields like a baseline */
	char baseline_id[SNAPSHOT_ID_LEN]; /* diff the capture against this snapshot ("" = none) */
	enum route resume_method;      /* ROUTE_NONE normally; else finish what an agent
	                                  killed mid-capture left (recovery.h) */
	int64_t resume_after_ms;       /* wall time that capture started */
	/* Set by the worker as the capture starts (0 before): */
	uint64_t rss_at_start_bytes;   /* the target's RSS as the first route started */
	uint64_t heap_at_start_bytes;  /* V8 heap after its last GC (any kind) then, 0 = unknown */
	int64_t wait_ms;               /* trigger -> that start */
	int64_t memory_wait_ms;        /* of it, waiting for running captures' memory */
};

/* What became of a job, for the agent's loop (capturer_take). */
struct capture_outcome {
	pid_t pid;
	uint64_t start_time;
	bool ok;
	bool baseline;
	bool profile_only;             /* a profiler-only job: ok = the profiler runs */
	bool refused;
	bool preempted;                /* a baseline cancelled for another process's incident */
	bool started;                  /* a route ran: the target paid for a snapshot */
	uint64_t rss_at_start;         /* the target's RSS just before the first route */
	uint64_t heap_at_start;        /* its V8 heap after the last GC then (0 = unknown) */
	int64_t started_mono_ms;
	char snapshot_id[SNAPSHOT_ID_LEN];
	char err[512];
};

#endif
