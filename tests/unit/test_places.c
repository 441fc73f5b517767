// SPDX-License-Identifier: Apache-2.0
/* Unit tests of places (snapshot/places.h): on a synthetic graph with the shapes real
 * leaks take (a dictionary per instance of a library class, an array of strings, a
 * listener array under _events, a linked list, records with a dozen parts each, a memo in
 * a closure's scope), the
 * places are named holder.property, aggregated over the holder's instances, with the
 * entries' kind and count; with a baseline only what is new ranks; against a baseline's
 * places, what grew ranks, matched by name even when V8 renumbered every object id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>

#include "snapshot/dominators.h"
#include "snapshot/parse.h"
#include "snapshot/places.h"
#include "snapshot/report.h"
#include "graph_fixture.h"

#define MAXN 2000

static struct fx_node nodes[MAXN];
static struct fx_edge edges[MAXN * 2];
static size_t nn, ne;

static uint32_t node(const char *type, const char *name, uint64_t size)
{
	nodes[nn] = (struct fx_node){ type, name, (uint32_t)(nn * 2 + 1), size };
	return (uint32_t)nn++;
}

static void edge(uint32_t from, uint32_t to, const char *type, const char *name)
{
	edges[ne++] = (struct fx_edge){ from, to, type, name };
}

static void elements(uint32_t from, uint32_t to)
{
	static char idx[MAXN][8];
	snprintf(idx[ne % MAXN], sizeof(idx[0]), "%zu", ne % 1000);
	edge(from, to, "element", idx[ne % MAXN]);
}

/* Ids of nodes made from here on are "new" (first_new). */
static uint32_t first_new;
/* Entries of the first Counter's dictionary; ids numbered backwards (a renumbering). */
static int counter_a = 40;
static bool reverse_ids;
/* The property that holds the orders (a number in some roots' paths, new in each snapshot). */
static const char *orders_name = "orders";

static struct hs_snapshot *build(void)
{
	nn = ne = 0;
	uint32_t root = node("synthetic", "", 0);
	uint32_t global = node("object", "global", 40);
	elements(root, global);
	/* records: 100 Orders of 12 parts each, in an array */
	uint32_t orders = node("object", "Array", 16);
	edge(global, orders, "property", orders_name);
	for (int i = 0; i < 100; i++) {
		uint32_t o = node("object", "Order", 40);
		elements(orders, o);
		for (int k = 0; k < 12; k++)
			edge(o, node("object", "Object", 8), "property", "part");
	}
	/* a listener array: bus._events.tick, 20 closures */
	uint32_t bus = node("object", "EventEmitter", 40), ev = node("object", "Object", 16);
	uint32_t tick = node("object", "Array", 16);
	edge(global, bus, "property", "bus");
	edge(bus, ev, "property", "_events");
	edge(ev, tick, "property", "tick");
	for (int i = 0; i < 20; i++)
		elements(tick, node("closure", "onTick", 32));
	/* a linked list: queue.first -> Link -> next -> Link ... 30 links */
	uint32_t queue = node("object", "Queue", 24), prev = queue;
	edge(global, queue, "property", "queue");
	for (int i = 0; i < 30; i++) {
		uint32_t l = node("object", "Link", 48);
		edge(prev, l, "property", i ? "next" : "first");
		prev = l;
	}
	/* strings in a store's array, reached through a Map's backing table */
	uint32_t store = node("object", "Store", 40), items = node("object", "Map", 24);
	uint32_t table = node("array", "", 64);
	edge(global, store, "property", "store");
	edge(store, items, "property", "items");
	edge(items, table, "internal", "table");
	for (int i = 0; i < 50; i++)
		elements(table, node(i % 2 ? "string" : "concatenated string", "s", 64));
	/* a memo in a closure's scope: remember -> context -> seen, 20 entries */
	uint32_t fn = node("closure", "remember", 32), ctx = node("object", "system / Context", 24);
	uint32_t seen = node("object", "Object", 32);
	edge(global, fn, "property", "remember");
	edge(fn, ctx, "internal", "context");
	edge(ctx, seen, "context", "seen");
	for (int i = 0; i < 20; i++)
		edge(seen, node("object", "Object", 8), "property", "memo");
	/* a timer list: global.timerListMap[] -> TimersList, its 20 Timeouts linked both ways
	 * (_idleNext from the list's head, _idlePrev from its tail) */
	uint32_t tmap = node("object", "Object", 32), tlist = node("object", "TimersList", 48), t[20];
	edge(global, tmap, "property", "timerListMap");
	elements(tmap, tlist);
	for (int i = 0; i < 20; i++)
		t[i] = node("object", "Timeout", 64);
	for (int i = 0; i < 20; i++) {
		edge(i ? t[i - 1] : tlist, t[i], "property", "_idleNext");
		edge(i < 19 ? t[i + 1] : tlist, t[i], "property", "_idlePrev");
	}
	/* a large Object the baseline already had: one config blob */
	uint32_t config = node("object", "Object", 32);
	edge(global, config, "property", "config");
	edge(config, node("string", "blob", 100000), "property", "text");
	/* new since the baseline: two Counters' dictionaries, 40 and 30 entries */
	first_new = (uint32_t)nn;
	for (int c = 0; c < 2; c++) {
		uint32_t counter = node("object", "Counter", 40), map = node("object", "Object", 32);
		edge(global, counter, "property", c ? "b" : "a");
		edge(counter, map, "property", "hashMap");
		for (int i = 0; i < (c ? 30 : counter_a); i++)
			edge(map, node("object", "Object", 300), "property", "series");
	}
	for (size_t i = 1; reverse_ids && i < nn; i++)
		nodes[i].id = (uint32_t)((nn - i) * 2 + 1);
	char *j = fx_snapshot_json(nodes, nn, edges, ne, 0), err[256];
	struct hs_snapshot *s = NULL;
	if (hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)) < 0)
		fail_msg("fixture does not parse: %s", err);
	free(j);
	return s;
}

