// SPDX-License-Identifier: Apache-2.0
/* Places: collections found on the shortest-path tree from the root, named by their
 * holder and aggregated (see places.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/diff.h"
#include "snapshot/places.h"

#define NONE UINT32_MAX
#define PLACE_KINDS 6     /* entry kinds kept per place; the rest are counted, not named */
#define NAME_DEPTH 5      /* property names climbed to find a named holder */

struct types {
	uint8_t array, closure, synthetic, code, shape, cons, sliced;
	uint8_t e_property, e_internal;   /* edge types */
};

/* The shortest-path tree from the root over the edges that count for retainers. */
struct tree {
	uint32_t *parent;   /* NONE when unreachable */
	uint32_t *via;      /* the edge from parent */
	uint32_t *order;    /* nodes in breadth-first order */
	uint32_t reached;
};

struct place {
	long name;                       /* index in the places' name table */
	uint64_t entries, bytes, new_entries, new_bytes;
	uint32_t collections;
	uint32_t kind[PLACE_KINDS];
	uint64_t kind_count[PLACE_KINDS], kind_new[PLACE_KINDS], kind_bytes[PLACE_KINDS];
	char holder[128], property[384];
};

struct places {
	const struct hs_snapshot *s;
	const struct hs_dominators *dom;
	const uint8_t *is_new;
	bool growth;                     /* new_* and kind_new are growth since a baseline */
	struct types ty;
	struct tree t;
	uint32_t *coll;                  /* per node: the collection it is an entry of */
	uint32_t *count;                 /* per node: entries, then its place + 1 (0 none) */
	struct hs_name_table *names;
	struct place *p;
	size_t n, cap;
};

static uint8_t type_named(const struct hs_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->node_type_count; i++)
		if (strcmp(s->node_type_names[i], name) == 0)
			return (uint8_t)i;
	return HS_TYPE_NONE;
}

static void find_types(const struct hs_snapshot *s, struct types *ty)
{
	ty->array = type_named(s, "array");
	ty->closure = type_named(s, "closure");
	ty->synthetic = type_named(s, "synthetic");
	ty->code = type_named(s, "code");
	ty->shape = type_named(s, "object shape");
	ty->cons = type_named(s, "concatenated string");
	ty->sliced = type_named(s, "sliced string");
	ty->e_property = ty->e_internal = HS_TYPE_NONE;
	for (unsigned i = 0; i < s->edge_type_count; i++) {
		if (strcmp(s->edge_type_names[i], "property") == 0)
			ty->e_property = (uint8_t)i;
		else if (strcmp(s->edge_type_names[i], "internal") == 0)
			ty->e_internal = (uint8_t)i;
	}
}

static void expand(const struct hs_snapshot *s, struct tree *t, uint32_t u, uint32_t *tail)
{
	for (uint32_t e = s->first_edge[u]; e < s->first_edge[u + 1]; e++) {
		uint32_t v = s->edge_to[e];
		if (t->parent[v] != NONE || !hs_edge_is_essential(s, u, e))
			continue;
		t->parent[v] = u;
		t->via[v] = e;
		t->order[(*tail)++] = v;
	}
}

/* Breadth-first from the root, except that GC root groups are expanded last: what the
 * application's objects also reach (an internalized string that is a dictionary's key,
 * an object a handle keeps) is named by the application's path, not by "(Internalized
 * strings)". */
static int build_tree(const struct hs_snapshot *s, uint8_t synthetic, struct tree *t)
{
	uint32_t n = s->node_count, head = 0, tail = 0, nd = 0, next_deferred = 0;
	t->parent = malloc((size_t)n * 4);
	t->via = malloc((size_t)n * 4);
	t->order = malloc((size_t)n * 4);
	uint32_t *deferred = malloc((size_t)n * 4);
	if (!t->parent || !t->via || !t->order || !deferred) {
		free(deferred);
		return -ENOMEM;
	}
	memset(t->parent, 0xff, (size_t)n * 4);
	t->order[tail++] = 0;
	t->parent[0] = 0;
	t->via[0] = NONE;
	for (;;) {
		while (head < tail) {
			uint32_t u = t->order[head++];
			if (u != 0 && s->node_type[u] == synthetic)
				deferred[nd++] = u;
			else
				expand(s, t, u, &tail);
		}
		if (next_deferred == nd)
			break;
		expand(s, t, deferred[next_deferred++], &tail);
	}
	free(deferred);
	t->reached = tail;
	return 0;
}

