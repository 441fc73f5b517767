// SPDX-License-Identifier: Apache-2.0
/* One job's capture on a pool worker: the routes to try and in which order, the memory
 * guard's admission, the sampling profiler around it, each route's run into the store,
 * the fallback, and the resumption of a capture a killed run left. */
#ifndef HS_CAPTURE_RUN_H
#define HS_CAPTURE_RUN_H

#include "capture/capturer.h"

/* 0 stored (out filled), or a negative errno with out->err. */
int capture_one(struct worker *wk, const struct capture_job *queued_job, struct capture_outcome *out);

#endif
