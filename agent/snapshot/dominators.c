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
 * it only offers dfn(u) as a semidominator candidate: the DFS sees every edge once
 * with both ends numbered and folds the minimum of those into semi[w] there; only
 * the cross and back edges are stored (two thirds of a big snapshot's edges). The
 * lists' bounds are bits (has_pred, list_start), not a per-vertex array, and every
 * array is given back as soon as its phase ends. The caller of
 * hs_dominators_compute_consume gives its edges away: the types and names go once
 * the non-essential edges are marked in edge_to, and the predecessor lists are built
 * inside edge_to itself (see build_predecessors_in_place), so no second edge-sized
 * array exists. */
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
	/* the higher-numbered predecessors of each vertex, lists ascending by vertex;
	 * bit w of has_pred: w has a list, bit i of list_start: pred[i] begins one */
	uint32_t *pred, pred_count;
	uint64_t *has_pred, *list_start;
	uint32_t *stack, *stack_edge, *stack_kept; /* the DFS */
};

static void release(uint32_t **p)
{
	free(*p);
	*p = NULL;
}

static void release_bits(uint64_t **p)
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
	free(t->pred);
	free(t->has_pred);
	free(t->list_start);
	free(t->stack);
	free(t->stack_edge);
	free(t->stack_kept);
}

static inline bool bit_get(const uint64_t *b, size_t i)
{
	return b[i >> 6] >> (i & 63) & 1;
}

static inline void bit_set(uint64_t *b, size_t i)
{
	b[i >> 6] |= 1ull << (i & 63);
}

static uint64_t *bits_alloc(size_t count)
{
	return calloc(count / 64 + 1, 8);
}

/* What the DFS needs. Large blocks come from mmap, so the parts of the stacks a
 * shallow graph never reaches are never touched. */
static int lt_alloc(struct lt *t, uint32_t n, bool keep)
{
	size_t v = (size_t)n + 1;
	t->n = n;
	t->dfn = calloc(n, 4);
	t->parent = malloc(v * 4);
	t->semi = malloc(v * 4);
	t->stack = malloc(v * 4);
	t->stack_edge = malloc(v * 4);
	t->stack_kept = keep ? malloc(v * 4) : NULL;
	return t->dfn && t->parent && t->semi && t->stack && t->stack_edge && (!keep || t->stack_kept) ? 0 : -1;
}

/* A tree edge is its target's first semidominator candidate (the root's virtual
 * children have the root's). */
static void number(struct lt *t, uint32_t v, uint32_t num, uint32_t parent_num)
{
	t->dfn[v] = num;
	t->parent[num] = parent_num;
	t->semi[num] = parent_num ? parent_num : num;
}

#define NOT_ESSENTIAL UINT32_MAX /* never a node index nor a DFS number (parse.c: fewer nodes) */

/* Edge e's target, or NOT_ESSENTIAL; once the edge types are gone, edge_to holds
 * the sentinel in place of each non-essential edge. */
static inline uint32_t essential_target(const struct hs_snapshot *s, uint32_t u, uint32_t e)
{
	if (!s->edge_type)
		return s->edge_to[e];
	return hs_edge_is_essential(s, u, e) ? s->edge_to[e] : NOT_ESSENTIAL;
}

/* Iterative DFS from `start` (already numbered), numbering new vertices from *next.
 * Each edge is seen once, with both ends numbered: a lower-numbered source is a
 * semidominator candidate folded into semi[] at once; a higher-numbered one is kept
 * for the semidominator pass: with `kept` (edge_to, owned), its target's DFS number
 * is written over the edges of its source already read, a NOT_ESSENTIAL after the
 * last one when the range is not full. */
static void dfs_from(const struct hs_snapshot *s, uint32_t *kept, struct lt *t, uint32_t start, uint32_t *next)
{
	uint32_t sp = 0;
	t->stack[sp] = start;
	t->stack_edge[sp] = s->first_edge[start];
	if (kept)
		t->stack_kept[sp] = s->first_edge[start];
	sp++;
	while (sp > 0) {
		uint32_t u = t->stack[sp - 1], e = t->stack_edge[sp - 1], k = kept ? t->stack_kept[sp - 1] : 0;
		uint32_t du = t->dfn[u], end = s->first_edge[u + 1], v = 0;
		for (; e < end; e++) {
			uint32_t to = essential_target(s, u, e);
			if (to == NOT_ESSENTIAL)
				continue;
			uint32_t dv = t->dfn[to];
			if (!dv) {
				v = to;
				break;
			}
			if (dv > du) {
				if (du < t->semi[dv])
					t->semi[dv] = du;
			} else if (dv < du && kept) {
				kept[k++] = dv;
			}
		}
		if (e == end) {
			if (kept && k < end)
				kept[k] = NOT_ESSENTIAL;
			sp--;
			continue;
		}
		t->stack_edge[sp - 1] = e + 1;
		if (kept)
			t->stack_kept[sp - 1] = k;
		number(t, v, (*next)++, du);
		t->stack[sp] = v;
		t->stack_edge[sp] = s->first_edge[v];
		if (kept)
			t->stack_kept[sp] = s->first_edge[v];
		sp++;
	}
}