static bool is_string(const struct places *pl, uint32_t v)
{
	uint8_t t = pl->s->node_type[v];
	return t == pl->s->t_string || t == pl->ty.cons || t == pl->ty.sliced;
}

/* A node that stores another's contents: a Map's table, an object's elements. */
static bool is_backing_store(const struct places *pl, uint32_t v)
{
	uint8_t t = pl->s->node_type[v];
	return t == pl->ty.array || t == pl->s->t_hidden;
}

/* What may be an entry: application data, not code, shapes or V8's own tables. */
static bool is_entry(const struct places *pl, uint32_t v)
{
	const struct hs_snapshot *s = pl->s;
	uint8_t t = s->node_type[v];
	if (t == s->t_code || t == pl->ty.shape || t == pl->ty.synthetic || t == s->t_hidden || t == pl->ty.array)
		return false;
	if (t == s->t_object || t == s->t_native) {
		const char *name = hs_snapshot_string(s, s->node_name[v]);
		return strncmp(name, "system / ", 9) != 0;
	}
	return true;
}

/* Element, property, internal and hidden edges hold entries; context (a closure's
 * variables), shortcut and weak ones do not. */
static bool is_entry_edge(const struct places *pl, uint32_t e)
{
	const struct hs_snapshot *s = pl->s;
	uint8_t t = s->edge_type[e];
	return t == s->e_element || t == s->e_hidden || t == pl->ty.e_property || t == pl->ty.e_internal;
}

static bool same_edge_name(const struct hs_snapshot *s, uint32_t a, uint32_t b)
{
	return a != NONE && b != NONE && s->edge_type[a] == s->edge_type[b] && s->edge_type[a] != s->e_element &&
	       s->edge_name && s->edge_name[a] == s->edge_name[b];
}

/* The collection node u's entries count for: a backing store's owner. */
static uint32_t owner_of(const struct places *pl, uint32_t u)
{
	for (int i = 0; i < 2 && u != 0 && is_backing_store(pl, u); i++)
		u = pl->t.parent[u];
	return u;
}

/* coll[v] for every reached node, in breadth-first order so a parent is done first. */
static void assign_collections(struct places *pl)
{
	const struct hs_snapshot *s = pl->s;
	const struct tree *t = &pl->t;
	memset(pl->coll, 0xff, (size_t)s->node_count * 4);
	for (uint32_t i = 1; i < t->reached; i++) {
		uint32_t v = t->order[i], u = t->parent[v], e = t->via[v];
		if (u == 0 || !is_entry(pl, v) || !is_entry_edge(pl, e))
			continue;
		if (pl->coll[u] != NONE && hs_class_key(s, u) == hs_class_key(s, v) && same_edge_name(s, e, t->via[u]))
			pl->coll[v] = pl->coll[u]; /* the next link of a list */
		else
			pl->coll[v] = owner_of(pl, u);
		if (pl->coll[v] != NONE && s->node_type[pl->coll[v]] == pl->ty.synthetic)
			pl->coll[v] = NONE; /* GC root groups are no one's collection */
	}
}

/* A holder worth naming: a class of the application or of a library, not a
 * generic container, a backing store or one of V8's own. */
static bool is_named_holder(const struct places *pl, uint32_t v)
{
	const struct hs_snapshot *s = pl->s;
	uint8_t t = s->node_type[v];
	if (t != s->t_object && t != s->t_native)
		return false;
	const char *name = hs_snapshot_string(s, s->node_name[v]);
	static const char *const generic[] = { "Object", "Array", "Map", "Set", "WeakMap", "WeakSet" };
	for (size_t i = 0; i < sizeof(generic) / sizeof(*generic); i++)
		if (strcmp(name, generic[i]) == 0)
			return false;
	return name[0] && name[0] != '(' && strncmp(name, "system / ", 9) != 0;
}

