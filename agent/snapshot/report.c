// SPDX-License-Identifier: Apache-2.0
/* Summary view and the automatic leak report (see report.h). Both sum retained
 * sizes per class over a walk of the dominator tree that skips instances already
 * covered by a dominating instance of the same class. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/diff.h"
#include "snapshot/places.h"
#include "snapshot/report.h"

/* ---- per-class retained sizes over the dominator tree -------------------- */

/* A preorder walk of the dominator tree that calls enter(ctx, v, slot) and, once its
 * subtree is done, leave(ctx, v, slot) for every node with take[v] set, the root
 * included; slot is a word per open node the visitor may keep state in. */
struct dom_visitor {
	void (*enter)(void *ctx, uint32_t v, uint32_t *slot);
	void (*leave)(void *ctx, uint32_t v, uint32_t *slot);
	void *ctx;
};

static int walk_taken(const struct hs_snapshot *s, const struct hs_dominators *dom, const uint8_t *take,
		      const struct dom_visitor *vis)
{
	uint32_t n = s->node_count, sp = 0;
	uint32_t *stack = malloc((size_t)n * 4), *cursor = malloc((size_t)n * 4), *slot = malloc((size_t)n * 4);
	if (!stack || !cursor || !slot) {
		free(stack);
		free(cursor);
		free(slot);
		return -ENOMEM;
	}
	stack[sp] = 0;
	cursor[sp] = dom->child_first[0];
	if (take[0])
		vis->enter(vis->ctx, 0, &slot[sp]);
	sp++;
	while (sp > 0) {
		uint32_t v = stack[sp - 1];
		if (cursor[sp - 1] == dom->child_first[v + 1]) {
			if (take[v])
				vis->leave(vis->ctx, v, &slot[sp - 1]);
			sp--;
			continue;
		}
		uint32_t c = dom->child[cursor[sp - 1]++];
		stack[sp] = c;
		cursor[sp] = dom->child_first[c];
		if (take[c])
			vis->enter(vis->ctx, c, &slot[sp]);
		sp++;
	}
	free(stack);
	free(cursor);
	free(slot);
	return 0;
}

/* For every node with take[v] set, add retained[v] to sum[class key] unless a
 * dominator of v is also taken and of the same class. */
struct class_sum {
	const struct hs_snapshot *s;
	const struct hs_dominators *dom;
	uint32_t *depth;           /* per class key: taken ancestors of that class on the path */
	uint64_t *sum;
};

static void class_sum_enter(void *ctx, uint32_t v, uint32_t *slot)
{
	struct class_sum *cs = ctx;
	uint32_t k = hs_class_key(cs->s, v);
	(void)slot;
	if (cs->depth[k]++ == 0)
		cs->sum[k] += cs->dom->retained[v];
}

static void class_sum_leave(void *ctx, uint32_t v, uint32_t *slot)
{
	struct class_sum *cs = ctx;
	(void)slot;
	cs->depth[hs_class_key(cs->s, v)]--;
}

static int sum_retained_by_class(const struct hs_snapshot *s, const struct hs_dominators *dom,
				 const uint8_t *take, uint64_t *sum)
{
	struct class_sum cs = { .s = s, .dom = dom, .sum = sum,
				.depth = calloc(hs_class_key_count(s) ? hs_class_key_count(s) : 1, sizeof(uint32_t)) };
	struct dom_visitor vis = { class_sum_enter, class_sum_leave, &cs };
	int rc = cs.depth ? walk_taken(s, dom, take, &vis) : -1;
	free(cs.depth);
	return rc;
}

/* ---- Summary view -------------------------------------------------------- */