/* Number every node: first what the root reaches, then each unreached node as
 * a virtual child of the root (the root, number 1, is its predecessor: semi 1). */
static void number_vertices(const struct hs_snapshot *s, uint32_t *kept, struct lt *t)
{
	uint32_t next = 1;
	number(t, 0, next++, 0);
	dfs_from(s, kept, t, 0, &next);
	for (uint32_t v = 1; v < s->node_count; v++) {
		if (t->dfn[v])
			continue;
		number(t, v, next++, 1);
		dfs_from(s, kept, t, v, &next);
	}
}

/* The predecessor lists from the pred_first counts (inclusive prefix sums turned
 * into list starts by the fill) as bits: has_pred and list_start. */
static int lists_to_bits(struct lt *t, const uint32_t *first)
{
	if (!(t->has_pred = bits_alloc((size_t)t->n + 1)) || !(t->list_start = bits_alloc(t->pred_count)))
		return -ENOMEM;
	for (uint32_t w = 1; w <= t->n; w++) {
		if (first[w + 1] > first[w]) {
			bit_set(t->has_pred, w);
			bit_set(t->list_start, first[w]);
		}
	}
	return 0;
}

/* Without owning the edges: count, then fill each list from its end down, so
 * pred_first needs no cursor array beside it. The order inside a list does not
 * matter (semi is a minimum). */
static int build_predecessors_copy(const struct hs_snapshot *s, struct lt *t)
{
	uint32_t n = t->n, *first = calloc((size_t)n + 2, 4);
	if (!first)
		return -ENOMEM;
	for (uint32_t u = 0; u < s->node_count; u++) {
		uint32_t du = t->dfn[u];
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++) {
			uint32_t to = essential_target(s, u, e);
			if (to != NOT_ESSENTIAL && t->dfn[to] < du)
				first[t->dfn[to]]++;
		}
	}
	for (uint32_t w = 1; w <= n + 1; w++)
		first[w] += first[w - 1];
	t->pred_count = first[n + 1];
	if (!(t->pred = malloc(((size_t)t->pred_count + 1) * 4))) {
		free(first);
		return -ENOMEM;
	}
	for (uint32_t u = 0; u < s->node_count; u++) {
		uint32_t du = t->dfn[u];
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++) {
			uint32_t to = essential_target(s, u, e);
			if (to != NOT_ESSENTIAL && t->dfn[to] < du)
				t->pred[--first[t->dfn[to]]] = du;
		}
	}
	int rc = lists_to_bits(t, first);
	free(first);
	return rc;
}

/* ---- the predecessor lists built in place of edge_to (hs_dominators_compute_consume) ----
 * After the DFS each node's range of edge_to starts with the DFS numbers of its kept
 * targets. They are packed to the front (first_edge follows), which leaves free at
 * least one slot per tree edge at the back. The lists are then built in rounds, each
 * for a range of targets, highest first, whose entries fit the free space: a
 * counting sort writes their sources just below the lists already built at the back,
 * and the entries not taken are packed down, so the free space stays the same while
 * the input shrinks. At the end the lists are moved to the front and the array
 * shrunk: no second edge-sized array exists at any time. */
struct rounds {
	uint32_t *buf;
	size_t cap;               /* entries of buf */
	uint32_t in;              /* kept entries still at the front */
	size_t top;               /* the lists built so far: [top, cap) */
	unsigned shift;           /* a coarse block: 1 << shift targets */
	uint32_t *coarse;         /* kept entries per block of targets */
	uint32_t span;            /* targets per round at most (whole blocks) */
	uint32_t free_cap;        /* free entries per round at most (tests), 0: none */
	uint32_t *count;          /* per target of the round: entries, then list ends */
};

