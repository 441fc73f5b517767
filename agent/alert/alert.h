// SPDX-License-Identifier: Apache-2.0
/* Alerts: every event is one JSON line on stdout ({"event":..., "pid":..., "reason":...,
 * numbers}) and, with [alert] exec, one run of /bin/sh -c CMD with HEAPSNAP_*
 * variables (HEAPSNAP_EVENT, HEAPSNAP_PID, HEAPSNAP_REASON, HEAPSNAP_RSS,
 * HEAPSNAP_SNAPSHOT_ID, HEAPSNAP_SNAPSHOT_PATH, HEAPSNAP_JSON). The command never
 * blocks the agent: it is spawned, and killed after exec_timeout_s. Events:
 * trigger, capture_start, capture_done, capture_failed, capture_refused. */
#ifndef HS_ALERT_H
#define HS_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "alert/event.h"
#include "base/config.h"
#include "base/identity.h"
#include "decide/trigger.h"

struct alerter;

/* What a sink learns about a watched process (labels for alerts). */
struct alert_proc {
	pid_t pid;
	char app[IDENTITY_LEN];                        /* identity_app */
	char container[IDENTITY_CONTAINER_SHORT + 1]; /* identity_container_short */
};

/* A downstream consumer of the events (metrics, Alertmanager, webhook). Called with
 * the alerter's lock held, from whatever thread emitted: must not block. */
struct alert_sink {
	void (*event)(void *ctx, const json_t *ev, const char *line);
	/* gone = false: the agent watches p; true: p exited (or is no longer watched). */
	void (*process)(void *ctx, const struct alert_proc *p, bool gone);
	/* A condition of pid that raised an alert is over (TRIGGER_LEAK: the heap floor
	 * no longer rises). */
	void (*ended)(void *ctx, pid_t pid, enum trigger_reason condition);
	void *ctx;
};
#define ALERT_MAX_SINKS 4

struct alerter *alerter_new(const struct config *cfg);
/* Kills and reaps children still running. Accepts NULL. */
void alerter_free(struct alerter *a);

/* An event (event.h), serialized by event_json, to stdout, [alert] exec and every
 * sink. Thread-safe. */
void alert_emit_event(struct alerter *a, const struct event *e);
/* The same for an event already serialized: a JSON object with at least "event",
 * "pid", "reason". "time" (ISO 8601 UTC) and "host" are added. Takes ownership of ev. */
void alert_emit(struct alerter *a, json_t *ev);

/* Add a sink (before any event). 0, or -ENOSPC. */
int alerter_add_sink(struct alerter *a, const struct alert_sink *s);
/* A watched process appeared or went: told to every sink. */
void alert_process(struct alerter *a, const struct alert_proc *p, bool gone);

/* Tell every sink that condition (TRIGGER_LEAK) of pid ended. */
void alert_condition_ended(struct alerter *a, pid_t pid, enum trigger_reason condition);

/* Reap finished commands, kill overdue ones. Call at least once a second. */
void alert_tick(struct alerter *a);

#endif