static void edge_text(const struct hs_snapshot *s, uint32_t e, char *buf, size_t len)
{
	uint8_t t = s->edge_type[e];
	if (!s->edge_name)
		snprintf(buf, len, "?");
	else if (t == s->e_element || t == s->e_hidden)
		snprintf(buf, len, "[]");
	else
		snprintf(buf, len, "%.100s", hs_snapshot_string(s, s->edge_name[e]));
}

/* A closure's edge to its scope: `fn().seen` reads better than `fn().context.seen`. */
static bool is_closure_context(const struct places *pl, uint32_t u, uint32_t e)
{
	const struct hs_snapshot *s = pl->s;
	return s->node_type[u] == pl->ty.closure && s->edge_name && s->edge_type[e] != s->e_element &&
	       s->edge_type[e] != s->e_hidden && strcmp(hs_snapshot_string(s, s->edge_name[e]), "context") == 0;
}

/* The property of collection c along which its entries run as a list of another
 * class (TimersList -_idleNext-> Timeout -_idleNext-> Timeout ...), NONE when none. */
static uint32_t list_link(const struct places *pl, uint32_t c)
{
	const struct hs_snapshot *s = pl->s;
	for (uint32_t e = s->first_edge[c]; e < s->first_edge[c + 1]; e++) {
		uint32_t v = s->edge_to[e];
		if (s->edge_type[e] != pl->ty.e_property || pl->t.parent[v] != c || pl->t.via[v] != e ||
		    pl->coll[v] != c || hs_class_key(s, v) == hs_class_key(s, c))
			continue;
		for (uint32_t f = s->first_edge[v]; f < s->first_edge[v + 1]; f++) {
			uint32_t w = s->edge_to[f];
			if (pl->t.parent[w] == v && pl->t.via[w] == f && pl->coll[w] == c && same_edge_name(s, e, f))
				return e;
		}
	}
	return NONE;
}

/* The holder's class and the property path from it down to collection c. A list
 * anchored in an object of a named class is named by that class and the link
 * (TimersList._idleNext), not by the way to the anchor: the anchor's own class says what
 * accumulates, and the way to it is whichever of V8's closures the tree met first
 * (setTimeout().timerListMap[] in one snapshot, clearInterval().timerListMap[] in the
 * next), which would keep a baseline's place from matching the incident's. */
static void name_collection(const struct places *pl, uint32_t c, char *holder, size_t hlen, char *path,
			    size_t plen)
{
	const struct hs_snapshot *s = pl->s;
	uint32_t link = is_named_holder(pl, c) ? list_link(pl, c) : NONE;
	if (link != NONE) {
		char cls[80];
		snprintf(holder, hlen, "%.100s", hs_class_key_name(s, hs_class_key(s, c), cls, sizeof(cls)));
		edge_text(s, link, path, plen);
		return;
	}
	char segs[NAME_DEPTH][104];
	int n = 0;
	uint32_t x = c;
	while (n < NAME_DEPTH && x != 0 && pl->t.parent[x] != 0) {
		uint32_t u = pl->t.parent[x];
		if ((!is_backing_store(pl, x) || n == 0) && !is_closure_context(pl, u, pl->t.via[x]))
			edge_text(s, pl->t.via[x], segs[n++], sizeof(segs[0]));
		x = u;
		if (is_named_holder(pl, x) || s->node_type[x] == pl->ty.closure)
			break;
	}
	char cls[80];
	const char *name = hs_class_key_name(s, hs_class_key(s, x), cls, sizeof(cls));
	if (s->node_type[x] == pl->ty.closure)
		snprintf(holder, hlen, "%.100s()", hs_snapshot_string(s, s->node_name[x])[0] ?
				 hs_snapshot_string(s, s->node_name[x]) : "(anonymous)");
	else if (x == 0 || pl->t.parent[x] == 0)
		snprintf(holder, hlen, "%.100s", s->node_type[x] == pl->ty.synthetic ?
				 hs_snapshot_string(s, s->node_name[x]) : name);
	else
		snprintf(holder, hlen, "%.100s", name);
	path[0] = '\0';
	size_t off = 0;
	for (int i = n - 1; i >= 0 && off < plen; i--) {
		bool index = segs[i][0] == '[';
		off += (size_t)snprintf(path + off, plen - off, "%s%s", off && !index ? "." : "", segs[i]);
	}
}