static int cmp_summary(const void *pa, const void *pb)
{
	const struct hs_class_summary *a = pa, *b = pb;
	if (a->retained_bytes != b->retained_bytes)
		return a->retained_bytes > b->retained_bytes ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Gather the per-key totals into out, merging keys that print the same name. */
static int collect_summary(const struct hs_snapshot *s, const uint64_t *count, const uint64_t *shallow,
			   const uint64_t *retained, struct hs_summary *out)
{
	uint32_t keys = hs_class_key_count(s);
	struct hs_name_table *names = hs_name_table_new();
	out->classes = calloc(keys ? keys : 1, sizeof(*out->classes));
	if (!names || !out->classes) {
		hs_name_table_free(names);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < keys; k++) {
		if (!count[k])
			continue;
		char buf[80];
		long idx = hs_name_table_intern(names, hs_class_key_name(s, k, buf, sizeof(buf)));
		if (idx < 0) {
			hs_name_table_free(names);
			return -ENOMEM;
		}
		struct hs_class_summary *c = &out->classes[idx];
		if ((size_t)idx == out->count) {
			if (!(c->name = strdup(hs_name_table_name(names, (size_t)idx)))) {
				hs_name_table_free(names);
				return -ENOMEM;
			}
			out->count++;
		}
		c->count += count[k];
		c->shallow_bytes += shallow[k];
		c->retained_bytes += retained[k];
	}
	hs_name_table_free(names);
	qsort(out->classes, out->count, sizeof(*out->classes), cmp_summary);
	return 0;
}

int hs_summary_compute(const struct hs_snapshot *s, const struct hs_dominators *dom,
		       struct hs_summary *out, char *err, size_t errlen)
{
	uint32_t keys = hs_class_key_count(s);
	uint64_t *count = calloc(keys, 8), *shallow = calloc(keys, 8), *retained = calloc(keys, 8);
	uint8_t *take = malloc(s->node_count);
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (!count || !shallow || !retained || !take)
		goto done;
	for (uint32_t v = 0; v < s->node_count; v++) {
		take[v] = hs_node_counted(s, v);
		if (take[v]) {
			uint32_t k = hs_class_key(s, v);
			count[k]++;
			shallow[k] += hs_node_self_size(s, v);
		}
	}
	if (sum_retained_by_class(s, dom, take, retained) < 0 ||
	    collect_summary(s, count, shallow, retained, out) < 0)
		goto done;
	rc = 0;
done:
	if (rc < 0) {
		hs_summary_free(out);
		snprintf(err, errlen, "out of memory computing the summary");
	}
	free(count);
	free(shallow);
	free(retained);
	free(take);
	return rc;
}

void hs_summary_free(struct hs_summary *sum)
{
	if (!sum || !sum->classes)
		return;
	for (size_t i = 0; i < sum->count; i++)
		free(sum->classes[i].name);
	free(sum->classes);
	sum->classes = NULL;
	sum->count = 0;
}

json_t *hs_summary_to_json(const struct hs_summary *sum, size_t top)
{
	size_t n = top && top < sum->count ? top : sum->count;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const struct hs_class_summary *c = &sum->classes[i];
		json_t *o = json_pack("{s:o, s:I, s:I, s:I}", "class", hs_json_class_name(c->name),
				      "count", (json_int_t)c->count,
				      "shallow_bytes", (json_int_t)c->shallow_bytes,
				      "retained_bytes", (json_int_t)c->retained_bytes);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

void hs_summary_print(FILE *f, const struct hs_summary *sum, size_t top)
{
	size_t n = top && top < sum->count ? top : sum->count;
	fprintf(f, "%-40s %10s %14s %14s\n", "Class", "Count", "Shallow Size", "Retained Size");
	for (size_t i = 0; i < n; i++) {
		const struct hs_class_summary *c = &sum->classes[i];
		char name[HS_CLASS_CELL];
		hs_text_class_name(c->name, name);
		fprintf(f, "%-40s %10" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", name, c->count,
			c->shallow_bytes, c->retained_bytes);
	}
	if (n < sum->count)
		fprintf(f, "(%zu more classes; --top N or --json for all)\n", sum->count - n);
}

/* ---- the automatic report ------------------------------------------------ */

/* A constructor class: object or native, not "(…)" and not V8's "system / …". */
static bool is_constructor_node(const struct hs_snapshot *s, uint32_t v)
{
	uint8_t t = s->node_type[v];
	if (t != s->t_object && t != s->t_native)
		return false;
	const char *name = hs_snapshot_string(s, s->node_name[v]);
	return name[0] && name[0] != '(' && strncmp(name, "system / ", 9) != 0;
}

struct growth {
	uint32_t key;
	const char *name;
	uint64_t new_count, retained, shallow;
	uint64_t score;       /* retained, less what it merely holds of an accumulating class */
	long held;            /* index of the class it holds (demoted for), or -1 */
};

static int cmp_growth(const void *pa, const void *pb)
{
	const struct growth *a = pa, *b = pb;
	if (a->retained != b->retained)
		return a->retained > b->retained ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_score(const void *pa, const void *pb)
{
	const struct growth *a = pa, *b = pb;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return cmp_growth(pa, pb);
}

/* ---- holders: a collection, list or runtime object that merely holds the instances
 * that accumulate ranks above them by retained size (one Map, TimersList or listener
 * array retaining every leaked object). Among the HOLDER_TOP largest classes, K holds
 * J when J's instances inside K's make at least half of K's retained size and there
 * are at least HOLDER_FANOUT of them per innermost K instance that holds any. A
 * collection's fan-out grows with the leak (one Map, thousands of entries); a record's
 * is its shape (an Order with 12 line items, each an Object, is no holder of Objects:
 * e2e/55's orders), so the bar is set well above a record's parts. A holder's score is its
 * retained size less the largest such share: it then ranks by what it keeps itself,
 * and shows up in the retainer path of the class it holds. */
#define HOLDER_TOP 16
#define HOLDER_FANOUT 64

struct holder_walk {
	const struct hs_snapshot *s;
	const struct hs_dominators *dom;
	uint32_t m;                         /* classes considered */
	int32_t *top_of_key;                /* class key -> index, or -1 */
	uint32_t *depth;                    /* per key: taken ancestors of that class on the path */
	uint32_t *innermost;                /* per index: innermost instance on the path (UINT32_MAX none) */
	uint64_t inside[HOLDER_TOP][HOLDER_TOP];   /* retained of counted J instances inside K */
	uint32_t count[HOLDER_TOP][HOLDER_TOP];    /* how many */
	uint32_t holders[HOLDER_TOP][HOLDER_TOP];  /* distinct innermost K instances holding them */
	uint32_t last[HOLDER_TOP][HOLDER_TOP];     /* the K instance last credited */
};

static void credit_holders(struct holder_walk *hw, uint32_t j, uint32_t v)
{
	for (uint32_t k = 0; k < hw->m; k++) {
		uint32_t in = hw->innermost[k];
		if (k == j || in == UINT32_MAX)
			continue;
		hw->inside[k][j] += hw->dom->retained[v];
		hw->count[k][j]++;
		if (hw->last[k][j] != in) {
			hw->last[k][j] = in;
			hw->holders[k][j]++;
		}
	}
}

/* A counted instance (the outermost of its class on the path) of a considered class
 * credits every considered class with an instance above it; slot keeps the innermost
 * instance of v's class that v hides, restored on leaving. */
static void holder_enter(void *ctx, uint32_t v, uint32_t *slot)
{
	struct holder_walk *hw = ctx;
	uint32_t key = hs_class_key(hw->s, v);
	int32_t j = hw->top_of_key[key];
	*slot = UINT32_MAX;
	if (j >= 0 && hw->depth[key] == 0)
		credit_holders(hw, (uint32_t)j, v);
	hw->depth[key]++;
	if (j >= 0) {
		*slot = hw->innermost[j];
		hw->innermost[j] = v;
	}
}

static void holder_leave(void *ctx, uint32_t v, uint32_t *slot)
{
	struct holder_walk *hw = ctx;
	uint32_t key = hs_class_key(hw->s, v);
	hw->depth[key]--;
	if (hw->top_of_key[key] >= 0)
		hw->innermost[hw->top_of_key[key]] = *slot;
}

/* Scores g[0..n) (sorted by retained) and re-sorts them by score. */
static int demote_holders(const struct hs_snapshot *s, const struct hs_dominators *dom, const uint8_t *take,
			  struct growth *g, size_t n)
{
	uint32_t keys = hs_class_key_count(s);
	struct holder_walk *hw = calloc(1, sizeof(*hw));
	int rc = -1;
	for (size_t i = 0; i < n; i++)
		g[i].score = g[i].retained, g[i].held = -1;
	if (!hw || !(hw->top_of_key = malloc(keys * sizeof(int32_t))) ||
	    !(hw->depth = calloc(keys, sizeof(uint32_t))) || !(hw->innermost = malloc(HOLDER_TOP * sizeof(uint32_t))))
		goto done;
	memset(hw->top_of_key, 0xff, keys * sizeof(int32_t));
	memset(hw->innermost, 0xff, HOLDER_TOP * sizeof(uint32_t));
	memset(hw->last, 0xff, sizeof(hw->last));
	hw->s = s;
	hw->dom = dom;
	hw->m = n < HOLDER_TOP ? (uint32_t)n : HOLDER_TOP;
	for (uint32_t i = 0; i < hw->m; i++)
		hw->top_of_key[g[i].key] = (int32_t)i;
	struct dom_visitor vis = { holder_enter, holder_leave, hw };
	if (walk_taken(s, dom, take, &vis) < 0)
		goto done;
	for (uint32_t k = 0; k < hw->m; k++)
		for (uint32_t j = 0; j < hw->m; j++) {
			uint64_t share = hw->inside[k][j];
			if (j == k || share * 2 < g[k].retained ||
			    hw->count[k][j] < (uint64_t)HOLDER_FANOUT * hw->holders[k][j])
				continue;
			uint64_t left = g[k].retained > share ? g[k].retained - share : 0;
			if (left < g[k].score)
				g[k].score = left, g[k].held = j;
		}
	qsort(g, n, sizeof(*g), cmp_score);
	rc = 0;
done:
	if (hw) {
		free(hw->top_of_key);
		free(hw->depth);
		free(hw->innermost);
	}
	free(hw);
	return rc;
}

static const struct hs_class_diff *find_diff(const struct hs_diff *d, const char *name)
{
	for (size_t i = 0; i < d->count; i++)
		if (strcmp(d->classes[i].name, name) == 0)
			return &d->classes[i];
	return NULL;
}

/* The ranked growing classes; *n_out entries, largest first. */
static struct growth *rank_growth(const struct hs_snapshot *s, const struct hs_dominators *dom,
				  uint8_t *take, size_t *n_out)
{
	uint32_t keys = hs_class_key_count(s);
	uint64_t *retained = calloc(keys, 8), *count = calloc(keys, 8), *shallow = calloc(keys, 8);
	struct growth *g = NULL;
	size_t n = 0;
	if (!retained || !count || !shallow)
		goto done;
	for (uint32_t v = 0; v < s->node_count; v++) {
		take[v] = take[v] && hs_node_counted(s, v) && is_constructor_node(s, v);
		if (take[v]) {
			count[hs_class_key(s, v)]++;
			shallow[hs_class_key(s, v)] += hs_node_self_size(s, v);
		}
	}
	if (sum_retained_by_class(s, dom, take, retained) < 0)
		goto done;
	g = malloc(sizeof(*g) * (keys ? keys : 1));
	if (!g)
		goto done;
	for (uint32_t k = 0; k < keys; k++)
		if (count[k])
			g[n++] = (struct growth){ .key = k, .name = hs_snapshot_string(s, k), .new_count = count[k],
						  .retained = retained[k], .shallow = shallow[k] };
	qsort(g, n, sizeof(*g), cmp_growth);
	if (demote_holders(s, dom, take, g, n) < 0) {
		free(g);
		g = NULL;
		n = 0;
	}
done:
	free(retained);
	free(count);
	free(shallow);
	*n_out = n;
	return g;
}

/* by_class: c is from hs_diff_by_class, and g counted every instance of the class */
static json_t *growth_entry(const struct hs_snapshot *s, const struct growth *g,
			    const struct hs_class_diff *c, bool by_class)
{
	const char *name = hs_snapshot_string(s, g->key);
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I}", "class", hs_json_class_name(name),
			 "new_count", (json_int_t)(by_class ? c->new_count : g->new_count),
			 "retained_bytes", (json_int_t)g->retained,
			 "alloc_bytes", (json_int_t)c->alloc_bytes,
			 "delta_count", (json_int_t)c->delta_count,
			 "delta_bytes", (json_int_t)c->delta_bytes);
}

static void edge_label(const struct hs_snapshot *s, uint32_t e, char *buf, size_t len)
{
	uint8_t t = s->edge_type[e];
	if (!s->edge_name)
		snprintf(buf, len, "?");
	else if (t == s->e_element || t == s->e_hidden)
		snprintf(buf, len, "[%" PRIu32 "]", s->edge_name[e]);
	else
		snprintf(buf, len, "%s", hs_snapshot_string(s, s->edge_name[e]));
}

static json_t *path_element(const struct hs_snapshot *s, uint32_t v, long edge)
{
	char cls[80], label[512], node[600];
	const char *name = hs_class_key_name(s, hs_class_key(s, v), cls, sizeof(cls));
	if (strcmp(hs_snapshot_node_type_name(s, v), "synthetic") == 0 &&
	    hs_snapshot_string(s, s->node_name[v])[0])
		name = hs_snapshot_string(s, s->node_name[v]); /* "(GC roots)", "(Global handles)" */
	snprintf(node, sizeof(node), "%.500s @%" PRIu32, name, s->node_id[v]);
	json_t *o = json_object();
	if (o && json_object_set_new(o, "node", hs_json_class_name(node)) < 0)
		o = (json_decref(o), NULL);
	if (o && edge >= 0) {
		edge_label(s, (uint32_t)edge, label, sizeof(label));
		if (json_object_set_new(o, "edge", hs_json_class_name(label)) < 0)
			o = (json_decref(o), NULL);
	}
	return o;
}

/* A run of more than PATH_RUN nodes of one class (a linked list: TimersList ->
 * Timeout -> Timeout ...) shows as its first node, "(N more CLASS)" and its last
 * node; a path of more than PATH_MAX_ELEMENTS elements after that keeps its two ends. */
#define PATH_RUN 3
#define PATH_MAX_ELEMENTS 24

static json_t *path_gap(const char *what, size_t count)
{
	char label[160];
	snprintf(label, sizeof(label), "(%zu more%s%.100s)", count, what[0] ? " " : "", what);
	return json_pack("{s:o}", "node", hs_json_class_name(label));
}

/* The path's edges, target first (edges[len-1] leaves the root), as elements in arr. */
static int append_path(const struct hs_snapshot *s, const uint32_t *edges, size_t len, json_t *arr)
{
	size_t i = len, emitted = 0, budget_head = PATH_MAX_ELEMENTS / 2;
	bool capped = false;
	while (i-- > 0) {
		uint32_t node = s->edge_to[edges[i]];
		uint32_t key = hs_class_key(s, node);
		size_t run = 1;
		while (run <= i && hs_class_key(s, s->edge_to[edges[i - run]]) == key)
			run++;
		if (run > PATH_RUN) {
			char cls[80];
			json_t *first = path_element(s, node, (long)edges[i - 1]);
			json_t *gap = path_gap(hs_class_key_name(s, key, cls, sizeof(cls)), run - 2);
			if (!first || json_array_append_new(arr, first) < 0 || !gap || json_array_append_new(arr, gap) < 0)
				return -ENOMEM;
			i -= run - 1; /* now at the run's last node */
			node = s->edge_to[edges[i]];
			emitted += 2;
		} else if (!capped && emitted >= budget_head && i + 1 > PATH_MAX_ELEMENTS - budget_head) {
			size_t skip = i + 1 - (PATH_MAX_ELEMENTS - budget_head - 1);
			json_t *gap = path_gap("", skip);
			if (!gap || json_array_append_new(arr, gap) < 0)
				return -ENOMEM;
			i -= skip;
			node = s->edge_to[edges[i]];
			emitted++;
			capped = true;
		}
		json_t *o = path_element(s, node, i > 0 ? (long)edges[i - 1] : -1);
		if (!o || json_array_append_new(arr, o) < 0)
			return -ENOMEM;
		emitted++;
	}
	return 0;
}

/* Shortest non-weak path from the root to target, as report.h describes it. */
static json_t *retainer_path(const struct hs_snapshot *s, uint32_t target)
{
	uint32_t n = s->node_count;
	uint32_t *via = malloc((size_t)n * 4), *queue = malloc((size_t)n * 4);
	json_t *arr = json_array();
	if (!via || !queue || !arr)
		goto fail;
	memset(via, 0xff, (size_t)n * 4);
	size_t head = 0, tail = 0;
	queue[tail++] = 0;
	via[0] = 0;
	while (head < tail && via[target] == UINT32_MAX) {
		uint32_t u = queue[head++];
		for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++) {
			uint32_t v = s->edge_to[e];
			if (via[v] != UINT32_MAX || !hs_edge_is_essential(s, u, e))
				continue;
			via[v] = e;
			queue[tail++] = v;
		}
	}
	if (via[target] == UINT32_MAX || target == 0)
		goto done; /* unreachable: no path to show */
	/* walk back: queue reused as the path, target first */
	size_t len = 0;
	for (uint32_t v = target; v != 0;) {
		queue[len++] = via[v];
		uint32_t e = via[v], from = 0;
		/* the edge's source: the node whose edge range holds e (binary search) */
		uint32_t lo = 0, hi = n;
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (s->first_edge[mid] <= e)
				lo = mid;
			else
				hi = mid;
		}
		from = lo;
		while (from + 1 < n && s->first_edge[from + 1] <= e)
			from++;
		v = from;
		if (len > n)
			goto fail;
	}
	/* queue[len-1] is the edge leaving the root; elements start at its target */
	if (append_path(s, queue, len, arr) < 0)
		goto fail;
