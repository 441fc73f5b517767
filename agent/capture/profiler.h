// SPDX-License-Identifier: Apache-2.0
/* V8's sampling heap profiler, run inside the target so an incident's report can name
 * the code that allocated what is still live.
 *
 * Start: one short inspector session (the route's: found or opened with SIGUSR1, behind
 * the connect guard, closed again) evaluates code that connects an inspector.Session
 * in-process, posts HeapProfiler.startSampling to it and keeps it on a hidden global
 * (Symbol.for('heapsnap.profiler')). The in-process session outlives the closed
 * inspector: no port stays open while it samples.
 * Collect: another short session evaluates code that posts
 * HeapProfiler.getSamplingProfile to the in-process session (answered synchronously),
 * prunes the call tree to the nodes with live samples and returns it as one JSON
 * string, at most PROFILE_MAX_BYTES.
 * Per process (pid + start time) the table here remembers whether it runs, or why not,
 * for the report. */
#ifndef HS_CAPTURE_PROFILER_H
#define HS_CAPTURE_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/capture_route.h"

#define PROFILE_MAX_BYTES (8u << 20)

/* Start it in ctx->proc with the given interval (bytes). 0, or a negative errno with
 * ctx->err set. Records the outcome. */
int profiler_start(struct capture_ctx *ctx, unsigned interval_bytes);
/* The profile as JSON text (malloc'ed) into *text. 0; -ENOENT when none runs in the
 * target (restarted since); another negative errno with ctx->err set. */
int profiler_collect(struct capture_ctx *ctx, char **text);

/* What the table knows of the process: 1 it was started, 0 unknown (never tried),
 * -1 it could not run (why set). */
int profiler_state(pid_t pid, uint64_t start_time, char *why, size_t whylen);
/* Record that it could not run in the process, and why (before a start is tried). */
void profiler_note(pid_t pid, uint64_t start_time, bool running, const char *why);

#endif
