/* Alerts: every event is one JSON line on stdout ({"event":..., "pid":..., "reason":...,
 * numbers}) and, with [alert] exec, one run of /bin/sh -c CMD with HEAPSNAP_*
 * variables (HEAPSNAP_EVENT, HEAPSNAP_PID, HEAPSNAP_REASON, HEAPSNAP_RSS,
 * HEAPSNAP_SNAPSHOT_ID, HEAPSNAP_SNAPSHOT_PATH, HEAPSNAP_JSON). The command never
 * blocks the agent: it is spawned, and killed after exec_timeout_s. Events:
 * trigger, capture_start, capture_done, capture_failed, capture_refused. */
#ifndef HS_ALERT_H
#define HS_ALERT_H

#include <jansson.h>

#include "config.h"

struct alerter;

struct alerter *alerter_new(const struct config *cfg);
/* Kills and reaps children still running. Accepts NULL. */
void alerter_free(struct alerter *a);

/* ev: a JSON object with at least "event", "pid", "reason". "time" (ISO 8601 UTC)
 * and "host" are added. Takes ownership of ev. Thread-safe. */
void alert_emit(struct alerter *a, json_t *ev);

/* Reap finished commands, kill overdue ones. Call at least once a second. */
void alert_tick(struct alerter *a);

#endif