static long place_index(struct places *pl, uint32_t c)
{
	char holder[128], path[384], key[520];
	name_collection(pl, c, holder, sizeof(holder), path, sizeof(path));
	snprintf(key, sizeof(key), "%s\x1f%s", holder, path);
	long idx = hs_name_table_intern(pl->names, key);
	if (idx < 0)
		return idx;
	if ((size_t)idx == pl->n) {
		if (pl->n == pl->cap) {
			size_t cap = pl->cap ? pl->cap * 2 : 64;
			struct place *grown = realloc(pl->p, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			pl->p = grown;
			pl->cap = cap;
		}
		struct place *p = &pl->p[pl->n++];
		memset(p, 0, sizeof(*p));
		memset(p->kind, 0xff, sizeof(p->kind));
		p->name = idx;
		snprintf(p->holder, sizeof(p->holder), "%s", holder);
		snprintf(p->property, sizeof(p->property), "%s", path);
	}
	return idx;
}

static uint32_t kind_of(const struct places *pl, uint32_t v)
{
	if (is_string(pl, v))
		return pl->s->string_count + pl->s->t_string;
	return hs_class_key(pl->s, v);
}

static void add_entry(struct places *pl, struct place *p, uint32_t v, uint64_t bytes)
{
	bool fresh = pl->is_new && pl->is_new[v];
	uint32_t k = kind_of(pl, v);
	p->entries++;
	p->bytes += bytes;
	if (fresh)
		p->new_entries++, p->new_bytes += bytes;
	for (int i = 0; i < PLACE_KINDS; i++) {
		if (p->kind[i] == NONE)
			p->kind[i] = k;
		if (p->kind[i] == k) {
			p->kind_count[i]++;
			p->kind_new[i] += fresh;
			p->kind_bytes[i] += pl->is_new ? (fresh ? bytes : 0) : bytes;
			return;
		}
	}
}

/* What an entry retains inside other places' collections: not its own bytes (a
 * request object holding the session store is not where the sessions accumulate). */
struct nested {
	uint32_t entry;
	uint64_t bytes;
};

static int cmp_nested(const void *pa, const void *pb)
{
	const struct nested *a = pa, *b = pb;
	return (a->entry > b->entry) - (a->entry < b->entry);
}

#define NESTED_CLIMB 64 /* dominators climbed from a collection to the entry holding it */

/* For every collection with a place, the nearest dominator that is an entry of a
 * place gets its retained bytes; sorted by entry, duplicates summed. *out NULL when
 * there are none. */
static int find_nested(const struct places *pl, struct nested **out, size_t *n_out)
{
	const struct hs_snapshot *s = pl->s;
	struct nested *nd = NULL;
	size_t n = 0, cap = 0;
	for (uint32_t c = 1; c < s->node_count; c++) {
		if (!pl->count[c])
			continue;
		uint32_t w = pl->dom->idom[c];
		for (int i = 0; i < NESTED_CLIMB && w != 0; i++, w = pl->dom->idom[w]) {
			uint32_t holder = pl->coll[w];
			if (holder == NONE || !pl->count[holder])
				continue;
			if (n == cap) {
				size_t grow = cap ? cap * 2 : 64;
				struct nested *m = realloc(nd, grow * sizeof(*nd));
				if (!m) {
					free(nd);
					return -ENOMEM;
				}
				nd = m;
				cap = grow;
			}
			nd[n++] = (struct nested){ .entry = w, .bytes = pl->dom->retained[c] };
			break;
		}
	}
	if (n)
		qsort(nd, n, sizeof(*nd), cmp_nested);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && nd[m - 1].entry == nd[i].entry)
			nd[m - 1].bytes += nd[i].bytes;
		else
			nd[m++] = nd[i];
	}
	*out = nd;
	*n_out = m;
	return 0;
}