done:
	free(via);
	free(queue);
	return arr;
fail:
	free(via);
	free(queue);
	json_decref(arr);
	return NULL;
}

/* The new instance of class key k with the largest retained size. */
static uint32_t biggest_instance(const struct hs_snapshot *s, const struct hs_dominators *dom,
				 const uint8_t *take, uint32_t k)
{
	uint32_t best = 0;
	for (uint32_t v = 1; v < s->node_count; v++)
		if (take[v] && hs_class_key(s, v) == k && (!best || dom->retained[v] > dom->retained[best]))
			best = v;
	return best;
}

#define ENTRY_CLIMB 64 /* dominators climbed from an instance to an entry holding it */

/* v is an entry of the first place, or held (dominated) by one within ENTRY_CLIMB. */
static bool in_first_place(const struct hs_dominators *dom, const uint8_t *first_entries, uint32_t v)
{
	for (int i = 0; i < ENTRY_CLIMB && v != 0; i++, v = dom->idom[v])
		if (first_entries[v])
			return true;
	return false;
}

/* With renumbered ids no instance is known to be new, and the class's largest may
 * be one the baseline had (a config object): the instance of class k inside the first
 * place (its entries accumulate: leaked by construction) with the largest retained
 * size; else the first place's largest entry; else k's largest instance. */
