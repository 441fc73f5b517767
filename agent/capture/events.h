// SPDX-License-Identifier: Apache-2.0
/* The capture's alert events (capture_start, capture_done, capture_failed,
 * capture_refused) as JSON, emitted on the pool's alert bus. */
#ifndef HS_CAPTURE_EVENTS_H
#define HS_CAPTURE_EVENTS_H

#include <stdint.h>

#include "capture/capturer.h"
#include "capture/route.h"
#include "decide/guard.h"
#include "store/store.h"

void emit_start(struct capturer *c, const struct capture_job *job, enum route route, int64_t waited_ms,
		uint64_t rss_at_start, uint64_t heap_at_start);
/* meta (may be NULL): the failed attempt's, for how long it had the inspector open. */
void emit_failed(struct capturer *c, const struct capture_job *job, enum route route, const char *why,
		 const struct snapshot_meta *meta);
void emit_refused(struct capturer *c, const struct capture_job *job, const struct guard_input *in,
		  const struct guard_verdict *v);
/* brief (may be NULL, taken): the leak report's members for the alert line. */
void emit_done(struct capturer *c, const struct done_info *d, json_t *brief);

#endif
