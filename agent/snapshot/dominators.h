// SPDX-License-Identifier: Apache-2.0
/* Dominator tree and retained sizes of a parsed heap snapshot, as DevTools and
 * memlab compute them: the graph is the snapshot's edges from the root (node 0),
 * weak edges ignored and shortcut edges ignored except those leaving the root.
 * Nodes the root cannot reach that way are treated as children of the root (as
 * DevTools does), so every node gets a dominator. Semi-NCA (a Lengauer–Tarjan
 * variant), iterative. */
#ifndef HS_SNAPSHOT_DOMINATORS_H
#define HS_SNAPSHOT_DOMINATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/parse.h"

struct hs_dominators {
	uint32_t node_count;
	uint32_t *idom;          /* immediate dominator per node; idom[0] == 0 */
	uint64_t *retained;      /* retained size per node (self size included) */
	/* the dominator tree: children of node i are child[child_first[i] .. child_first[i+1]) */
	uint32_t *child_first;
	uint32_t *child;
};

/* Whether edge e (leaving node `from`) counts for dominators and retainer paths. */
static inline bool hs_edge_is_essential(const struct hs_snapshot *s, uint32_t from, uint32_t e)
{
	uint8_t t = s->edge_type[e];
	return t != s->e_weak && (t != s->e_shortcut || from == 0);
}

/* 0, or -ENOMEM (-EINVAL: empty snapshot) with err set. */
int hs_dominators_compute(const struct hs_snapshot *s, struct hs_dominators **out,
			  char *err, size_t errlen);
/* The same for a caller that needs no edges afterwards (`heapsnap summary`): s's edge
 * arrays and first_edge are freed (NULL) as soon as they are read, success or not, so
 * they are not held at the peak; s keeps its nodes' types, names, ids, sizes, strings. */
int hs_dominators_compute_consume(struct hs_snapshot *s, struct hs_dominators **out,
				  char *err, size_t errlen);
/* The same with the rounds of its in-place predecessor build capped at round_targets
 * targets and round_free free entries (0: no cap), so that small graphs take many
 * rounds and grow the array. Exposed for tests. */
int hs_dominators_compute_consume_rounds(struct hs_snapshot *s, uint32_t round_targets, uint32_t round_free,
					 struct hs_dominators **out, char *err, size_t errlen);
void hs_dominators_free(struct hs_dominators *d);

#endif