static uint64_t nested_bytes(const struct nested *nd, size_t n, uint32_t v)
{
	struct nested key = { .entry = v };
	const struct nested *hit = n ? bsearch(&key, nd, n, sizeof(*nd), cmp_nested) : NULL;
	return hit ? hit->bytes : 0;
}

/* An entry's bytes: its own when it is a collection itself (its entries count there),
 * else what it retains outside other places' collections. */
static uint64_t entry_bytes(const struct places *pl, const struct nested *nd, size_t nn, uint32_t v)
{
	if (pl->count[v])
		return hs_node_self_size(pl->s, v);
	uint64_t r = pl->dom->retained[v], inner = nested_bytes(nd, nn, v);
	return inner < r ? r - inner : hs_node_self_size(pl->s, v);
}

static int aggregate(struct places *pl)
{
	const struct hs_snapshot *s = pl->s;
	uint32_t n = s->node_count;
	memset(pl->count, 0, (size_t)n * 4);
	for (uint32_t v = 0; v < n; v++)
		if (pl->coll[v] != NONE)
			pl->count[pl->coll[v]]++;
	/* count[c] becomes c's place + 1 (0 for no place): a collection is named once */
	for (uint32_t c = 0; c < n; c++) {
		if (pl->count[c] < HS_PLACE_FANOUT) {
			pl->count[c] = 0;
			continue;
		}
		long idx = place_index(pl, c);
		if (idx < 0)
			return (int)idx;
		pl->count[c] = (uint32_t)idx + 1;
		pl->p[idx].collections++;
	}
	struct nested *nd;
	size_t nn;
	if (find_nested(pl, &nd, &nn) < 0)
		return -ENOMEM;
	for (uint32_t v = 0; v < n; v++) {
		uint32_t c = pl->coll[v];
		if (c == NONE || !pl->count[c])
			continue;
		uint32_t d = pl->dom->idom[v];
		/* a list's next link: its head counts it */
		bool inside = d != v && pl->coll[d] == c;
		add_entry(pl, &pl->p[pl->count[c] - 1], v, inside ? 0 : entry_bytes(pl, nd, nn, v));
	}
	free(nd);
	return 0;
}

/* The kind that holds the most of a place (its new bytes with a baseline). */
static int main_kind(const struct place *p)
{
	int best = 0;
	for (int i = 1; i < PLACE_KINDS && p->kind[i] != NONE; i++)
		if (p->kind_bytes[i] > p->kind_bytes[best] ||
		    (p->kind_bytes[i] == p->kind_bytes[best] && p->kind_count[i] > p->kind_count[best]))
			best = i;
	return best;
}

static void kind_label(const struct places *pl, const struct place *p, uint32_t k, char *buf, size_t len)
{
	const struct hs_snapshot *s = pl->s;
	if (k == s->string_count + s->t_string)
		snprintf(buf, len, "strings");
	else if (k == s->string_count + pl->ty.closure)
		snprintf(buf, len, strstr(p->property, "_events") ? "listeners" : "closures");
	else {
		char tmp[80];
		snprintf(buf, len, "%s", hs_class_key_name(s, k, tmp, sizeof(tmp)));
	}
}

static uint64_t rank_bytes(const struct places *pl, const struct place *p)
{
	return pl->growth ? p->new_bytes : p->bytes;
}

static int cmp_place(const void *pa, const void *pb, void *ctx)
{
	const struct place *a = pa, *b = pb;
	uint64_t ra = rank_bytes(ctx, a), rb = rank_bytes(ctx, b);
	if (ra != rb)
		return ra > rb ? -1 : 1;
	if (a->entries != b->entries)
		return a->entries > b->entries ? -1 : 1;
	return a->name < b->name ? -1 : a->name > b->name;
}

/* "210 470": thousands apart, as people read counts. */
static void group_digits(uint64_t v, char *buf, size_t len)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ' ';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
}

