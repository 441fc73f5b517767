// SPDX-License-Identifier: Apache-2.0
/* The capture pool's state, shared by its files (capture.c the pool, run.c one job's
 * capture, admit.c the memory guard's admission, incident_report.c the report
 * thread, events.c the alert events). Not for use outside capture/. */
#ifndef HS_CAPTURER_H
#define HS_CAPTURER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alert/alert.h"
#include "base/config.h"
#include "base/wait.h"
#include "capture/job.h"
#include "capture/report_queue.h"
#include "store/store.h"

#define QUEUE_MAX 64
#define MAX_WORKERS 64 /* config.c: max_concurrent is at most 64 */

struct capturer;

/* One capture thread and the job it runs. A running baseline is cancelled (its
 * cancel set, preempted_by naming the incident) when an incident would otherwise
 * wait for its slot: incidents never wait behind baselines. */
struct worker {
	struct capturer *c;
	pthread_t thread;
	struct cancel_token cancel;    /* fired by capturer_free and preempt_baseline */
	bool busy;
	struct capture_job job;
	pid_t preempted_by;            /* 0, or the pid whose incident took the slot */
	uint64_t reserved;             /* the guard's estimate for its running capture */
};

struct capturer {
	const struct config *cfg;
	struct store *store;
	struct alerter *alerts;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t store_lock;    /* begin/commit pick ids and evict: one at a time */
	struct capture_job queue[QUEUE_MAX];
	unsigned q_head, q_len;
	struct capture_outcome *done;  /* ring of finished jobs, grown so none is ever lost */
	unsigned d_head, d_len, d_cap;
	pthread_cond_t taken;          /* the loop took an outcome (a worker waits for room) */
	unsigned running;
	uint64_t reserved;             /* sum of the running captures' guard estimates */
	bool stopping;
	int event_fd;
	struct worker workers[MAX_WORKERS];
	unsigned nthreads;
	struct done_info *reports;     /* incidents waiting for their leak report, oldest first */
	unsigned r_len;
	unsigned r_busy;               /* reports being made */
	uint64_t r_busy_bytes;         /* the raw size of their incident snapshots */
	pthread_cond_t report_wake;
	pthread_t report_threads[REPORT_THREADS];
	unsigned report_started;
	struct late_sweep *late;       /* signals whose snapshot may still come */
	struct connect_guard *cguard;  /* the inspector's connect guard (not owned) */
	int gc_stats_fd;               /* the GC tracker's per-process map, -1 = none */
};

/* What capture_done tells of a stored snapshot. */
struct done_info {
	struct capture_job job;
	char id[SNAPSHOT_ID_LEN], method[16], path[PATH_MAX];
	uint64_t raw_bytes, size_bytes, capture_ms;
	bool inspector_opened;         /* the agent opened the inspector: how long it was open */
	int64_t inspector_window_ms;
	char profile_error[256];       /* why the incident has no allocation stacks ("" = it has) */
};

#endif