static uint32_t leaked_instance(const struct hs_snapshot *s, const struct hs_dominators *dom,
				const uint8_t *take, uint32_t k, const uint8_t *first_entries)
{
	uint32_t best = 0, entry = 0;
	for (uint32_t v = 1; v < s->node_count; v++) {
		if (first_entries[v] && (!entry || dom->retained[v] > dom->retained[entry]))
			entry = v;
		if (take[v] && hs_class_key(s, v) == k && (!best || dom->retained[v] > dom->retained[best]) &&
		    in_first_place(dom, first_entries, v))
			best = v;
	}
	if (best)
		return best;
	return entry ? entry : biggest_instance(s, dom, take, k);
}

static json_t *summary_entry(const struct hs_snapshot *s, const struct growth *g)
{
	return json_pack("{s:o, s:I, s:I, s:I}", "class", hs_json_class_name(hs_snapshot_string(s, g->key)),
			 "count", (json_int_t)g->new_count, "retained_bytes", (json_int_t)g->retained,
			 "shallow_bytes", (json_int_t)g->shallow);
}

/* The report from ranked classes: with a diff d (basis "diff"), only classes whose
 * count grew; without (basis "summary"), every constructor class of the snapshot.
 * by_class: d compares class aggregates (the ids were renumbered). */
