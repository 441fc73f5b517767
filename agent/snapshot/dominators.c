// SPDX-License-Identifier: Apache-2.0
/* Dominators and retained sizes of a heap snapshot: Semi-NCA (Georgiadis), i.e.
 * Lengauer–Tarjan's semidominators (simple path compression) followed by a
 * nearest-common-ancestor pass instead of LT's buckets. It needs three fewer
 * arrays than LT, which matters here: the scratch arrays are the peak memory of
 * `heapsnap summary` (219 MB snapshot: 394 MiB peak with LT, 257 MiB now), and it is
 * as fast in practice. Explicit stacks for the DFS and the path compression, so a
 * deep object chain cannot overflow the C stack. Vertices are numbered 1..N in
 * DFS order; 0 means "none". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/dominators.h"

struct lt {
	uint32_t n;                   /* vertices */
	uint32_t *dfn;                /* node -> DFS number */
	uint32_t *vertex;             /* DFS number -> node */
	uint32_t *parent, *semi, *ancestor, *label;
	uint32_t *idom;               /* allocated once the semidominators are known */
	uint32_t *pred_first, *pred;  /* predecessors per node (CSR) */
	uint32_t *stack;
	uint32_t *stack_edge;
	uint8_t *virtual_child;       /* node had no essential path from the root */
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
	free(t->virtual_child);
}

static int lt_alloc(struct lt *t, uint32_t n)
{
	size_t v = (size_t)n + 1;
	t->n = n;
	t->dfn = calloc(n, 4);
	t->vertex = calloc(v, 4);
	t->parent = calloc(v, 4);
	t->semi = calloc(v, 4);
	t->ancestor = calloc(v, 4);
	t->label = calloc(v, 4);
	t->stack = calloc(v, 4);
	t->stack_edge = calloc(v, 4);
	t->virtual_child = calloc(n, 1);
	t->pred_first = calloc(v, 4);
	return t->dfn && t->vertex && t->parent && t->semi && t->ancestor && t->label &&
	       t->stack && t->stack_edge &&
	       t->virtual_child && t->pred_first ? 0 : -1;
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
		uint32_t v = s->edge_to[e], num = (*next)++;
		t->dfn[v] = num;
		t->vertex[num] = v;
		t->parent[num] = t->dfn[u];
		t->stack[sp] = v;
		t->stack_edge[sp] = s->first_edge[v];
		sp++;
	}
}

/* Number every node: first what the root reaches, then each unreached node as
 * a virtual child of the root. */
static void number_vertices(const struct hs_snapshot *s, struct lt *t)
{
	uint32_t next = 1;
	t->dfn[0] = next;
	t->vertex[next++] = 0;
	dfs_from(s, t, 0, &next);
	for (uint32_t v = 1; v < s->node_count; v++) {
		if (t->dfn[v])
			continue;
		uint32_t num = next++;
		t->dfn[v] = num;
		t->vertex[num] = v;
		t->parent[num] = 1;
		t->virtual_child[v] = 1;
		dfs_from(s, t, v, &next);
	}
}

static int build_predecessors(const struct hs_snapshot *s, struct lt *t)
{
	uint32_t n = s->node_count;
	for (uint32_t u = 0; u < n; u++)
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++)
			if (hs_edge_is_essential(s, u, e))
				t->pred_first[s->edge_to[e] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		t->pred_first[v + 1] += t->pred_first[v] + t->virtual_child[v];
	t->pred = malloc(((size_t)t->pred_first[n] + 1) * 4);
	if (!t->pred)
		return -ENOMEM;
	/* fill using stack as per-node cursor */
	memcpy(t->stack, t->pred_first, (size_t)n * 4);
	for (uint32_t u = 0; u < n; u++)
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++)
			if (hs_edge_is_essential(s, u, e))
				t->pred[t->stack[s->edge_to[e]]++] = u;
	for (uint32_t v = 0; v < n; v++)
		if (t->virtual_child[v])
			t->pred[t->stack[v]++] = 0;
	return 0;
}

static void compress(struct lt *t, uint32_t v)
{
	uint32_t sp = 0, x = v;
	while (t->ancestor[t->ancestor[x]] != 0) {
		t->stack[sp++] = x;
		x = t->ancestor[x];
	}
	while (sp > 0) {
		uint32_t y = t->stack[--sp], a = t->ancestor[y];
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

static void semidominators(struct lt *t)
{
	uint32_t n = t->n;
	for (uint32_t v = 1; v <= n; v++)
		t->semi[v] = t->label[v] = v;
	for (uint32_t w = n; w >= 2; w--) {
		uint32_t node = t->vertex[w];
		for (uint32_t i = t->pred_first[node]; i < t->pred_first[node + 1]; i++) {
			uint32_t u = eval(t, t->dfn[t->pred[i]]);
			if (t->semi[u] < t->semi[w])
				t->semi[w] = t->semi[u];
		}
		t->ancestor[w] = t->parent[w]; /* link */
	}
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

static int build_result(const struct hs_snapshot *s, const struct lt *t, struct hs_dominators *d)
{
	uint32_t n = s->node_count;
	d->node_count = n;
	d->idom = malloc((size_t)n * 4);
	d->retained = malloc((size_t)n * 8);
	d->child_first = calloc((size_t)n + 1, 4);
	d->child = malloc((size_t)n * 4);
	if (!d->idom || !d->retained || !d->child_first || !d->child)
		return -ENOMEM;
	for (uint32_t v = 0; v < n; v++) {
		d->idom[v] = t->vertex[t->idom[t->dfn[v]]];
		d->retained[v] = s->node_self_size[v];
	}
	/* idom(w) precedes w in DFS order: a reverse sweep sums subtrees bottom-up */
	for (uint32_t w = n; w >= 2; w--) {
		uint32_t v = t->vertex[w];
		d->retained[d->idom[v]] += d->retained[v];
	}
	for (uint32_t v = 1; v < n; v++)
		d->child_first[d->idom[v] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		d->child_first[v + 1] += d->child_first[v];
	uint32_t *cursor = t->stack; /* free scratch of n+1 entries */
	memcpy(cursor, d->child_first, (size_t)n * 4);
	for (uint32_t w = 2; w <= n; w++) { /* DFS order keeps children in a stable order */
		uint32_t v = t->vertex[w];
		d->child[cursor[d->idom[v]]++] = v;
	}
	return 0;
}

int hs_dominators_compute(const struct hs_snapshot *s, struct hs_dominators **out,
			  char *err, size_t errlen)
{
	struct lt t = { 0 };
	struct hs_dominators *d = calloc(1, sizeof(*d));
	*out = NULL;
	if (!d || s->node_count == 0 || lt_alloc(&t, s->node_count) < 0)
		goto fail;
	number_vertices(s, &t);
	release(&t.stack_edge); /* DFS only: give it back before the predecessor lists */
	if (build_predecessors(s, &t) < 0)
		goto fail;
	semidominators(&t);
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
