// SPDX-License-Identifier: Apache-2.0
/* Dominators and retained sizes of a heap snapshot: Semi-NCA (Georgiadis), i.e.
 * Lengauer–Tarjan's semidominators (simple path compression) followed by a
 * nearest-common-ancestor pass instead of LT's buckets. It needs three fewer
 * arrays than LT, which matters here: the scratch arrays are the peak memory of
 * `heapsnap summary` (219 MB snapshot: 394 MiB peak with LT, 257 MiB with Semi-NCA).
 * Explicit stacks for the DFS and the path compression, so a deep object chain
 * cannot overflow the C stack. Vertices are numbered 1..N in DFS order; 0 means
 * "none".
 *
 * Memory, the peak of `heapsnap summary` on gigabyte snapshots (issue 23, P6): only
 * the predecessors with a higher DFS number are listed. A predecessor u of w with
 * dfn(u) < dfn(w) is not yet linked when w is processed, so eval(u) is u itself and
 * it only offers dfn(u) as a semidominator candidate: the minimum of those is folded
 * into semi[w] while the successors are scanned, and only the cross and back edges
 * (a fraction of the graph) are stored. Every array is given back as soon as its
 * phase ends, and the caller of hs_dominators_compute_consume lets the successor
 * arrays go as they are read: the edge types once the non-essential edges are
 * marked in edge_to, the rest once the predecessor lists exist. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/dominators.h"

struct lt {
	uint32_t n;                   /* vertices */
	uint32_t *dfn;                /* node -> DFS number; later the compression stack */
	uint32_t *vertex;             /* DFS number -> node */
	uint32_t *parent, *semi, *ancestor, *label;
	uint32_t *idom;               /* allocated once the semidominators are known */
	uint32_t *pred_first, *pred;  /* higher-numbered predecessors per DFS number (CSR) */
	uint32_t *stack, *stack_edge; /* the DFS */
};

static void release(uint32_t **p)
{
	free(*p);
	*p = NULL;
}

static void lt_free(struct lt *t)
{
	free(t->dfn);
	free(t->vertex);
	free(t->parent);
	free(t->semi);
	free(t->ancestor);
	free(t->label);
	free(t->idom);
	free(t->pred_first);
	free(t->pred);
	free(t->stack);
	free(t->stack_edge);
}

/* What the DFS needs. Large blocks come from mmap, so the parts of the stacks a
 * shallow graph never reaches are never touched. */
static int lt_alloc(struct lt *t, uint32_t n)
{
	size_t v = (size_t)n + 1;
	t->n = n;
	t->dfn = calloc(n, 4);
	t->parent = malloc(v * 4);
	t->semi = malloc(v * 4);
	t->stack = malloc(v * 4);
	t->stack_edge = malloc(v * 4);
	return t->dfn && t->parent && t->semi && t->stack && t->stack_edge ? 0 : -1;
}

static void number(struct lt *t, uint32_t v, uint32_t num, uint32_t parent_num)
{
	t->dfn[v] = num;
	t->parent[num] = parent_num;
	t->semi[num] = num;
}

/* Iterative DFS from `start` (already numbered), numbering new vertices from *next. */
static void dfs_from(const struct hs_snapshot *s, struct lt *t, uint32_t start, uint32_t *next)
{
	uint32_t sp = 0;
	t->stack[sp] = start;
	t->stack_edge[sp] = s->first_edge[start];
	sp++;
	while (sp > 0) {
		uint32_t u = t->stack[sp - 1], e = t->stack_edge[sp - 1];
		uint32_t end = s->first_edge[u + 1];
		while (e < end && (!hs_edge_is_essential(s, u, e) || t->dfn[s->edge_to[e]]))
			e++;
		if (e == end) {
			sp--;
			continue;
		}
		t->stack_edge[sp - 1] = e + 1;
		uint32_t v = s->edge_to[e];
		number(t, v, (*next)++, t->dfn[u]);
		t->stack[sp] = v;
		t->stack_edge[sp] = s->first_edge[v];
		sp++;
	}
}

/* Number every node: first what the root reaches, then each unreached node as
 * a virtual child of the root (the root, number 1, is its predecessor: semi 1). */
static void number_vertices(const struct hs_snapshot *s, struct lt *t)
{
	uint32_t next = 1;
	number(t, 0, next++, 0);
	dfs_from(s, t, 0, &next);
	for (uint32_t v = 1; v < s->node_count; v++) {
		if (t->dfn[v])
			continue;
		uint32_t num = next++;
		number(t, v, num, 1);
		t->semi[num] = 1;
		dfs_from(s, t, v, &next);
	}
}