static uint32_t pack_kept(struct hs_snapshot *s, struct rounds *r)
{
	uint32_t w = 0;
	for (uint32_t u = 0; u < s->node_count; u++) {
		uint32_t e = s->first_edge[u], end = s->first_edge[u + 1];
		s->first_edge[u] = w;
		for (; e < end && r->buf[e] != NOT_ESSENTIAL; e++) {
			r->coarse[r->buf[e] >> r->shift]++;
			r->buf[w++] = r->buf[e];
		}
	}
	s->first_edge[s->node_count] = w;
	return w;
}

/* The free space every round gets: the slack behind the packed entries, grown
 * when it cannot hold the largest block or an eighth of the entries. */
static int plan_free_space(struct rounds *r, uint32_t nblocks, size_t *free_space)
{
	size_t need = r->in / 8 + 1, slack = r->cap - r->in;
	for (uint32_t b = 0; b < nblocks; b++)
		if (r->coarse[b] > need)
			need = r->coarse[b];
	size_t f = r->free_cap && r->free_cap < slack ? r->free_cap : slack;
	if (f < need)
		f = need;
	if (r->in + f > r->cap) {
		uint32_t *grown = realloc(r->buf, (r->in + f) * 4);
		if (!grown)
			return -ENOMEM;
		r->buf = grown;
		r->cap = r->in + f;
	}
	r->top = r->cap;
	*free_space = f;
	return 0;
}

/* Sources of the entries with targets in [lo, hi) into their lists below top; the
 * others packed down. */
static void distribute(struct hs_snapshot *s, struct lt *t, struct rounds *r, uint32_t lo, uint32_t hi)
{
	uint32_t w = 0;
	for (uint32_t u = 0; u < s->node_count; u++) {
		uint32_t e = s->first_edge[u], end = s->first_edge[u + 1], du = t->dfn[u];
		s->first_edge[u] = w;
		for (; e < end; e++) {
			uint32_t x = r->buf[e];
			if (x >= lo && x < hi)
				r->buf[--r->count[x - lo]] = du;
			else
				r->buf[w++] = x;
		}
	}
	s->first_edge[s->node_count] = w;
	r->in = w;
}

/* One round: targets [lo, hi), taking `entries` of the input. */
static void round_of(struct hs_snapshot *s, struct lt *t, struct rounds *r, uint32_t lo, uint32_t hi,
		     size_t entries)
{
	uint32_t len = hi - lo;
	size_t base = r->top - entries, final_base = r->cap - t->pred_count;
	memset(r->count, 0, (size_t)len * 4);
	for (uint32_t i = 0; i < r->in; i++)
		if (r->buf[i] >= lo && r->buf[i] < hi)
			r->count[r->buf[i] - lo]++;
	size_t at = base;
	for (uint32_t x = 0; x < len; x++) {
		if (r->count[x]) {
			bit_set(t->has_pred, lo + x);
			bit_set(t->list_start, at - final_base);
		}
		at += r->count[x];
		r->count[x] = (uint32_t)at; /* filled from its end down */
	}
	distribute(s, t, r, lo, hi);
	r->top = base;
}

static int build_in_rounds(struct hs_snapshot *s, struct lt *t, struct rounds *r)
{
	uint32_t nblocks = (t->n >> r->shift) + 1;
	size_t free_space;
	if (plan_free_space(r, nblocks, &free_space) < 0)
		return -ENOMEM;
	if (!(r->count = malloc(((size_t)r->span + 1) * 4)))
		return -ENOMEM;
	uint32_t hi_block = nblocks;
	while (hi_block > 0) {
		uint32_t lo_block = hi_block - 1;
		size_t entries = r->coarse[lo_block];
		while (lo_block > 0 && entries + r->coarse[lo_block - 1] <= free_space &&
		       ((uint64_t)(hi_block - lo_block + 1) << r->shift) <= r->span)
			entries += r->coarse[--lo_block];
		uint64_t lo = (uint64_t)lo_block << r->shift, hi = (uint64_t)hi_block << r->shift;
		if (hi > (uint64_t)t->n + 1)
			hi = (uint64_t)t->n + 1;
		if (entries)
			round_of(s, t, r, (uint32_t)lo, (uint32_t)hi, entries);
		hi_block = lo_block;
	}
	return 0;
}

