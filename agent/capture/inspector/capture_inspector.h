// SPDX-License-Identifier: Apache-2.0
/* Inspector capture route internals shared with its tests and benchmark. The agent
 * itself calls capture_via_inspector (capture_route.h), which is
 * capture_inspector_run(ctx, INSPECTOR_AUTO). */
#ifndef HS_CAPTURE_INSPECTOR_H
#define HS_CAPTURE_INSPECTOR_H

#include "capture/capture_route.h"

enum inspector_transport {
	INSPECTOR_AUTO = 0,    /* FIFO when it can be set up, else chunks */
	INSPECTOR_CHUNKS,      /* HeapProfiler.takeHeapSnapshot, addHeapSnapshotChunk events */
	INSPECTOR_FIFO,        /* Runtime.evaluate v8.writeHeapSnapshot(fifo), no fallback */
};

int capture_inspector_run(struct capture_ctx *ctx, enum inspector_transport transport);

#endif
