// SPDX-License-Identifier: Apache-2.0
/* Capture orchestration: a host-wide pool of max_concurrent worker threads takes
 * capture jobs from a bounded queue, picks the route (signal / inspector), streams
 * the snapshot into the store, commits or drops it, and emits capture_start /
 * capture_done / capture_failed / capture_refused alerts. The agent's loop learns
 * of finished jobs through capturer_fd() and capturer_take(). */
#ifndef HS_CAPTURE_H
#define HS_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "alert/alert.h"
#include "base/config.h"
#include "capture/job.h"
#include "decide/trigger.h"
#include "store/store.h"

struct capturer;
struct connect_guard;

/* cguard: the inspector route's connect guard (not owned; may be unavailable). */
struct capturer *capturer_new(const struct config *cfg, struct store *st, struct alerter *al,
			      struct connect_guard *cguard, char *err, size_t errlen);
/* Where the workers read a target's heap as its capture starts: the GC tracker's
 * proc_stats map (gc_tracker_stats_fd; -1, the default, = not measured). */
void capturer_set_heap_source(struct capturer *c, int gc_stats_fd);
/* Stop: running captures are cancelled (nothing half-written stays), queued jobs
 * dropped, threads joined. Accepts NULL. */
void capturer_free(struct capturer *c);

/* Queue a job. Incidents go ahead of queued baselines, drop a queued baseline of the
 * same process, and cancel a running baseline of the same process, or, when no worker
 * is free, any running baseline (its outcome has preempted set). 0, or -EBUSY when the queue is full. */
int capturer_submit(struct capturer *c, const struct capture_job *job);
/* Readable when outcomes wait. */
int capturer_fd(const struct capturer *c);
/* Pop one outcome: 1, or 0 when none. */
int capturer_take(struct capturer *c, struct capture_outcome *out);
/* Whether the last heap snapshot signal sent to the process is still unanswered (its
 * event loop blocked): the signal route is not used on it until then. *age_ms: since. */
bool capturer_signal_unanswered(struct capturer *c, pid_t pid, uint64_t start_time, int64_t *age_ms);
/* Whether a worker is capturing pid right now (not merely queued). */
bool capturer_is_running(struct capturer *c, pid_t pid);
/* Jobs queued or running. */
unsigned capturer_pending(struct capturer *c);

#endif