static int build_predecessors_in_place(struct hs_snapshot *s, struct lt *t, uint32_t round_targets,
				       uint32_t round_free)
{
	struct rounds r = { .buf = s->edge_to, .cap = s->edge_count, .shift = round_targets ? 0 : 6,
			    .free_cap = round_free };
	s->edge_to = NULL; /* r.buf owns it now */
	uint32_t span = round_targets ? round_targets : t->n / 4;
	r.span = span > (1u << r.shift) ? span & ~((1u << r.shift) - 1) : 1u << r.shift;
	int rc = -ENOMEM;
	if (!(r.coarse = calloc(((size_t)t->n >> r.shift) + 1, 4)))
		goto done;
	r.in = t->pred_count = pack_kept(s, &r);
	if (!(t->has_pred = bits_alloc((size_t)t->n + 1)) || !(t->list_start = bits_alloc(t->pred_count)) ||
	    build_in_rounds(s, t, &r) < 0)
		goto done;
	memmove(r.buf, r.buf + r.top, (size_t)t->pred_count * 4);
	uint32_t *shrunk = realloc(r.buf, ((size_t)t->pred_count + 1) * 4);
	t->pred = shrunk ? shrunk : r.buf;
	r.buf = NULL;
	rc = 0;
done:
	free(r.buf);
	free(r.coarse);
	free(r.count);
	return rc;
}

/* The consuming caller's edges: non-essential ones marked in edge_to, so the types
 * and names can go before anything is allocated. */
static void mark_inessential(struct hs_snapshot *s)
{
	for (uint32_t u = 0; u < s->node_count; u++)
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++)
			if (!hs_edge_is_essential(s, u, e))
				s->edge_to[e] = NOT_ESSENTIAL;
	free(s->edge_type);
	free(s->edge_name);
	s->edge_type = NULL;
	s->edge_name = NULL;
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
	uint32_t i = t->pred_count; /* the lists are read from the top down, w's last */
	for (uint32_t w = n; w >= 2; w--) {
		if (bit_get(t->has_pred, w)) {
			do {
				uint32_t u = eval(t, t->pred[--i]);
				if (t->semi[u] < t->semi[w])
					t->semi[w] = t->semi[u];
			} while (!bit_get(t->list_start, i));
		}
		t->ancestor[w] = t->parent[w]; /* link */
	}
	return 0;
}

/* idom(w) = the nearest common ancestor of parent(w) and semi(w) in the
 * dominator tree built so far: climb from parent(w) while above semi(w). Written
 * over parent[], read only at w itself. */
static void nearest_common_ancestors(struct lt *t)
{
	t->idom = t->parent;
	t->parent = NULL;
	t->idom[1] = 1;
	for (uint32_t w = 2; w <= t->n; w++) {
		uint32_t x = t->idom[w]; /* parent(w) until now */
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

static int predecessors(struct hs_snapshot *consume, const struct hs_snapshot *s, struct lt *t,
			uint32_t round_targets, uint32_t round_free)
{
	number_vertices(s, consume ? consume->edge_to : NULL, t);
	release(&t->stack_kept); /* DFS only: give them back before the predecessor lists */
	release(&t->stack_edge);
	release(&t->stack);
	if (!consume)
		return build_predecessors_copy(s, t);
	int rc = build_predecessors_in_place(consume, t, round_targets, round_free);
	drop_edges(consume);
	return rc;
}

static int compute(struct hs_snapshot *consume, const struct hs_snapshot *s, uint32_t round_targets,
		   uint32_t round_free, struct hs_dominators **out, char *err, size_t errlen)
{
	struct lt t = { 0 };
	struct hs_dominators *d = calloc(1, sizeof(*d));
	*out = NULL;
	if (consume && s->node_count)
		mark_inessential(consume);
	if (!d || s->node_count == 0 || lt_alloc(&t, s->node_count, consume) < 0 ||
	    predecessors(consume, s, &t, round_targets, round_free) < 0 || invert_numbering(&t) < 0)
		goto fail;
	release(&t.dfn);
	/* the compression stack: fresh pages, touched only as deep as the paths go */
	if (!(t.stack = malloc(((size_t)s->node_count + 1) * 4)) || semidominators(&t) < 0)
		goto fail;
	release(&t.pred);
	release_bits(&t.has_pred);
	release_bits(&t.list_start);
	release(&t.label);
	release(&t.ancestor);
	nearest_common_ancestors(&t);
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
	return compute(NULL, s, 0, 0, out, err, errlen);
}

int hs_dominators_compute_consume_rounds(struct hs_snapshot *s, uint32_t round_targets, uint32_t round_free,
					 struct hs_dominators **out, char *err, size_t errlen)
{
	int rc = compute(s, s, round_targets, round_free, out, err, errlen);
	drop_edges(s); /* also after a failure: the promise is the same either way */
	return rc;
}

int hs_dominators_compute_consume(struct hs_snapshot *s, struct hs_dominators **out,
				  char *err, size_t errlen)
{
	return hs_dominators_compute_consume_rounds(s, 0, 0, out, err, errlen);
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
