// SPDX-License-Identifier: Apache-2.0
/* Metrics: what the agent counts and sees, kept for the Prometheus endpoint.
 *
 * Writers: the alert fan-out (every event: triggers, captures and their durations),
 * the sender (alerts sent / failed / dropped per sink) and the agent's loop, which
 * publishes the per-process gauges and its heartbeat once a tick, and the store totals
 * every STORE_METRICS_EVERY_TICKS ticks (heapsnapd.c) and after each capture.
 * Reader: the HTTP thread, which renders the text format. Everything sits behind one
 * mutex held only for copies and the rendering (no I/O under it), so neither side can
 * block the other for long. Exporters read; nothing here calls back upstream. */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/identity.h"

enum metrics_sink { SINK_ALERTMANAGER = 0, SINK_WEBHOOK = 1, SINK_COUNT };

/* One watched process as the loop publishes it. */
struct metrics_proc {
	pid_t pid;
	char app[IDENTITY_LEN];        /* identity_app */
	char container[IDENTITY_CONTAINER_SHORT + 1]; /* identity_container_short, "" when none */
	uint64_t rss_bytes;
	uint64_t heap_used_bytes;      /* after the last major GC, 0 = unknown */
	uint64_t gc_minor, gc_major;
	bool gc_known;                 /* GC probes attached */
};

struct metrics;

/* max_procs: per-process series at most (the largest RSS first); the rest are
 * summed into the heapsnap_omitted_processes_* gauges. */
struct metrics *metrics_new(unsigned max_procs);
void metrics_free(struct metrics *m);

/* An alert event (the JSON of the stdout line): counts triggers and captures. */
void metrics_observe_event(struct metrics *m, const json_t *ev);
void metrics_sink_result(struct metrics *m, enum metrics_sink s, bool ok);
void metrics_sink_dropped(struct metrics *m, enum metrics_sink s);
void metrics_set_queue_length(struct metrics *m, unsigned n);

/* From the loop: replaces the process table (copied). */
int metrics_publish_procs(struct metrics *m, const struct metrics_proc *p, size_t n);
void metrics_publish_store(struct metrics *m, uint64_t snapshots, uint64_t bytes);
void metrics_heartbeat(struct metrics *m, int64_t mono_ms);
void metrics_set_ready(struct metrics *m, bool ready);

/* Health: the loop's last heartbeat is at most max_age_ms old. Ready: metrics_set_ready(m, true). */
bool metrics_healthy(struct metrics *m, int64_t now_mono_ms, int64_t max_age_ms);
bool metrics_ready(struct metrics *m);

/* Prometheus text format 0.0.4 (malloc'ed, NUL-terminated). 0, or -ENOMEM. */
int metrics_render(struct metrics *m, char **out, size_t *len);

#endif