static json_t *assemble_report(const struct hs_snapshot *snew, const struct hs_dominators *dom,
			       const struct hs_diff *d, bool by_class, uint8_t *take,
			       const struct hs_places_base *base_places)
{
	size_t n = 0;
	struct growth *g = NULL;
	uint8_t *first_entries = by_class ? malloc(snew->node_count ? snew->node_count : 1) : NULL;
	json_t *top = json_array(), *path = NULL, *report = NULL, *places = NULL;
	if (by_class && !first_entries)
		goto done;
	places = base_places ? hs_places_growth(snew, dom, base_places, HS_PLACE_TOP, first_entries)
			     : hs_places_compute(snew, dom, d ? take : NULL, HS_PLACE_TOP, first_entries);
	g = places ? rank_growth(snew, dom, take, &n) : NULL;
	if (!g || !top)
		goto done;
	size_t shown = 0;
	long first = -1;
	for (size_t i = 0; i < n && shown < HS_REPORT_TOP; i++) {
		json_t *o;
		if (d) {
			const struct hs_class_diff *c = find_diff(d, hs_snapshot_string(snew, g[i].key));
			if (!c || c->delta_count <= 0)
				continue; /* did not grow: e.g. embedder nodes that get fresh ids each time */
			o = growth_entry(snew, &g[i], c, by_class);
		} else {
			o = summary_entry(snew, &g[i]);
		}
		if (!o || json_array_append_new(top, o) < 0)
			goto done;
		if (first < 0)
			first = (long)i;
		shown++;
	}
	if (first < 0)
		path = json_array();
	else if (by_class)
		path = retainer_path(snew, leaked_instance(snew, dom, take, g[first].key, first_entries));
	else
		path = retainer_path(snew, biggest_instance(snew, dom, take, g[first].key));
	if (!path)
		goto done;
	report = json_pack("{s:s, s:O, s:O, s:O}", "basis", d ? "diff" : "summary", "places", places,
			   "top_growth", top, "retainer_path", path);
	if (report && d && json_object_set_new(report, "ids", json_string(by_class ? "renumbered" : "stable")) < 0)
		report = (json_decref(report), NULL);
done:
	free(g);
	free(first_entries);
	json_decref(places);
	json_decref(top);
	json_decref(path);
	return report;
}