/* A second kind worth naming beside the main one (a dictionary's keys and values):
 * at least half as many entries, -1 when none. */
static int second_kind(const struct places *pl, const struct place *p, int main)
{
	int best = -1;
	uint64_t (*count) = pl->growth ? (uint64_t *)p->kind_new : (uint64_t *)p->kind_count;
	for (int i = 0; i < PLACE_KINDS && p->kind[i] != NONE; i++)
		if (i != main && count[i] * 2 >= count[main] && (best < 0 || p->kind_bytes[i] > p->kind_bytes[best]))
			best = i;
	return best;
}

static json_t *place_json(const struct places *pl, const struct place *p)
{
	int k = main_kind(p), k2 = second_kind(pl, p, k);
	char kind[96], kinds[200], count[40], text[800], where[520];
	kind_label(pl, p, p->kind[k], kind, sizeof(kind));
	snprintf(kinds, sizeof(kinds), "%s", kind);
	if (k2 >= 0) {
		char other[96];
		kind_label(pl, p, p->kind[k2], other, sizeof(other));
		snprintf(kinds, sizeof(kinds), "%s and %s", kind, other);
	}
	group_digits(pl->growth ? p->kind_new[k] : p->kind_count[k], count, sizeof(count));
	snprintf(where, sizeof(where), "%s%s%s", p->holder, p->property[0] && p->property[0] != '[' ? "." : "",
		 p->property);
	uint64_t bytes = pl->growth ? p->new_bytes : p->bytes;
	const char *plus = pl->growth ? "+" : "";
	if (strcmp(kind, "listeners") == 0)
		snprintf(text, sizeof(text), "%s: %s%s listeners, %s%.1f MiB", where, plus, count, plus,
			 bytes / 1048576.0);
	else
		snprintf(text, sizeof(text), "%s: %s%s entries (%s), %s%.1f MiB", where, plus, count, kinds, plus,
			 bytes / 1048576.0);
	json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o}",
			      "place", hs_json_class_name(where), "holder", hs_json_class_name(p->holder),
			      "property", hs_json_class_name(p->property), "entry_class", hs_json_class_name(kind),
			      "entry_count", (json_int_t)(pl->growth ? p->kind_new[k] : p->kind_count[k]),
			      "entries", (json_int_t)p->entries,
			      "retained_bytes", (json_int_t)p->bytes, "collections", (json_int_t)p->collections,
			      "text", hs_json_class_name(text));
	if (o && pl->growth) {
		json_object_set_new(o, "new_entries", json_integer((json_int_t)p->new_entries));
		json_object_set_new(o, "new_bytes", json_integer((json_int_t)p->new_bytes));
	}
	return o;
}

/* first_entries[v] (when not NULL): v is an entry of the first place of the array. */
static json_t *ranked_places(struct places *pl, size_t top, uint8_t *first_entries)
{
	if (pl->n)
		qsort_r(pl->p, pl->n, sizeof(*pl->p), cmp_place, pl);
	json_t *arr = json_array();
	long first = -1;
	for (size_t i = 0; arr && i < pl->n && json_array_size(arr) < top; i++) {
		if (pl->growth && pl->p[i].new_entries == 0)
			continue;
		if (first < 0)
			first = pl->p[i].name;
		json_t *o = place_json(pl, &pl->p[i]);
		if (!o || json_array_append_new(arr, o) < 0)
			arr = (json_decref(arr), NULL);
	}
	if (first_entries) {
		/* count[c] is c's place + 1, the place's index being its name's */
		for (uint32_t v = 0; v < pl->s->node_count; v++)
			first_entries[v] = first >= 0 && pl->coll[v] != NONE && pl->count[pl->coll[v]] == (uint32_t)first + 1;
	}
	return arr;
}

/* The shortest-path tree, the collections and their places of pl->s. 0 or -ENOMEM. */
static int places_build(struct places *pl)
{
	const struct hs_snapshot *s = pl->s;
	find_types(s, &pl->ty);
	pl->coll = malloc((size_t)s->node_count * 4);
	pl->count = malloc((size_t)s->node_count * 4);
	pl->names = hs_name_table_new();
	if (!pl->coll || !pl->count || !pl->names || build_tree(s, pl->ty.synthetic, &pl->t) < 0)
		return -ENOMEM;
	assign_collections(pl);
	free(pl->t.order);
	pl->t.order = NULL;
	return aggregate(pl);
}

