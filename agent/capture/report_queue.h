// SPDX-License-Identifier: Apache-2.0
/* Which waiting leak report the capturer's report threads make next (capture.c): the
 * oldest that may start now. A report runs beside those being made only while their
 * incident snapshots fit in report.max_mb together, so two reports at once never need
 * more than one report of max_mb; a snapshot above max is skipped without a parse and
 * may always start. A small incident's report so does not wait behind a large one. */
#ifndef HS_CAPTURE_REPORT_QUEUE_H
#define HS_CAPTURE_REPORT_QUEUE_H

#include <stdint.h>

#define REPORT_THREADS 2

/* raw[0..n): the waiting snapshots' raw sizes, oldest first; busy reports being made
 * whose snapshots total busy_bytes. The index to take, or -1: none may start. */
int report_queue_next(const uint64_t *raw, unsigned n, unsigned busy, uint64_t busy_bytes, uint64_t max);

#endif
