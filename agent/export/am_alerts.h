// SPDX-License-Identifier: Apache-2.0
/* The lifecycle of the alerts pushed to Alertmanager, without I/O (unit-tested):
 *   fire     an alert (kind, pid) becomes active (or is refreshed) and is due now;
 *   due      every active alert is due again resend_ms after its last send, with
 *            endsAt = now + AM_ENDS_AFTER_RESENDS x resend (one lost send does not
 *            resolve it);
 *   resolve  its condition ended or its process exited: endsAt = that time, due now,
 *            then re-sent every resend_ms for AM_RESOLVED_KEEP_MS and forgotten.
 * One alert per (kind, pid): firing again reuses it (a resolved one comes back with a
 * new startsAt). At most AM_MAX_ALERTS; when full, the oldest resolved one goes, and a
 * new alert is refused if none is resolved. */
#ifndef HS_AM_ALERTS_H
#define HS_AM_ALERTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/identity.h"
#include "store/store.h"

#define AM_MAX_ALERTS 256
#define AM_ENDS_AFTER_RESENDS 4
#define AM_RESOLVED_KEEP_MS (15 * 60 * 1000)

enum am_kind { AM_MEMORY_GROWTH, AM_LEAK_SUSPECTED, AM_CAPTURE_FAILED, AM_CAPTURE_REFUSED, AM_KINDS };

struct am_alert {
	enum am_kind kind;
	pid_t pid;
	char app[IDENTITY_LEN];
	char container[IDENTITY_CONTAINER_SHORT + 1];
	char summary[256];
	char description[768];
	char snapshot_id[SNAPSHOT_ID_LEN];
	char top_growth[512];
	char retainer_path[768];
	char top_place[512];           /* the report's first place, one line */
	char top_stack[512];           /* its first allocation stack, one line */
	int64_t starts_wall_ms;
	int64_t ends_wall_ms;          /* 0 while active */
	int64_t next_send_ms;          /* monotonic */
	int64_t resolved_ms;           /* monotonic, 0 while active */
};

struct am_table {
	struct am_alert a[AM_MAX_ALERTS];
	size_t n;
	int64_t resend_ms;
};

const char *am_kind_name(enum am_kind k);   /* "HeapsnapMemoryGrowth", ... */

void am_table_init(struct am_table *t, int64_t resend_ms);
/* The active alert (kind, pid), or NULL. */
struct am_alert *am_find_active(struct am_table *t, enum am_kind kind, pid_t pid);
/* Fire (or refresh) an alert; the caller fills the text fields. NULL when full. */
struct am_alert *am_fire(struct am_table *t, enum am_kind kind, pid_t pid, int64_t now_wall,
			 int64_t now_mono);
/* Mark an alert changed (new annotations): due now. */
void am_touch(struct am_alert *a, int64_t now_mono);
/* Resolve (kind, pid), or every alert of pid with kind = AM_KINDS. Count resolved. */
int am_resolve(struct am_table *t, enum am_kind kind, pid_t pid, int64_t now_wall, int64_t now_mono);
/* Forget resolved alerts past AM_RESOLVED_KEEP_MS, then collect up to max alerts due
 * at now (indices into t->a) and schedule their next send. Returns how many. */
size_t am_due(struct am_table *t, int64_t now_mono, size_t *out, size_t max);
/* The Alertmanager v2 JSON object of one alert. */
json_t *am_alert_json(const struct am_table *t, const struct am_alert *a, const char *host,
		      const char *generator_url, int64_t now_wall);
/* ISO 8601 UTC with milliseconds. */
void am_iso8601(int64_t wall_ms, char *buf, size_t len);

#endif