json_t *hs_report_summary_compute(const struct hs_snapshot *s, char *err, size_t errlen)
{
	struct hs_dominators *dom = NULL;
	json_t *report = NULL;
	uint8_t *take = malloc(s->node_count ? s->node_count : 1);
	if (!s->edge_to && s->edge_count > 0) {
		snprintf(err, errlen, "the snapshot was loaded without its edges");
		goto done;
	}
	if (!take) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	memset(take, 1, s->node_count);
	if (hs_dominators_compute(s, &dom, err, errlen) < 0)
		goto done;
	report = assemble_report(s, dom, NULL, false, take, NULL);
	if (!report)
		snprintf(err, errlen, "out of memory building the report");
done:
	free(take);
	hs_dominators_free(dom);
	return report;
}

/* The baseline's places, when it was loaded with its edges (NULL and *failed false when
 * not: places then fall back to matching ids). */
static struct hs_places_base *base_places_of(const struct hs_snapshot *base, bool *failed, char *err,
					     size_t errlen)
{
	struct hs_dominators *dom = NULL;
	struct hs_places_base *bp = NULL;
	*failed = false;
	if (!base->edge_to && base->edge_count > 0)
		return NULL;
	if (hs_dominators_compute(base, &dom, err, errlen) == 0 && !(bp = hs_places_base_compute(base, dom)))
		snprintf(err, errlen, "out of memory finding the baseline's places");
	*failed = !bp;
	hs_dominators_free(dom);
	return bp;
}