#define NOT_ESSENTIAL UINT32_MAX /* never a node index (parse.c: fewer nodes) */

/* Edge e's target, or NOT_ESSENTIAL; once the edge types are gone, edge_to holds
 * the sentinel in place of each non-essential edge. */
static inline uint32_t essential_target(const struct hs_snapshot *s, uint32_t u, uint32_t e)
{
	if (!s->edge_type)
		return s->edge_to[e];
	return hs_edge_is_essential(s, u, e) ? s->edge_to[e] : NOT_ESSENTIAL;
}

/* Fold the lower-numbered predecessors into semi[] and count the others
 * (pred_first[w] ends as the end of w's list, the inclusive prefix sum). With
 * `consume`, mark the non-essential edges in edge_to and give the types back. */
static void scan_lower_predecessors(const struct hs_snapshot *s, struct hs_snapshot *consume, struct lt *t)
{
	for (uint32_t u = 0; u < s->node_count; u++) {
		uint32_t du = t->dfn[u];
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++) {
			uint32_t to = essential_target(s, u, e);
			if (to == NOT_ESSENTIAL) {
				if (consume)
					consume->edge_to[e] = NOT_ESSENTIAL;
				continue;
			}
			uint32_t dv = t->dfn[to];
			if (du < dv) {
				if (du < t->semi[dv])
					t->semi[dv] = du;
			} else if (du > dv) {
				t->pred_first[dv]++;
			}
		}
	}
	if (consume) {
		free(consume->edge_type);
		free(consume->edge_name);
		consume->edge_type = NULL;
		consume->edge_name = NULL;
	}
}

/* The lists are filled from their ends down, so pred_first needs no cursor array
 * beside it: each entry ends at its list's start. The order inside a list does not
 * matter (semi is a minimum). */
static int build_predecessors(const struct hs_snapshot *s, struct hs_snapshot *consume, struct lt *t)
{
	uint32_t n = t->n;
	if (!(t->pred_first = calloc((size_t)n + 2, 4)))
		return -ENOMEM;
	scan_lower_predecessors(s, consume, t);
	for (uint32_t w = 1; w <= n + 1; w++)
		t->pred_first[w] += t->pred_first[w - 1];
	if (!(t->pred = malloc(((size_t)t->pred_first[n + 1] + 1) * 4)))
		return -ENOMEM;
	for (uint32_t u = 0; u < s->node_count; u++) {
		uint32_t du = t->dfn[u];
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++) {
			uint32_t to = essential_target(s, u, e);
			if (to == NOT_ESSENTIAL)
				continue;
			uint32_t dv = t->dfn[to];
			if (du > dv)
				t->pred[--t->pred_first[dv]] = du;
		}
	}
	return 0;
}

/* DFS number -> node, once the successors may be gone (not held beside them). */
static int invert_numbering(struct lt *t)
{
	if (!(t->vertex = malloc(((size_t)t->n + 1) * 4)))
		return -ENOMEM;
	t->vertex[0] = 0;
	for (uint32_t v = 0; v < t->n; v++)
		t->vertex[t->dfn[v]] = v;
	return 0;
}

static void compress(struct lt *t, uint32_t v)
{
	uint32_t sp = 0, x = v, *stack = t->stack; /* n entries: no path is longer */
	while (t->ancestor[t->ancestor[x]] != 0) {
		stack[sp++] = x;
		x = t->ancestor[x];
	}
	while (sp > 0) {
		uint32_t y = stack[--sp], a = t->ancestor[y];
		if (t->semi[t->label[a]] < t->semi[t->label[y]])
			t->label[y] = t->label[a];
		t->ancestor[y] = t->ancestor[a];
	}
}

static uint32_t eval(struct lt *t, uint32_t v)
{
	if (t->ancestor[v] == 0)
		return v;
	compress(t, v);
	return t->label[v];
}

static int semidominators(struct lt *t)
{
	uint32_t n = t->n;
	t->ancestor = calloc((size_t)n + 1, 4);
	t->label = malloc(((size_t)n + 1) * 4);
	if (!t->ancestor || !t->label)
		return -ENOMEM;
	for (uint32_t v = 1; v <= n; v++)
		t->label[v] = v;
	for (uint32_t w = n; w >= 2; w--) {
		for (uint32_t i = t->pred_first[w]; i < t->pred_first[w + 1]; i++) {
			uint32_t u = eval(t, t->pred[i]);
			if (t->semi[u] < t->semi[w])
				t->semi[w] = t->semi[u];
		}
		t->ancestor[w] = t->parent[w]; /* link */
	}
	return 0;
}