static void places_release(struct places *pl)
{
	free(pl->t.parent);
	free(pl->t.via);
	free(pl->t.order);
	free(pl->coll);
	free(pl->count);
	free(pl->p);
	hs_name_table_free(pl->names);
}

static bool no_places(const struct hs_snapshot *s)
{
	return s->node_count == 0 || (!s->edge_to && s->edge_count);
}

static json_t *empty_places(const struct hs_snapshot *s, uint8_t *first_entries)
{
	if (first_entries)
		memset(first_entries, 0, s->node_count);
	return json_array();
}

json_t *hs_places_compute(const struct hs_snapshot *s, const struct hs_dominators *dom,
			  const uint8_t *is_new, size_t top, uint8_t *first_entries)
{
	struct places pl = { .s = s, .dom = dom, .is_new = is_new, .growth = is_new != NULL };
	json_t *out = NULL;
	if (no_places(s))
		return empty_places(s, first_entries);
	if (places_build(&pl) == 0)
		out = ranked_places(&pl, top, first_entries);
	places_release(&pl);
	return out;
}

/* ---- growth by name, against a baseline's places ---- */

struct base_place {
	uint64_t entries, bytes;
	char kind[PLACE_KINDS][96];      /* kind labels ("" unused), as kind_label writes them */
	uint64_t kind_count[PLACE_KINDS], kind_bytes[PLACE_KINDS];
};

struct hs_places_base {
	struct hs_name_table *names;     /* the places' keys (holder, path) */
	struct base_place *p;
	size_t n;
};

void hs_places_base_free(struct hs_places_base *b)
{
	if (!b)
		return;
	hs_name_table_free(b->names);
	free(b->p);
	free(b);
}

/* A place's key for matching across snapshots: its name with every number that is a
 * whole segment as '#' ("(GC roots)[].49.registry" and "(GC roots)[].48.registry" are one
 * place: V8 numbers some roots' edges anew in each snapshot). */
static void match_key(const char *name, char *key, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; name[i] && o + 1 < len;) {
		bool starts = i == 0 || !isalnum((unsigned char)name[i - 1]);
		size_t j = i;
		while (starts && isdigit((unsigned char)name[j]))
			j++;
		if (j > i && !isalnum((unsigned char)name[j])) {
			key[o++] = '#';
			i = j;
		} else {
			key[o++] = name[i++];
		}
	}
	key[o] = '\0';
}

/* bp's slot of p's kind k: the one with its label, else the first unused one
 * (PLACE_KINDS when all are taken by other kinds); label gets the kind's label. */
static int base_kind_slot(const struct places *pl, const struct place *p, int k, const struct base_place *bp,
			  char *label, size_t len)
{
	kind_label(pl, p, p->kind[k], label, len);
	int j = 0;
	while (j < PLACE_KINDS && bp->kind[j][0] && strcmp(bp->kind[j], label) != 0)
		j++;
	return j;
}

/* Add place p (of pl) to the baseline's place of its key. 0 or -ENOMEM. */
static int base_add(struct hs_places_base *b, size_t *cap, const struct places *pl, const struct place *p)
{
	char key[520];
	match_key(hs_name_table_name(pl->names, (size_t)p->name), key, sizeof(key));
	long i = hs_name_table_intern(b->names, key);
	if (i < 0)
		return (int)i;
	if ((size_t)i == b->n) {
		if (b->n == *cap) {
			size_t grow = *cap ? *cap * 2 : 64;
			struct base_place *np = realloc(b->p, grow * sizeof(*np));
			if (!np)
				return -ENOMEM;
			b->p = np;
			*cap = grow;
		}
		memset(&b->p[b->n++], 0, sizeof(*b->p));
	}
	struct base_place *bp = &b->p[i];
	bp->entries += p->entries;
	bp->bytes += p->bytes;
	for (int k = 0; k < PLACE_KINDS && p->kind[k] != NONE; k++) {
		char label[96];
		int j = base_kind_slot(pl, p, k, bp, label, sizeof(label));
		if (j == PLACE_KINDS)
			continue; /* more kinds than kept: counted in entries only */
		snprintf(bp->kind[j], sizeof(bp->kind[j]), "%s", label);
		bp->kind_count[j] += p->kind_count[k];
		bp->kind_bytes[j] += p->kind_bytes[k];
	}
	return 0;
}