/* Ids are renumbered when the sampled shared ids agree (same type and name on both
 * sides) less often than halfway between chance and always. Measured (docs/reports.md,
 * "Object ids and inspector sessions"): stable pairs agree on over 99 %, renumbered
 * ones on 5-23 %, with chance at 1.5-3 %, so the bar sits near 51 %. */
#define IDS_SAMPLE 100000

static int ids_renumbered(const struct hs_snapshot *base, const struct hs_snapshot *snew, bool *renumbered)
{
	struct hs_ids_agreement a;
	int rc = hs_ids_agreement(base, snew, IDS_SAMPLE, &a);
	*renumbered = rc == 0 && (double)a.same < (double)a.compared * (1 + a.by_chance) / 2;
	return rc;
}

/* take[v]: every instance in NEW of a class that d says grew. */
static int take_grown_classes(const struct hs_snapshot *snew, const struct hs_diff *d, uint8_t *take)
{
	uint32_t keys = hs_class_key_count(snew);
	uint8_t *grew = calloc(keys ? keys : 1, 1); /* per key: 0 not looked up, 1 grew, 2 did not */
	if (!grew)
		return -ENOMEM;
	for (uint32_t v = 0; v < snew->node_count; v++) {
		uint32_t k = hs_class_key(snew, v);
		if (!grew[k]) {
			char buf[80];
			const struct hs_class_diff *c = find_diff(d, hs_class_key_name(snew, k, buf, sizeof(buf)));
			grew[k] = c && c->delta_count > 0 ? 1 : 2;
		}
		take[v] = grew[k] == 1;
	}
	free(grew);
	return 0;
}

/* The diff by ids, or by class aggregates when the ids were renumbered; take[] is then
 * the new ids, or every instance of the classes that grew. */
static int compare(const struct hs_snapshot *base, const struct hs_snapshot *snew, struct hs_diff *d,
		   uint8_t *take, bool *renumbered, char *err, size_t errlen)
{
	if (ids_renumbered(base, snew, renumbered) < 0 || (!*renumbered && hs_match_ids(base, snew, take, NULL) < 0)) {
		snprintf(err, errlen, "out of memory matching ids");
		return -ENOMEM;
	}
	if (!*renumbered)
		return hs_diff_compute(base, snew, d, err, errlen);
	if (hs_diff_by_class(base, snew, d, err, errlen) < 0)
		return -ENOMEM;
	if (take_grown_classes(snew, d, take) < 0) {
		snprintf(err, errlen, "out of memory comparing classes");
		return -ENOMEM;
	}
	return 0;
}

