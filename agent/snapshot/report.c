/* Summary view and the automatic leak report (see report.h). Both sum retained
 * sizes per class over a walk of the dominator tree that skips instances already
 * covered by a dominating instance of the same class. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "report.h"

/* ---- per-class retained sizes over the dominator tree -------------------- */

/* For every node with take[v] set, add retained[v] to sum[class key] unless a
 * dominator of v is also taken and of the same class. Iterative preorder walk. */
static int sum_retained_by_class(const struct hs_snapshot *s, const struct hs_dominators *dom,
				 const uint8_t *take, uint64_t *sum)
{
	uint32_t n = s->node_count, sp = 0;
	uint32_t *depth = calloc(hs_class_key_count(s), sizeof(*depth));
	uint32_t *stack = malloc((size_t)n * 4), *cursor = malloc((size_t)n * 4);
	if (!depth || !stack || !cursor) {
		free(depth);
		free(stack);
		free(cursor);
		return -1;
	}
	stack[sp] = 0;
	cursor[sp++] = dom->child_first[0];
	if (take[0])
		sum[hs_class_key(s, 0)] += dom->retained[0], depth[hs_class_key(s, 0)]++;
	while (sp > 0) {
		uint32_t v = stack[sp - 1];
		if (cursor[sp - 1] == dom->child_first[v + 1]) {
			if (take[v])
				depth[hs_class_key(s, v)]--;
			sp--;
			continue;
		}
		uint32_t c = dom->child[cursor[sp - 1]++];
		if (take[c]) {
			uint32_t k = hs_class_key(s, c);
			if (depth[k]++ == 0)
				sum[k] += dom->retained[c];
		}
		stack[sp] = c;
		cursor[sp++] = dom->child_first[c];
	}
	free(depth);
	free(stack);
	free(cursor);
	return 0;
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
		return -1;
	}
	for (uint32_t k = 0; k < keys; k++) {
		if (!count[k])
			continue;
		char buf[80];
		long idx = hs_name_table_intern(names, hs_class_key_name(s, k, buf, sizeof(buf)));
		if (idx < 0) {
			hs_name_table_free(names);
			return -1;
		}
		struct hs_class_summary *c = &out->classes[idx];
		if ((size_t)idx == out->count) {
			if (!(c->name = strdup(hs_name_table_name(names, (size_t)idx)))) {
				hs_name_table_free(names);
				return -1;
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
			shallow[k] += s->node_self_size[v];
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
	uint64_t new_count, retained;
};

static int cmp_growth(const void *pa, const void *pb)
{
	const struct growth *a = pa, *b = pb;
	if (a->retained != b->retained)
		return a->retained > b->retained ? -1 : 1;
	return strcmp(a->name, b->name);
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
	uint64_t *retained = calloc(keys, 8), *count = calloc(keys, 8);
	struct growth *g = NULL;
	size_t n = 0;
	if (!retained || !count)
		goto done;
	for (uint32_t v = 0; v < s->node_count; v++) {
		take[v] = take[v] && hs_node_counted(s, v) && is_constructor_node(s, v);
		if (take[v])
			count[hs_class_key(s, v)]++;
	}
	if (sum_retained_by_class(s, dom, take, retained) < 0)
		goto done;
	g = malloc(sizeof(*g) * (keys ? keys : 1));
	if (!g)
		goto done;
	for (uint32_t k = 0; k < keys; k++)
		if (count[k])
			g[n++] = (struct growth){ .key = k, .name = hs_snapshot_string(s, k),
						  .new_count = count[k], .retained = retained[k] };
	qsort(g, n, sizeof(*g), cmp_growth);
done:
	free(retained);
	free(count);
	*n_out = n;
	return g;
}

static json_t *growth_entry(const struct hs_snapshot *s, const struct growth *g,
			    const struct hs_class_diff *c)
{
	const char *name = hs_snapshot_string(s, g->key);
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I}", "class", hs_json_class_name(name),
			 "new_count", (json_int_t)g->new_count,
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
	for (size_t i = len; i-- > 0;) {
		uint32_t node = s->edge_to[queue[i]];
		long next = i > 0 ? (long)queue[i - 1] : -1;
		json_t *o = path_element(s, node, next);
		if (!o || json_array_append_new(arr, o) < 0)
			goto fail;
	}
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

static json_t *assemble_report(const struct hs_snapshot *snew, const struct hs_dominators *dom,
			       const struct hs_diff *d, uint8_t *take)
{
	size_t n = 0;
	struct growth *g = rank_growth(snew, dom, take, &n);
	json_t *top = json_array(), *path = NULL, *report = NULL;
	if (!g || !top)
		goto done;
	size_t shown = 0;
	long first = -1;
	for (size_t i = 0; i < n && shown < HS_REPORT_TOP; i++) {
		const struct hs_class_diff *c = find_diff(d, hs_snapshot_string(snew, g[i].key));
		if (!c || c->delta_count <= 0)
			continue; /* did not grow: e.g. embedder nodes that get fresh ids each time */
		json_t *o = growth_entry(snew, &g[i], c);
		if (!o || json_array_append_new(top, o) < 0)
			goto done;
		if (first < 0)
			first = (long)i;
		shown++;
	}
	path = first >= 0 ? retainer_path(snew, biggest_instance(snew, dom, take, g[first].key))
			  : json_array();
	if (!path)
		goto done;
	report = json_pack("{s:O, s:O}", "top_growth", top, "retainer_path", path);
done:
	free(g);
	json_decref(top);
	json_decref(path);
	return report;
}

json_t *hs_report_compute(const struct hs_snapshot *base, const struct hs_snapshot *snew,
			  char *err, size_t errlen)
{
	struct hs_diff d = { 0 };
	struct hs_dominators *dom = NULL;
	json_t *report = NULL;
	uint8_t *take = calloc(snew->node_count, 1);
	if (!snew->edge_to && snew->edge_count > 0) {
		snprintf(err, errlen, "the new snapshot was loaded without its edges");
		goto done;
	}
	if (!take || hs_match_ids(base, snew, take, NULL) < 0) {
		snprintf(err, errlen, "out of memory matching ids");
		goto done;
	}
	if (hs_diff_compute(base, snew, &d, err, errlen) < 0 ||
	    hs_dominators_compute(snew, &dom, err, errlen) < 0)
		goto done;
	report = assemble_report(snew, dom, &d, take);
	if (!report)
		snprintf(err, errlen, "out of memory building the report");
done:
	free(take);
	hs_diff_free(&d);
	hs_dominators_free(dom);
	return report;
}

json_t *hs_report_build(const char *base_path, const char *new_path, char *err, size_t errlen)
{
	struct hs_snapshot *base = NULL, *snew = NULL;
	char why[400];
	json_t *report = NULL;
	if (hs_snapshot_load(base_path, HS_PARSE_SKIP_EDGES, &base, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", base_path, why);
		return NULL;
	}
	if (hs_snapshot_load(new_path, 0, &snew, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", new_path, why);
	} else if (!(report = hs_report_compute(base, snew, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: %s", new_path, why);
	}
	hs_snapshot_free(base);
	hs_snapshot_free(snew);
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
	return json_pack("{s:o, s:O}", "top_growth", first, "retainer_path", path);
}
