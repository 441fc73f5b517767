// SPDX-License-Identifier: Apache-2.0
/* The Comparison view: class naming, id matching (radix-sorted id lists merged
 * in one pass), per-class counts, and its JSON and text forms. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sanitize.h"
#include "snapshot/diff.h"

/* ---- classes ------------------------------------------------------------- */

uint32_t hs_class_key_count(const struct hs_snapshot *s)
{
	return s->string_count + s->node_type_count;
}

uint32_t hs_class_key(const struct hs_snapshot *s, uint32_t node)
{
	uint8_t t = s->node_type[node];
	if ((t == s->t_object || t == s->t_native) && s->node_name[node] < s->string_count)
		return s->node_name[node];
	return s->string_count + t;
}

const char *hs_class_key_name(const struct hs_snapshot *s, uint32_t key, char *buf, size_t len)
{
	if (key < s->string_count)
		return hs_snapshot_string(s, key);
	uint32_t t = key - s->string_count;
	if (t == s->t_hidden)
		return "(system)";
	if (t == s->t_code)
		return "(compiled code)";
	snprintf(buf, len, "(%s)", t < s->node_type_count ? s->node_type_names[t] : "unknown");
	return buf;
}

bool hs_node_counted(const struct hs_snapshot *s, uint32_t node)
{
	return s->node_self_size[node] > 0 || s->node_type[node] == s->t_native;
}

/* ---- name table ---------------------------------------------------------- */