static json_t *find_place(json_t *places, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(places, i, p)
		if (strcmp(json_string_value(json_object_get(p, "place")), name) == 0)
			return p;
	return NULL;
}

static void expect(json_t *places, const char *name, const char *kind, json_int_t count, json_int_t collections)
{
	json_t *p = find_place(places, name);
	if (!p) {
		char *t = json_dumps(places, JSON_INDENT(1));
		fail_msg("no place %s in %s", name, t);
	}
	assert_string_equal(json_string_value(json_object_get(p, "entry_class")), kind);
	assert_int_equal(json_integer_value(json_object_get(p, "entry_count")), count);
	assert_int_equal(json_integer_value(json_object_get(p, "collections")), collections);
}

static void test_places_summary(void **state)
{
	(void)state;
	struct hs_snapshot *s = build();
	struct hs_dominators *d = NULL;
	char err[128];
	assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
	json_t *places = hs_places_compute(s, d, NULL, 20, NULL);
	assert_non_null(places);
	expect(places, "Counter.hashMap", "Object", 70, 2);   /* both instances, one place */
	expect(places, "Store.items", "strings", 50, 1);      /* the Map's table is the Map */
	expect(places, "EventEmitter._events.tick", "listeners", 20, 1);
	expect(places, "Queue.first", "Link", 29, 1);         /* a list: its links */
	expect(places, "global.orders", "Order", 100, 1);
	expect(places, "remember().seen", "Object", 20, 1);  /* not remember().context.seen */
	/* the list's anchor and link, not global.timerListMap[] (the way to it) */
	expect(places, "TimersList._idleNext", "Timeout", 20, 1);
	assert_null(find_place(places, "Order.part"));       /* 12 parts: a record, no place */
	json_t *first = json_array_get(places, 0);
	assert_string_equal(json_string_value(json_object_get(first, "place")), "Counter.hashMap");
	assert_int_equal(json_integer_value(json_object_get(first, "retained_bytes")), 70 * 300);
	assert_string_equal(json_string_value(json_object_get(first, "text")),
			    "Counter.hashMap: 70 entries (Object), 0.0 MiB");
	json_t *list = find_place(places, "Queue.first");
	/* each link's bytes counted once: the 29 links after the first, 48 B each */
	assert_int_equal(json_integer_value(json_object_get(list, "retained_bytes")), 29 * 48);
	json_decref(places);
	hs_dominators_free(d);
	hs_snapshot_free(s);
}

