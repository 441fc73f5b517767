// SPDX-License-Identifier: Apache-2.0
/* The report thread: an incident's leak report takes seconds on a large snapshot, so
 * it is made off the capture slot (the next incident must not wait for it), and
 * capture_done, which carries the report's brief, follows it. */
#ifndef HS_INCIDENT_REPORT_H
#define HS_INCIDENT_REPORT_H

#include "capture/capturer.h"

/* The thread's body (arg: the capturer); it ends when the pool stops. */
void *report_main(void *arg);
/* A stored snapshot: the capture_done alert (after its report, for an incident) and
 * the outcome. profile_error: why the incident has no allocation stacks ("" = it has). */
int finish_done(struct capturer *c, const struct capture_job *job, struct snapshot_meta *meta,
		struct capture_outcome *out, const char *profile_error);

#endif
