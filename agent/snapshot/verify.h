// SPDX-License-Identifier: Apache-2.0
/* Streaming completeness check of a V8 .heapsnapshot (JSON): fed the raw bytes in
 * pieces of any size, it confirms the text is one whole JSON object, reads
 * snapshot.meta.node_fields/edge_fields, snapshot.node_count/edge_count, and counts
 * the numbers in "nodes" and "edges". Complete = well-formed, closed, and
 * len(nodes) == node_count * node_fields and len(edges) == edge_count * edge_fields.
 * Constant memory whatever the input size. */
#ifndef HS_SNAPSHOT_VERIFY_H
#define HS_SNAPSHOT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct snap_verify_info {
	uint64_t node_count, edge_count;   /* as declared in "snapshot" */
	uint64_t nodes_len, edges_len;     /* numbers actually present */
	unsigned node_fields, edge_fields;
	uint64_t strings;                  /* entries in "strings" */
	uint64_t bytes;
};

struct snap_verify;
struct snap_verify *snap_verify_new(void);
/* 0, or -EINVAL once the input is malformed (the error is kept for finish). */
int snap_verify_feed(struct snap_verify *v, const void *buf, size_t len);
/* 0 if complete, else -EINVAL with a reason in err ("truncated inside nodes", ...). */
int snap_verify_finish(struct snap_verify *v, struct snap_verify_info *info, char *err, size_t errlen);
void snap_verify_free(struct snap_verify *v);

#endif