static void test_places_diff_only_new(void **state)
{
	(void)state;
	struct hs_snapshot *s = build();
	struct hs_dominators *d = NULL;
	char err[128];
	uint8_t *is_new = calloc(s->node_count, 1);
	for (uint32_t v = first_new; v < s->node_count; v++)
		is_new[v] = 1;
	assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
	json_t *places = hs_places_compute(s, d, is_new, 20, NULL);
	assert_int_equal(json_array_size(places), 1); /* global's 6 members: no collection */
	json_t *first = json_array_get(places, 0);
	assert_string_equal(json_string_value(json_object_get(first, "place")), "Counter.hashMap");
	assert_string_equal(json_string_value(json_object_get(first, "holder")), "Counter");
	assert_string_equal(json_string_value(json_object_get(first, "property")), "hashMap");
	assert_int_equal(json_integer_value(json_object_get(first, "new_entries")), 70);
	assert_int_equal(json_integer_value(json_object_get(first, "new_bytes")), 70 * 300);
	assert_string_equal(json_string_value(json_object_get(first, "text")),
			    "Counter.hashMap: +70 entries (Object), +0.0 MiB");
	json_decref(places);
	free(is_new);
	hs_dominators_free(d);
	hs_snapshot_free(s);
}

/* The baseline: the Counters' dictionaries had 20 + 30 entries, the incident 40 + 30,
 * and every object's id differs between the two (an inspector session ended between
 * them): the place grew by 20 entries, nothing else grew, whatever the ids say; the
 * orders, held by a property that is a number differing between the snapshots
 * (global.48, then global.49), are one place that did not grow. */
static void test_places_growth_by_name(void **state)
{
	(void)state;
	char err[128];
	struct hs_dominators *bd = NULL, *d = NULL;
	counter_a = 20;
	orders_name = "48";
	struct hs_snapshot *base = build();
	counter_a = 40;
	orders_name = "49";
	reverse_ids = true;
	struct hs_snapshot *s = build();
	reverse_ids = false;
	orders_name = "orders";
	/* the leak report's first place too (matching ids, it named the objects numbered last) */
	json_t *r = hs_report_compute(base, s, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "places"), 0), "text")),
			    "Counter.hashMap: +20 entries (Object), +0.0 MiB");
	json_decref(r);
	assert_int_equal(hs_dominators_compute(base, &bd, err, sizeof(err)), 0);
	struct hs_places_base *bp = hs_places_base_compute(base, bd);
	assert_non_null(bp);
	hs_dominators_free(bd);
	hs_snapshot_free(base);
	assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
	json_t *places = hs_places_growth(s, d, bp, 20, NULL);
	assert_int_equal(json_array_size(places), 1);
	json_t *first = json_array_get(places, 0);
	assert_string_equal(json_string_value(json_object_get(first, "place")), "Counter.hashMap");
	assert_int_equal(json_integer_value(json_object_get(first, "new_entries")), 20);
	assert_int_equal(json_integer_value(json_object_get(first, "new_bytes")), 20 * 300);
	assert_int_equal(json_integer_value(json_object_get(first, "entries")), 70);
	assert_string_equal(json_string_value(json_object_get(first, "text")),
			    "Counter.hashMap: +20 entries (Object), +0.0 MiB");
	json_decref(places);
	/* against itself nothing grew */
	hs_places_base_free(bp);
	bp = hs_places_base_compute(s, d);
	places = hs_places_growth(s, d, bp, 20, NULL);
	assert_int_equal(json_array_size(places), 0);
	json_decref(places);
	hs_places_base_free(bp);
	hs_dominators_free(d);
	hs_snapshot_free(s);
}

static json_t *report_of(bool renumber)
{
	char err[128];
	counter_a = 20;
	struct hs_snapshot *base = build();
	counter_a = 40;
	reverse_ids = renumber;
	struct hs_snapshot *s = build();
	reverse_ids = false;
	json_t *r = hs_report_compute(base, s, err, sizeof(err));
	if (!r)
		fail_msg("no report: %s", err);
	hs_snapshot_free(base);
	hs_snapshot_free(s);
	return r;
}