struct hs_places_base *hs_places_base_compute(const struct hs_snapshot *s, const struct hs_dominators *dom)
{
	struct places pl = { .s = s, .dom = dom };
	struct hs_places_base *b = calloc(1, sizeof(*b));
	size_t cap = 0;
	if (!b || !(b->names = hs_name_table_new())) {
		hs_places_base_free(b);
		return NULL;
	}
	if (no_places(s))
		return b;
	int rc = places_build(&pl);
	for (size_t i = 0; rc == 0 && i < pl.n; i++)
		rc = base_add(b, &cap, &pl, &pl.p[i]);
	places_release(&pl);
	if (rc < 0) {
		hs_places_base_free(b);
		return NULL;
	}
	return b;
}

static uint64_t take_from(uint64_t *budget, uint64_t want)
{
	uint64_t t = want < *budget ? want : *budget;
	*budget -= t;
	return t;
}

/* p's new_* and kind_new/kind_bytes become its growth over the baseline's place of the
 * same key (all of it when the baseline had none). Places of one key share the
 * baseline's: what one subtracts, the next cannot (rest: the baseline's places, used up). */
static void subtract_base(const struct places *pl, struct place *p, const struct hs_places_base *b,
			  struct base_place *rest)
{
	char key[520];
	match_key(hs_name_table_name(pl->names, (size_t)p->name), key, sizeof(key));
	long i = hs_name_table_find(b->names, key);
	struct base_place none = { 0 }, *bp = i >= 0 && (size_t)i < b->n ? &rest[i] : &none;
	p->new_entries = p->entries - take_from(&bp->entries, p->entries);
	p->new_bytes = p->bytes - take_from(&bp->bytes, p->bytes);
	for (int k = 0; k < PLACE_KINDS && p->kind[k] != NONE; k++) {
		char label[96];
		int j = base_kind_slot(pl, p, k, bp, label, sizeof(label));
		bool had = j < PLACE_KINDS && bp->kind[j][0];
		p->kind_new[k] = p->kind_count[k] - (had ? take_from(&bp->kind_count[j], p->kind_count[k]) : 0);
		p->kind_bytes[k] -= had ? take_from(&bp->kind_bytes[j], p->kind_bytes[k]) : 0;
	}
}

static int cmp_bytes(const void *pa, const void *pb)
{
	const struct place *a = pa, *b = pb;
	return a->bytes != b->bytes ? (a->bytes > b->bytes ? -1 : 1) : (a->name > b->name) - (a->name < b->name);
}

json_t *hs_places_growth(const struct hs_snapshot *s, const struct hs_dominators *dom,
			 const struct hs_places_base *base, size_t top, uint8_t *first_entries)
{
	struct places pl = { .s = s, .dom = dom, .growth = true };
	json_t *out = NULL;
	if (no_places(s))
		return empty_places(s, first_entries);
	struct base_place *rest = malloc((base->n ? base->n : 1) * sizeof(*rest));
	if (rest && places_build(&pl) == 0) {
		if (base->n)
			memcpy(rest, base->p, base->n * sizeof(*rest));
		/* the largest place of a key takes the baseline's first */
		if (pl.n)
			qsort(pl.p, pl.n, sizeof(*pl.p), cmp_bytes);
		for (size_t i = 0; i < pl.n; i++)
			subtract_base(&pl, &pl.p[i], base, rest);
		out = ranked_places(&pl, top, first_entries);
	}
	free(rest);
	places_release(&pl);
	return out;
}