struct hs_name_table {
	char **names;
	size_t count, names_cap;
	uint32_t *slots;      /* index + 1, 0 = empty */
	size_t slots_cap;     /* power of two */
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

struct hs_name_table *hs_name_table_new(void)
{
	struct hs_name_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->slots_cap = 1024;
	t->slots = calloc(t->slots_cap, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

static int name_table_rehash(struct hs_name_table *t)
{
	size_t cap = t->slots_cap * 2;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->count; i++) {
		size_t at = hash_name(t->names[i]) & (cap - 1);
		while (slots[at])
			at = (at + 1) & (cap - 1);
		slots[at] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->slots_cap = cap;
	return 0;
}

/* The slot that holds name, or the empty slot where it would go. */
static size_t name_slot(const struct hs_name_table *t, const char *name)
{
	size_t at = hash_name(name) & (t->slots_cap - 1);
	while (t->slots[at] && strcmp(t->names[t->slots[at] - 1], name) != 0)
		at = (at + 1) & (t->slots_cap - 1);
	return at;
}

long hs_name_table_intern(struct hs_name_table *t, const char *name)
{
	size_t at = name_slot(t, name);
	if (t->slots[at])
		return (long)t->slots[at] - 1;
	if (t->count == t->names_cap) {
		size_t cap = t->names_cap ? t->names_cap * 2 : 256;
		char **names = realloc(t->names, cap * sizeof(*names));
		if (!names)
			return -ENOMEM;
		t->names = names;
		t->names_cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	t->names[t->count] = copy;
	t->slots[at] = (uint32_t)++t->count;
	if (t->count * 2 > t->slots_cap && name_table_rehash(t) < 0)
		return -ENOMEM;
	return (long)t->count - 1;
}

long hs_name_table_find(const struct hs_name_table *t, const char *name)
{
	size_t at = name_slot(t, name);
	return t->slots[at] ? (long)t->slots[at] - 1 : -1;
}

const char *hs_name_table_name(const struct hs_name_table *t, size_t index)
{
	return index < t->count ? t->names[index] : "";
}

size_t hs_name_table_count(const struct hs_name_table *t)
{
	return t->count;
}

void hs_name_table_free(struct hs_name_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->names[i]);
	free(t->names);
	free(t->slots);
	free(t);
}

/* ---- id matching --------------------------------------------------------- */

/* Sort (id << 32 | node) keys by id: three 11-bit LSD radix passes over the id
 * half (2048 counters stay in L1; measured faster than two 16-bit passes). */
static int sorted_ids(const struct hs_snapshot *s, uint64_t **out)
{
	size_t n = s->node_count;
	uint64_t *a = malloc(n * 8), *tmp = malloc(n * 8);
	uint32_t *count = malloc(2048 * sizeof(uint32_t));
	if (!a || !tmp || !count) {
		free(a);
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = (uint64_t)s->node_id[i] << 32 | i;
	for (int shift = 32; shift < 64; shift += 11) {
		memset(count, 0, 2048 * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			count[(a[i] >> shift) & 0x7ff]++;
		uint32_t sum = 0;
		for (size_t b = 0; b < 2048; b++) {
			uint32_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & 0x7ff]++] = a[i];
		uint64_t *swap = a;
		a = tmp;
		tmp = swap;
	}
	free(tmp);
	free(count);
	*out = a;
	return 0;
}

int hs_match_ids(const struct hs_snapshot *base, const struct hs_snapshot *snew,
		 uint8_t *new_is_new, uint8_t *base_is_deleted)
{
	uint64_t *b = NULL, *n = NULL;
	if (sorted_ids(base, &b) < 0 || sorted_ids(snew, &n) < 0) {
		free(b);
		return -ENOMEM;
	}
	size_t i = 0, j = 0, bn = base->node_count, nn = snew->node_count;
	while (i < bn || j < nn) {
		uint32_t bid = i < bn ? (uint32_t)(b[i] >> 32) : UINT32_MAX;
		uint32_t nid = j < nn ? (uint32_t)(n[j] >> 32) : UINT32_MAX;
		bool take_base = i < bn && (j >= nn || bid <= nid);
		bool take_new = j < nn && (i >= bn || nid <= bid);
		bool both = take_base && take_new;
		uint32_t id = take_base ? bid : nid;
		/* every node carrying this id on either side */
		for (; take_base && i < bn && (uint32_t)(b[i] >> 32) == id; i++)
			if (base_is_deleted)
				base_is_deleted[(uint32_t)b[i]] = !both;
		for (; take_new && j < nn && (uint32_t)(n[j] >> 32) == id; j++)
			new_is_new[(uint32_t)n[j]] = !both;
	}
	free(b);
	free(n);
	return 0;
}

static bool same_node(const struct hs_snapshot *a, uint32_t u, const struct hs_snapshot *b, uint32_t v)
{
	return strcmp(hs_snapshot_node_type_name(a, u), hs_snapshot_node_type_name(b, v)) == 0 &&
	       strcmp(hs_snapshot_string(a, a->node_name[u]), hs_snapshot_string(b, b->node_name[v])) == 0;
}

/* Index of node v's type and name (its first 200 bytes) in t; -ENOMEM. */
static long kind_index(struct hs_name_table *t, const struct hs_snapshot *s, uint32_t v)
{
	char key[240];
	snprintf(key, sizeof(key), "%s:%.200s", hs_snapshot_node_type_name(s, v), hs_snapshot_string(s, s->node_name[v]));
	return hs_name_table_intern(t, key);
}

/* Sum over kinds of (sampled BASE nodes of that kind) x (sampled NEW nodes of it). */
static int chance_pairs(const struct hs_snapshot *base, const uint32_t *bv, const struct hs_snapshot *snew,
			const uint32_t *nv, size_t m, double *out)
{
	struct hs_name_table *t = hs_name_table_new();
	long *kb = malloc((m ? m : 1) * sizeof(long)), *kn = malloc((m ? m : 1) * sizeof(long));
	uint32_t *cb = calloc(2 * m + 1, 4), *cn = calloc(2 * m + 1, 4);
	int rc = -ENOMEM;
	if (!t || !kb || !kn || !cb || !cn)
		goto done;
	for (size_t i = 0; i < m; i++)
		if ((kb[i] = kind_index(t, base, bv[i])) < 0 || (kn[i] = kind_index(t, snew, nv[i])) < 0)
			goto done;
	for (size_t i = 0; i < m; i++)
		cb[kb[i]]++, cn[kn[i]]++;
	*out = 0;
	for (size_t k = 0; k < hs_name_table_count(t); k++)
		*out += (double)cb[k] * cn[k];
	rc = 0;
done:
	hs_name_table_free(t);
	free(kb);
	free(kn);
	free(cb);
	free(cn);
	return rc;
}

int hs_ids_agreement(const struct hs_snapshot *base, const struct hs_snapshot *snew, size_t sample,
		     struct hs_ids_agreement *out)
{
	size_t bn = base->node_count, nn = snew->node_count, fewer = bn < nn ? bn : nn;
	size_t stride = sample && fewer > sample ? fewer / sample : 1, shared = 0, m = 0;
	uint64_t *b = NULL, *n = NULL;
	uint32_t *bv = malloc((fewer / stride + 1) * 4), *nv = malloc((fewer / stride + 1) * 4);
	int rc = -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (!bv || !nv || sorted_ids(base, &b) < 0 || sorted_ids(snew, &n) < 0)
		goto done;
	for (size_t i = 0, j = 0; i < bn && j < nn;) {
		uint32_t bid = (uint32_t)(b[i] >> 32), nid = (uint32_t)(n[j] >> 32);
		if (bid != nid) {
			bid < nid ? i++ : j++;
			continue;
		}
		if (shared++ % stride == 0 && m <= fewer / stride) {
			bv[m] = (uint32_t)b[i];
			nv[m++] = (uint32_t)n[j];
		}
		i++;
		j++;
	}
	for (size_t k = 0; k < m; k++)
		out->same += same_node(base, bv[k], snew, nv[k]);
	out->compared = m;
	rc = m ? chance_pairs(base, bv, snew, nv, m, &out->by_chance) : 0;
	if (m)
		out->by_chance /= (double)m * (double)m;
done:
	free(b);
	free(n);
	free(bv);
	free(nv);
	return rc;
}

/* ---- the comparison ------------------------------------------------------ */

struct diff_acc {
	struct hs_name_table *names;
	struct hs_class_diff *stats;
	size_t stats_cap;
};

/* Table index of a snapshot's class key, interning its name on first use. */
static long class_index(struct diff_acc *acc, const struct hs_snapshot *s, uint32_t *map, uint32_t key)
{
	if (map[key])
		return (long)map[key] - 1;
	char buf[80];
	long idx = hs_name_table_intern(acc->names, hs_class_key_name(s, key, buf, sizeof(buf)));
	if (idx < 0)
		return -ENOMEM;
	if ((size_t)idx >= acc->stats_cap) {
		size_t cap = acc->stats_cap ? acc->stats_cap * 2 : 256;
		struct hs_class_diff *st = realloc(acc->stats, cap * sizeof(*st));
		if (!st)
			return -ENOMEM;
		memset(st + acc->stats_cap, 0, (cap - acc->stats_cap) * sizeof(*st));
		acc->stats = st;
		acc->stats_cap = cap;
	}
	map[key] = (uint32_t)idx + 1;
	return idx;
}

/* Add the marked, counted nodes of s to the per-class stats (deleted: base side). */
static int accumulate(struct diff_acc *acc, const struct hs_snapshot *s, const uint8_t *marked,
		      bool deleted)
{
	uint32_t *map = calloc(hs_class_key_count(s), sizeof(*map));
	if (!map)
		return -ENOMEM;
	for (uint32_t v = 0; v < s->node_count; v++) {
		if (!marked[v] || !hs_node_counted(s, v))
			continue;
		long idx = class_index(acc, s, map, hs_class_key(s, v));
		if (idx < 0) {
			free(map);
			return -ENOMEM;
		}
		struct hs_class_diff *c = &acc->stats[idx];
		if (deleted) {
			c->deleted_count++;
			c->freed_bytes += hs_node_self_size(s, v);
		} else {
			c->new_count++;
			c->alloc_bytes += hs_node_self_size(s, v);
		}
	}
	free(map);
	return 0;
}

static int cmp_class_diff(const void *pa, const void *pb)
{
	const struct hs_class_diff *a = pa, *b = pb;
	if (a->delta_bytes != b->delta_bytes)
		return a->delta_bytes > b->delta_bytes ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int finish_diff(struct diff_acc *acc, struct hs_diff *out)
{
	size_t n = hs_name_table_count(acc->names);
	out->classes = calloc(n ? n : 1, sizeof(*out->classes));
	if (!out->classes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct hs_class_diff *c = &acc->stats[i], *o = &out->classes[out->count];
		if (!c->new_count && !c->deleted_count)
			continue;
		*o = *c;
		o->delta_count = (int64_t)c->new_count - (int64_t)c->deleted_count;
		o->delta_bytes = (int64_t)c->alloc_bytes - (int64_t)c->freed_bytes;
		if (!(o->name = strdup(hs_name_table_name(acc->names, i))))
			return -ENOMEM;
		out->count++;
	}
	qsort(out->classes, out->count, sizeof(*out->classes), cmp_class_diff);
	return 0;
}

int hs_diff_compute(const struct hs_snapshot *base, const struct hs_snapshot *snew,
		    struct hs_diff *out, char *err, size_t errlen)
{
	struct diff_acc acc = { .names = hs_name_table_new() };
	uint8_t *is_new = calloc(snew->node_count, 1), *is_deleted = calloc(base->node_count, 1);
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (!acc.names || !is_new || !is_deleted ||
	    hs_match_ids(base, snew, is_new, is_deleted) < 0 ||
	    accumulate(&acc, snew, is_new, false) < 0 ||
	    accumulate(&acc, base, is_deleted, true) < 0 ||
	    finish_diff(&acc, out) < 0) {
		snprintf(err, errlen, "out of memory comparing snapshots");
		hs_diff_free(out);
	} else {
		rc = 0;
	}
	free(is_new);
	free(is_deleted);
	free(acc.stats);
	hs_name_table_free(acc.names);
	return rc;
}

/* Marks every node: each class's counts and sizes in NEW go to new_count/alloc_bytes,
 * BASE's to deleted_count/freed_bytes; finish_diff makes the deltas; then new and
 * deleted keep only the positive part of the deltas. */
int hs_diff_by_class(const struct hs_snapshot *base, const struct hs_snapshot *snew,
		     struct hs_diff *out, char *err, size_t errlen)
{
	struct diff_acc acc = { .names = hs_name_table_new() };
	size_t most = base->node_count > snew->node_count ? base->node_count : snew->node_count;
	uint8_t *all = malloc(most ? most : 1);
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (all)
		memset(all, 1, most ? most : 1);
	if (!acc.names || !all || accumulate(&acc, snew, all, false) < 0 ||
	    accumulate(&acc, base, all, true) < 0 || finish_diff(&acc, out) < 0) {
		snprintf(err, errlen, "out of memory comparing snapshots");
		hs_diff_free(out);
	} else {
		for (size_t i = 0; i < out->count; i++) {
			struct hs_class_diff *c = &out->classes[i];
			c->new_count = c->delta_count > 0 ? (uint64_t)c->delta_count : 0;
			c->deleted_count = c->delta_count < 0 ? (uint64_t)-c->delta_count : 0;
			c->alloc_bytes = c->delta_bytes > 0 ? (uint64_t)c->delta_bytes : 0;
			c->freed_bytes = c->delta_bytes < 0 ? (uint64_t)-c->delta_bytes : 0;
		}
		rc = 0;
	}
	free(all);
	free(acc.stats);
	hs_name_table_free(acc.names);
	return rc;
}

void hs_diff_free(struct hs_diff *d)
{
	if (!d || !d->classes)
		return;
	for (size_t i = 0; i < d->count; i++)
		free(d->classes[i].name);
	free(d->classes);
	d->classes = NULL;
	d->count = 0;
}

json_t *hs_json_class_name(const char *name)
{
	json_t *j = json_string(name);
	return j ? j : json_string("(name not valid UTF-8)");
}

void hs_text_class_name(const char *name, char out[HS_CLASS_CELL])
{
	/* class names come from the snapshot, i.e. from the watched process */
	sanitize(name, SANITIZE_ESCAPE, out, HS_CLASS_CELL);
}

json_t *hs_diff_to_json(const struct hs_diff *d, size_t top)
{
	size_t n = top && top < d->count ? top : d->count;
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct hs_class_diff *c = &d->classes[i];
		json_t *o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "class", hs_json_class_name(c->name),
				      "new_count", (json_int_t)c->new_count,
				      "deleted_count", (json_int_t)c->deleted_count,
				      "delta_count", (json_int_t)c->delta_count,
				      "alloc_bytes", (json_int_t)c->alloc_bytes,
				      "freed_bytes", (json_int_t)c->freed_bytes,
				      "delta_bytes", (json_int_t)c->delta_bytes);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

void hs_diff_print(FILE *f, const struct hs_diff *d, size_t top)
{
	size_t n = top && top < d->count ? top : d->count;
	fprintf(f, "%-40s %10s %10s %10s %14s %14s %14s\n", "Class", "# New", "# Deleted",
		"# Delta", "Alloc. Size", "Freed Size", "Size Delta");
	for (size_t i = 0; i < n; i++) {
		const struct hs_class_diff *c = &d->classes[i];
		char name[HS_CLASS_CELL];
		hs_text_class_name(c->name, name);
		fprintf(f, "%-40s %10" PRIu64 " %10" PRIu64 " %+10" PRId64 " %14" PRIu64
			" %14" PRIu64 " %+14" PRId64 "\n", name, c->new_count, c->deleted_count,
			c->delta_count, c->alloc_bytes, c->freed_bytes, c->delta_bytes);
	}
	if (n < d->count)
		fprintf(f, "(%zu more classes; --top N or --json for all)\n", d->count - n);
}