static void expect_growth(json_t *r, const char *ids, const char *cls, json_int_t new_count, json_int_t delta_count,
			  json_int_t delta_bytes)
{
	json_t *first = json_array_get(json_object_get(r, "top_growth"), 0);
	const char *got = json_string_value(json_object_get(r, "ids"));
	assert_non_null(got);
	assert_string_equal(got, ids);
	assert_non_null(first);
	assert_string_equal(json_string_value(json_object_get(first, "class")), cls);
	assert_int_equal(json_integer_value(json_object_get(first, "new_count")), new_count);
	assert_int_equal(json_integer_value(json_object_get(first, "delta_count")), delta_count);
	assert_int_equal(json_integer_value(json_object_get(first, "delta_bytes")), delta_bytes);
}

/* The class table of one pair (Counter a's dictionary grew by 20 Objects of 300 B):
 * with stable ids, by id as before (the 20 ids above the baseline's last); with every id
 * renumbered (reversed; matching ids, "global" and the Orders came first), by class
 * counts: Object grew by 20, nothing else did, and the retainer path leads to an entry
 * of the first place, Counter.hashMap, not to the largest Object (the config blob the
 * baseline had: no instance is known to be new). */
static void test_report_classes_renumbered(void **state)
{
	(void)state;
	json_t *r = report_of(false);
	expect_growth(r, "stable", "Object", 20, 20, 20 * 300);
	json_decref(r);
	r = report_of(true);
	expect_growth(r, "renumbered", "Object", 20, 20, 20 * 300);
	json_t *first = json_array_get(json_object_get(r, "top_growth"), 0);
	assert_int_equal(json_integer_value(json_object_get(first, "alloc_bytes")), 20 * 300);
	assert_int_equal(json_array_size(json_object_get(r, "top_growth")), 1);
	json_t *path = json_object_get(r, "retainer_path");
	size_t len = json_array_size(path);
	assert_true(len >= 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(path, len - 3), "edge")), "hashMap");
	assert_string_equal(json_string_value(json_object_get(json_array_get(path, len - 2), "edge")), "series");
	json_decref(r);
}

/* A request object of 20 properties (a collection by fan-out) whose sessionStore is
 * the store that keeps every session: the sessions are the store's place, and the
 * request's place counts only what it holds outside it (e2e/56's session case once
 * named HTTPParser.incoming, +54.7 MiB, first). */
static void test_places_nested_collection(void **state)
{
	(void)state;
	nn = ne = 0;
	uint32_t root = node("synthetic", "", 0), parser = node("object", "HTTPParser", 40);
	uint32_t req = node("object", "IncomingMessage", 80), store = node("object", "MemoryStore", 40);
	uint32_t sessions = node("object", "Object", 32);
	elements(root, parser);
	edge(parser, req, "property", "incoming");
	for (int i = 0; i < 19; i++)
		edge(req, node("object", "Object", 16), "property", "field");
	edge(req, store, "property", "sessionStore");
	edge(store, sessions, "property", "sessions");
	for (int i = 0; i < 100; i++)
		edge(sessions, node("string", "s", 500), "property", "sid");
	char *j = fx_snapshot_json(nodes, nn, edges, ne, 0), err[256];
	struct hs_snapshot *s = NULL;
	struct hs_dominators *d = NULL;
	assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), 0);
	free(j);
	assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
	json_t *places = hs_places_compute(s, d, NULL, 20, NULL);
	json_t *first = json_array_get(places, 0);
	assert_string_equal(json_string_value(json_object_get(first, "place")), "MemoryStore.sessions");
	json_t *outer = find_place(places, "HTTPParser.incoming");
	assert_non_null(outer);
	/* 19 fields of 16 B and the store's own 40 B, not the sessions' 100 x 500 B */
	assert_int_equal(json_integer_value(json_object_get(outer, "retained_bytes")), 19 * 16 + 40);
	json_decref(places);
	hs_dominators_free(d);
	hs_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_places_summary),
		cmocka_unit_test(test_places_diff_only_new),
		cmocka_unit_test(test_places_growth_by_name),
		cmocka_unit_test(test_report_classes_renumbered),
		cmocka_unit_test(test_places_nested_collection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
