// SPDX-License-Identifier: Apache-2.0
/* The allocation stacks of a V8 sampling heap profile (HeapProfiler.getSamplingProfile:
 * {"head": call tree, "samples": [...]}; the .heapprofile DevTools opens), as the report
 * shows them: the still-live sampled bytes per allocation site, a site being the first
 * frame from the allocation up that is the service's own code (not node: internals, not
 * node_modules, not V8 builtins), so "the line to change" comes first. */
#ifndef HS_SNAPSHOT_HEAPPROFILE_H
#define HS_SNAPSHOT_HEAPPROFILE_H

#include <stddef.h>
#include <jansson.h>

#define HS_STACKS_TOP 5
#define HS_STACK_FRAMES 12

/* An array of up to `top` sites, most live bytes first:
 *   {"function", "url", "line", "column" (1-based, of the site's frame),
 *    "bytes": live sampled bytes, "samples": live samples,
 *    "frames": [ {function, url, line, column, kind}, ... ] allocation first, up to
 *              HS_STACK_FRAMES, of the heaviest stack through the site; kind is "app",
 *              "node" (node: internals), "module" (node_modules) or "v8" (no script),
 *    "text": one line, "fn service.js:27:13, 5.6 MiB live (120 samples) ← caller file:line"}
 * NULL with err set when text is not a sampling heap profile (or out of memory). */
json_t *hs_heapprofile_stacks(const char *text, size_t top, char *err, size_t errlen);

#endif