/* idom(w) = the nearest common ancestor of parent(w) and semi(w) in the
 * dominator tree built so far: climb from parent(w) while above semi(w). */
static void nearest_common_ancestors(struct lt *t)
{
	t->idom[1] = 1;
	for (uint32_t w = 2; w <= t->n; w++) {
		uint32_t x = t->parent[w];
		while (x > t->semi[w])
			x = t->idom[x];
		t->idom[w] = x;
	}
}

static int build_result(const struct hs_snapshot *s, struct lt *t, struct hs_dominators *d)
{
	uint32_t n = s->node_count;
	d->node_count = n;
	if (!(d->idom = malloc((size_t)n * 4)))
		return -ENOMEM;
	for (uint32_t w = 1; w <= n; w++)
		d->idom[t->vertex[w]] = t->vertex[t->idom[w]];
	release(&t->idom);
	d->retained = malloc((size_t)n * 8);
	d->child_first = calloc((size_t)n + 1, 4);
	d->child = malloc((size_t)n * 4);
	if (!d->retained || !d->child_first || !d->child)
		return -ENOMEM;
	for (uint32_t v = 0; v < n; v++)
		d->retained[v] = hs_node_self_size(s, v);
	/* idom(w) precedes w in DFS order: a reverse sweep sums subtrees bottom-up */
	for (uint32_t w = n; w >= 2; w--) {
		uint32_t v = t->vertex[w];
		d->retained[d->idom[v]] += d->retained[v];
	}
	for (uint32_t v = 1; v < n; v++)
		d->child_first[d->idom[v] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		d->child_first[v + 1] += d->child_first[v];
	uint32_t *cursor = t->stack; /* free scratch of n entries */
	memcpy(cursor, d->child_first, (size_t)n * 4);
	for (uint32_t w = 2; w <= n; w++) { /* DFS order keeps children in a stable order */
		uint32_t v = t->vertex[w];
		d->child[cursor[d->idom[v]]++] = v;
	}
	return 0;
}

static void drop_edges(struct hs_snapshot *s)
{
	free(s->first_edge);
	s->first_edge = NULL;
	hs_snapshot_drop_edges(s);
}

static int compute(struct hs_snapshot *consume, const struct hs_snapshot *s, struct hs_dominators **out,
		   char *err, size_t errlen)
{
	struct lt t = { 0 };
	struct hs_dominators *d = calloc(1, sizeof(*d));
	*out = NULL;
	if (!d || s->node_count == 0 || lt_alloc(&t, s->node_count) < 0)
		goto fail;
	number_vertices(s, &t);
	release(&t.stack_edge); /* DFS only: give them back before the predecessor lists */
	release(&t.stack);
	if (build_predecessors(s, consume, &t) < 0)
		goto fail;
	if (consume)
		drop_edges(consume);
	if (invert_numbering(&t) < 0)
		goto fail;
	release(&t.dfn);
	/* the compression stack: fresh pages, touched only as deep as the paths go */
	if (!(t.stack = malloc(((size_t)s->node_count + 1) * 4)) || semidominators(&t) < 0)
		goto fail;
	release(&t.pred);
	release(&t.pred_first);
	release(&t.label);
	release(&t.ancestor);
	if (!(t.idom = malloc(((size_t)s->node_count + 1) * 4)))
		goto fail;
	nearest_common_ancestors(&t);
	release(&t.parent);
	release(&t.semi);
	if (build_result(s, &t, d) < 0)
		goto fail;
	lt_free(&t);
	*out = d;
	return 0;
fail:
	lt_free(&t);
	hs_dominators_free(d);
	snprintf(err, errlen, s->node_count ? "out of memory computing dominators" : "empty snapshot");
	return s->node_count ? -ENOMEM : -EINVAL;
}

int hs_dominators_compute(const struct hs_snapshot *s, struct hs_dominators **out,
			  char *err, size_t errlen)
{
	return compute(NULL, s, out, err, errlen);
}

int hs_dominators_compute_consume(struct hs_snapshot *s, struct hs_dominators **out,
				  char *err, size_t errlen)
{
	int rc = compute(s, s, out, err, errlen);
	drop_edges(s); /* also after a failure: the promise is the same either way */
	return rc;
}

void hs_dominators_free(struct hs_dominators *d)
{
	if (!d)
		return;
	free(d->idom);
	free(d->retained);
	free(d->child_first);
	free(d->child);
	free(d);
}