/* The diff report; places by growth against bp when there is one, else by new ids. */
static json_t *report_against(const struct hs_snapshot *base, const struct hs_places_base *bp,
			      const struct hs_snapshot *snew, char *err, size_t errlen)
{
	struct hs_diff d = { 0 };
	struct hs_dominators *dom = NULL;
	json_t *report = NULL;
	bool renumbered = false;
	uint8_t *take = calloc(snew->node_count ? snew->node_count : 1, 1);
	if (!snew->edge_to && snew->edge_count > 0) {
		snprintf(err, errlen, "the new snapshot was loaded without its edges");
		goto done;
	}
	if (!take) {
		snprintf(err, errlen, "out of memory matching ids");
		goto done;
	}
	if (compare(base, snew, &d, take, &renumbered, err, errlen) < 0 ||
	    hs_dominators_compute(snew, &dom, err, errlen) < 0)
		goto done;
	report = assemble_report(snew, dom, &d, renumbered, take, bp);
	if (!report)
		snprintf(err, errlen, "out of memory building the report");
done:
	free(take);
	hs_diff_free(&d);
	hs_dominators_free(dom);
	return report;
}

json_t *hs_report_compute(const struct hs_snapshot *base, const struct hs_snapshot *snew,
			  char *err, size_t errlen)
{
	bool failed;
	struct hs_places_base *bp = base_places_of(base, &failed, err, errlen);
	json_t *report = failed ? NULL : report_against(base, bp, snew, err, errlen);
	hs_places_base_free(bp);
	return report;
}

int hs_report_build_max(const char *base_path, const char *new_path, uint64_t max_bytes, json_t **out,
			char *err, size_t errlen)
{
	struct hs_snapshot *base = NULL, *snew = NULL;
	struct hs_places_base *bp = NULL;
	char why[400];
	bool failed = false;
	int rc;

	*out = NULL;
	if (base_path) {
		/* the baseline's places before NEW is loaded: its dominators are gone by then */
		rc = hs_snapshot_load_max(base_path, 0, max_bytes, &base, why, sizeof(why));
		if (rc == 0 && !(bp = base_places_of(base, &failed, why, sizeof(why))) && failed)
			rc = -ENOMEM;
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", base_path, why);
			hs_snapshot_free(base);
			return rc;
		}
	}
	rc = hs_snapshot_load_max(new_path, 0, max_bytes, &snew, why, sizeof(why));
	if (rc == 0) {
		*out = base ? report_against(base, bp, snew, why, sizeof(why)) : hs_report_summary_compute(snew, why, sizeof(why));
		if (!*out)
			rc = -EINVAL;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", new_path, why);
	hs_places_base_free(bp);
	hs_snapshot_free(base);
	hs_snapshot_free(snew);
	return rc;
}

json_t *hs_report_build(const char *base_path, const char *new_path, char *err, size_t errlen)
{
	json_t *report;

	hs_report_build_max(base_path, new_path, 0, &report, err, errlen);
	return report;
}

json_t *hs_report_brief(const json_t *report, size_t top)
{
	json_t *growth = json_object_get(report, "top_growth");
	json_t *path = json_object_get(report, "retainer_path");
	if (!json_is_array(growth) || !json_is_array(path))
		return NULL;
	json_t *first = json_array();
	for (size_t i = 0; first && i < top && i < json_array_size(growth); i++)
		if (json_array_append(first, json_array_get(growth, i)) < 0)
			first = (json_decref(first), NULL);
	if (!first)
		return NULL;
	json_t *basis = json_object_get(report, "basis");
	json_t *brief = json_pack("{s:o, s:O, s:s}", "top_growth", first, "retainer_path", path, "basis",
				  json_is_string(basis) ? json_string_value(basis) : "diff");
	const char *place = json_string_value(json_object_get(json_array_get(json_object_get(report, "places"), 0),
								"text"));
	const char *stack = json_string_value(json_object_get(report, "top_stack"));
	if (brief && place)
		json_object_set_new(brief, "top_place", json_string(place));
	if (brief && stack)
		json_object_set_new(brief, "top_stack", json_string(stack));
	return brief;
}
