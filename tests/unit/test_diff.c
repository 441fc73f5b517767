// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the Comparison view (class rules, id matching, ordering, JSON
 * keys), the Summary view (retained per class without double counting) and the
 * automatic leak report (ranking, exclusions, retainer path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "snapshot/diff.h"
#include "snapshot/dominators.h"
#include "snapshot/parse.h"
#include "snapshot/report.h"
#include "graph_fixture.h"

static struct hs_snapshot *parse_fixture(const struct fx_node *nodes, size_t n,
					 const struct fx_edge *edges, size_t m, int six)
{
	char *j = fx_snapshot_json(nodes, n, edges, m, six), err[256];
	struct hs_snapshot *s = NULL;
	if (hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)) < 0)
		fail_msg("fixture does not parse: %s", err);
	free(j);
	return s;
}

static const struct fx_node base_nodes[] = {
	{ "synthetic", "", 1, 0 },
	{ "object", "Foo", 3, 10 },          /* kept */
	{ "object", "Foo", 5, 20 },          /* deleted */
	{ "hidden", "x", 7, 30 },            /* deleted: (system) */
	{ "code", "y", 9, 40 },              /* kept */
	{ "object", "Zero", 11, 0 },         /* size 0: never counted */
	{ "native", "Nat", 13, 0 },          /* deleted: native counts at size 0 */
};
static const struct fx_node new_nodes[] = {
	{ "synthetic", "", 1, 0 },
	{ "object", "Foo", 3, 10 },
	{ "object", "Foo", 15, 12 },
	{ "object", "Foo", 17, 12 },
	{ "code", "y", 9, 40 },
	{ "code", "z", 19, 8 },              /* (compiled code) */
	{ "string", "s", 21, 16 },           /* (string) */
	{ "concatenated string", "c", 23, 20 },
	{ "object", "Zero", 25, 0 },
	{ "native", "Nat", 27, 0 },
	{ "object", "Bar2", 31, 12 },
	{ "object", "Bar", 29, 12 },
};

struct want_row {
	const char *cls;
	long long new_count, deleted_count, delta_count, alloc, freed, delta_bytes;
};

static const struct want_row want_rows[] = {
	{ "(concatenated string)", 1, 0, 1, 20, 0, 20 },
	{ "(string)", 1, 0, 1, 16, 0, 16 },
	{ "Bar", 1, 0, 1, 12, 0, 12 },       /* tie on delta_bytes: by name */
	{ "Bar2", 1, 0, 1, 12, 0, 12 },
	{ "(compiled code)", 1, 0, 1, 8, 0, 8 },
	{ "Foo", 2, 1, 1, 24, 20, 4 },
	{ "Nat", 1, 1, 0, 0, 0, 0 },
	{ "(system)", 0, 1, -1, 0, 30, -30 },
};

static void check_diff(int base_six, int new_six)
{
	struct hs_snapshot *b = parse_fixture(base_nodes, 7, NULL, 0, base_six);
	struct hs_snapshot *n = parse_fixture(new_nodes, 12, NULL, 0, new_six);
	struct hs_diff d;
	char err[128];
	assert_int_equal(hs_diff_compute(b, n, &d, err, sizeof(err)), 0);
	assert_int_equal(d.count, sizeof(want_rows) / sizeof(*want_rows));
	for (size_t i = 0; i < d.count; i++) {
		const struct hs_class_diff *c = &d.classes[i];
		const struct want_row *w = &want_rows[i];
		assert_string_equal(c->name, w->cls);
		assert_int_equal(c->new_count, w->new_count);
		assert_int_equal(c->deleted_count, w->deleted_count);
		assert_int_equal(c->delta_count, w->delta_count);
		assert_int_equal(c->alloc_bytes, w->alloc);
		assert_int_equal(c->freed_bytes, w->freed);
		assert_int_equal(c->delta_bytes, w->delta_bytes);
	}
	hs_diff_free(&d);
	hs_snapshot_free(b);
	hs_snapshot_free(n);
}

static void test_comparison_rules(void **state)
{
	(void)state;
	check_diff(0, 0);
	check_diff(1, 0); /* Node 24 layout on one side */
}

static void test_json_keys_and_top(void **state)
{
	(void)state;
	static const char *keys[] = { "class", "new_count", "deleted_count", "delta_count",
				      "alloc_bytes", "freed_bytes", "delta_bytes" };
	struct hs_snapshot *b = parse_fixture(base_nodes, 7, NULL, 0, 0);
	struct hs_snapshot *n = parse_fixture(new_nodes, 12, NULL, 0, 0);
	struct hs_diff d;
	char err[128];
	assert_int_equal(hs_diff_compute(b, n, &d, err, sizeof(err)), 0);
	json_t *all = hs_diff_to_json(&d, 0), *top = hs_diff_to_json(&d, 3);
	assert_int_equal(json_array_size(all), d.count);
	assert_int_equal(json_array_size(top), 3);
	json_t *row = json_array_get(all, 7);
	assert_int_equal(json_object_size(row), 7);
	for (size_t i = 0; i < 7; i++)
		assert_non_null(json_object_get(row, keys[i]));
	assert_string_equal(json_string_value(json_object_get(row, "class")), "(system)");
	assert_int_equal(json_integer_value(json_object_get(row, "delta_bytes")), -30);
	json_decref(all);
	json_decref(top);
	/* identical snapshots: nothing new, nothing deleted */
	hs_diff_free(&d);
	assert_int_equal(hs_diff_compute(n, n, &d, err, sizeof(err)), 0);
	assert_int_equal(d.count, 0);
	hs_diff_free(&d);
	hs_snapshot_free(b);
	hs_snapshot_free(n);
}

/* root -> W1(10) -> W2(10) -> Leaf(5); root -> W3(7): Wrap's retained is 25 + 7,
 * W2 is not counted again under W1. */
static void test_summary_no_double_count(void **state)
{
	(void)state;
	static const struct fx_node nodes[] = {
		{ "synthetic", "", 1, 0 }, { "object", "Wrap", 3, 10 }, { "object", "Wrap", 5, 10 },
		{ "object", "Leaf", 7, 5 }, { "object", "Wrap", 9, 7 }, { "hidden", "h", 11, 3 },
	};
	static const struct fx_edge edges[] = {
		{ 0, 1, "element", "1" }, { 1, 2, "property", "in" }, { 2, 3, "property", "leaf" },
		{ 0, 4, "element", "2" }, { 4, 5, "internal", "h" },
	};
	struct hs_snapshot *s = parse_fixture(nodes, 6, edges, 5, 1);
	struct hs_dominators *dom = NULL;
	struct hs_summary sum;
	char err[128];
	assert_int_equal(hs_dominators_compute(s, &dom, err, sizeof(err)), 0);
	assert_int_equal(hs_summary_compute(s, dom, &sum, err, sizeof(err)), 0);
	assert_int_equal(sum.count, 3);
	assert_string_equal(sum.classes[0].name, "Wrap");
	assert_int_equal(sum.classes[0].count, 3);
	assert_int_equal(sum.classes[0].shallow_bytes, 27);
	assert_int_equal(sum.classes[0].retained_bytes, 35);
	assert_string_equal(sum.classes[1].name, "Leaf");
	assert_int_equal(sum.classes[1].retained_bytes, 5);
	assert_string_equal(sum.classes[2].name, "(system)");
	assert_int_equal(sum.classes[2].retained_bytes, 3);
	json_t *j = hs_summary_to_json(&sum, 1);
	assert_int_equal(json_array_size(j), 1);
	assert_int_equal(json_object_size(json_array_get(j, 0)), 4);
	json_decref(j);
	hs_summary_free(&sum);
	hs_dominators_free(dom);
	hs_snapshot_free(s);
}

/* An Order leak: two new Orders each holding small Objects; bigger new objects of
 * excluded classes ("system / Context", closures) must not outrank it. */
static void test_report_names_the_leaking_constructor(void **state)
{
	(void)state;
	static const struct fx_node base[] = {
		{ "synthetic", "", 1, 0 }, { "object", "Global", 3, 10 },
		{ "object", "Registry", 5, 10 }, { "array", "", 7, 100 },
		{ "native", "Node / Realm", 50, 64 },
	};
	static const struct fx_edge base_edges[] = {
		{ 0, 1, "element", "1" }, { 1, 2, "property", "registry" }, { 2, 3, "internal", "orders" },
		{ 0, 4, "element", "2" },
	};
	static const struct fx_node cur[] = {
		{ "synthetic", "", 1, 0 }, { "object", "Global", 3, 10 },
		{ "object", "Registry", 5, 10 }, { "array", "", 7, 100 },
		{ "object", "Order", 101, 20 }, { "object", "Order", 103, 20 },
		{ "object", "Object", 105, 8 }, { "object", "Object", 107, 8 },
		{ "object", "Object", 109, 8 }, { "object", "system / Context", 111, 500 },
		{ "closure", "fn", 113, 400 }, { "object", "Object", 115, 30 },
		{ "object", "Order", 117, 0 },
		{ "native", "Node / Realm", 52, 640 }, /* fresh id, same count: did not grow */
	};
	static const struct fx_edge cur_edges[] = {
		{ 0, 1, "element", "1" }, { 1, 2, "property", "registry" }, { 2, 3, "internal", "orders" },
		{ 3, 4, "element", "0" }, { 3, 5, "element", "1" }, { 4, 6, "property", "item" },
		{ 4, 7, "property", "item2" }, { 5, 8, "property", "item" }, { 1, 9, "context", "ctx" },
		{ 1, 10, "property", "fn" }, { 1, 11, "property", "big" }, { 3, 12, "element", "2" },
		{ 0, 13, "element", "2" }, { 1, 4, "weak", "cachedOrder" },
	};
	struct hs_snapshot *b = parse_fixture(base, 5, base_edges, 4, 0);
	struct hs_snapshot *n = parse_fixture(cur, 14, cur_edges, 14, 1);
	char err[256];
	json_t *r = hs_report_compute(b, n, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "basis")), "diff");
	json_t *top = json_object_get(r, "top_growth"), *path = json_object_get(r, "retainer_path");
	assert_int_equal(json_array_size(top), 2);
	json_t *first = json_array_get(top, 0), *second = json_array_get(top, 1);
	assert_string_equal(json_string_value(json_object_get(first, "class")), "Order");
	assert_int_equal(json_integer_value(json_object_get(first, "new_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(first, "retained_bytes")), 64);
	assert_int_equal(json_integer_value(json_object_get(first, "alloc_bytes")), 40);
	assert_int_equal(json_integer_value(json_object_get(first, "delta_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(first, "delta_bytes")), 40);
	assert_int_equal(json_object_size(first), 6);
	assert_string_equal(json_string_value(json_object_get(second, "class")), "Object");
	assert_int_equal(json_integer_value(json_object_get(second, "retained_bytes")), 54);
	/* Global --registry--> Registry --orders--> (array) --[0]--> Order (the larger one) */
	static const char *want_nodes[] = { "Global @3", "Registry @5", "(array) @7", "Order @101" };
	static const char *want_edges[] = { "registry", "orders", "[0]", NULL };
	assert_int_equal(json_array_size(path), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *el = json_array_get(path, i);
		assert_string_equal(json_string_value(json_object_get(el, "node")), want_nodes[i]);
		if (want_edges[i])
			assert_string_equal(json_string_value(json_object_get(el, "edge")), want_edges[i]);
		else
			assert_null(json_object_get(el, "edge"));
	}
	json_t *brief = hs_report_brief(r, 1);
	assert_int_equal(json_array_size(json_object_get(brief, "top_growth")), 1);
	assert_int_equal(json_array_size(json_object_get(brief, "retainer_path")), 4);
	json_decref(brief);
	json_decref(r);
	/* nothing grew: both arrays empty */
	r = hs_report_compute(n, n, err, sizeof(err));
	assert_int_equal(json_array_size(json_object_get(r, "top_growth")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "retainer_path")), 0);
	json_decref(r);
	hs_snapshot_free(b);
	hs_snapshot_free(n);
}

static const char *top_class(json_t *r, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(r, "top_growth"), i), "class"));
}

/* Without a baseline (basis summary) a holder ranks below what it holds: one Map holds
 * 70 Sessions through its table and the Global holds it all, so Session comes first;
 * a Ledger of three Orders, each owning one Array, holds too few per instance to be a
 * holder, and Order stays above Array. */
#define NSESS 70
static void test_report_summary_holders(void **state)
{
	(void)state;
	struct fx_node nodes[4 + 2 * NSESS + 7];
	struct fx_edge edges[3 + 2 * NSESS + 7];
	size_t n = 0, m = 0;
	nodes[n++] = (struct fx_node){ "synthetic", "", 1, 0 };
	nodes[n++] = (struct fx_node){ "object", "Global", 3, 10 };
	nodes[n++] = (struct fx_node){ "object", "Map", 5, 20 };
	nodes[n++] = (struct fx_node){ "array", "", 7, 200 };
	edges[m++] = (struct fx_edge){ 0, 1, "element", "1" };
	edges[m++] = (struct fx_edge){ 1, 2, "property", "sessions" };
	edges[m++] = (struct fx_edge){ 2, 3, "internal", "table" };
	for (uint32_t i = 0; i < NSESS; i++) {
		uint32_t sess = (uint32_t)n;
		nodes[n++] = (struct fx_node){ "object", "Session", 11 + 4 * i, 30 };
		nodes[n++] = (struct fx_node){ "string", "tok", 13 + 4 * i, 50 };
		edges[m++] = (struct fx_edge){ 3, sess, "element", "0" };
		edges[m++] = (struct fx_edge){ sess, sess + 1, "property", "token" };
	}
	uint32_t ledger = (uint32_t)n;
	nodes[n++] = (struct fx_node){ "object", "Ledger", 1001, 10 };
	edges[m++] = (struct fx_edge){ 1, ledger, "property", "ledger" };
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t order = (uint32_t)n;
		nodes[n++] = (struct fx_node){ "object", "Order", 1003 + 4 * i, 20 };
		nodes[n++] = (struct fx_node){ "object", "Array", 1005 + 4 * i, 40 };
		edges[m++] = (struct fx_edge){ ledger, order, "property", "o" };
		edges[m++] = (struct fx_edge){ order, order + 1, "property", "items" };
	}
	struct hs_snapshot *s = parse_fixture(nodes, n, edges, m, 1);
	char err[256];
	json_t *r = hs_report_summary_compute(s, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "basis")), "summary");
	static const char *want[] = { "Session", "Global", "Map", "Ledger", "Order", "Array" };
	assert_int_equal(json_array_size(json_object_get(r, "top_growth")), 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(top_class(r, i), want[i]);
	json_t *first = json_array_get(json_object_get(r, "top_growth"), 0);
	assert_int_equal(json_integer_value(json_object_get(first, "count")), NSESS);
	assert_int_equal(json_integer_value(json_object_get(first, "retained_bytes")), NSESS * 80);
	assert_int_equal(json_integer_value(json_object_get(first, "shallow_bytes")), NSESS * 30);
	/* the holder is in the path to the leaking class */
	static const char *path[] = { "Global @3", "Map @5", "(array) @7", "Session @11" };
	json_t *p = json_object_get(r, "retainer_path");
	assert_int_equal(json_array_size(p), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(p, i), "node")), path[i]);
	json_t *brief = hs_report_brief(r, 2);
	assert_string_equal(json_string_value(json_object_get(brief, "basis")), "summary");
	json_decref(brief);
	json_decref(r);
	hs_snapshot_free(s);
}

/* A record owning a dozen parts (an Order and its line items, each an Object) is no
 * holder of them: Order comes first, not Object (e2e/55's orders shape). */
static void test_report_record_with_parts(void **state)
{
	(void)state;
	struct fx_node nodes[3 + 20 * 13];
	struct fx_edge edges[2 + 20 * 13];
	size_t n = 0, m = 0;
	nodes[n++] = (struct fx_node){ "synthetic", "", 1, 0 };
	nodes[n++] = (struct fx_node){ "object", "Global", 3, 10 };
	nodes[n++] = (struct fx_node){ "array", "", 5, 100 };
	edges[m++] = (struct fx_edge){ 0, 1, "element", "1" };
	edges[m++] = (struct fx_edge){ 1, 2, "internal", "orders" };
	for (uint32_t i = 0; i < 20; i++) {
		uint32_t order = (uint32_t)n;
		nodes[n++] = (struct fx_node){ "object", "Order", 11 + 40 * i, 24 };
		edges[m++] = (struct fx_edge){ 2, order, "element", "0" };
		for (uint32_t k = 0; k < 12; k++) {
			nodes[n++] = (struct fx_node){ "object", "Object", 13 + 40 * i + 2 * k, 32 };
			edges[m++] = (struct fx_edge){ order, (uint32_t)n - 1, "property", "item" };
		}
	}
	struct hs_snapshot *s = parse_fixture(nodes, n, edges, m, 1);
	char err[256];
	json_t *r = hs_report_summary_compute(s, err, sizeof(err));
	assert_non_null(r);
	/* Order is no holder of its 12 parts; the Global is a holder of the 240 parts (and
	 * of nothing else: 20 Orders are under the fan-out bar), so it ranks last */
	assert_string_equal(top_class(r, 0), "Order");
	assert_string_equal(top_class(r, 1), "Object");
	assert_string_equal(top_class(r, 2), "Global");
	json_decref(r);
	hs_snapshot_free(s);
}

/* A doubly linked list (a TimersList and its Timeouts): the list is a holder, and the
 * path to the biggest item walks the chain, cut to its ends around "(N more Item)". */
#define NITEMS 70
static void test_report_chain_collapsed(void **state)
{
	(void)state;
	struct fx_node nodes[3 + NITEMS];
	struct fx_edge edges[4 + 2 * NITEMS];
	size_t n = 0, m = 0;
	nodes[n++] = (struct fx_node){ "synthetic", "", 1, 0 };
	nodes[n++] = (struct fx_node){ "object", "Global", 3, 10 };
	nodes[n++] = (struct fx_node){ "object", "List", 5, 10 };
	for (uint32_t i = 0; i < NITEMS; i++) /* the 4th from the end is the big one */
		nodes[n++] = (struct fx_node){ "object", "Item", 11 + 2 * i, i == NITEMS - 4 ? 2000 : 20 };
	edges[m++] = (struct fx_edge){ 0, 1, "element", "1" };
	edges[m++] = (struct fx_edge){ 1, 2, "property", "list" };
	edges[m++] = (struct fx_edge){ 2, 3, "property", "next" };
	edges[m++] = (struct fx_edge){ 2, 2 + NITEMS, "property", "prev" };
	for (uint32_t i = 3; i < 2 + NITEMS; i++) {
		edges[m++] = (struct fx_edge){ i, i + 1, "property", "next" };
		edges[m++] = (struct fx_edge){ i + 1, i, "property", "prev" };
	}
	struct hs_snapshot *s = parse_fixture(nodes, n, edges, m, 1);
	char err[256];
	json_t *r = hs_report_summary_compute(s, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(top_class(r, 0), "Item");
	/* Global -> List -prev-> the last Item -> ... -> the 4th from the end (the big one) */
	char last[32], big[32];
	snprintf(last, sizeof(last), "Item @%d", 11 + 2 * (NITEMS - 1));
	snprintf(big, sizeof(big), "Item @%d", 11 + 2 * (NITEMS - 4));
	const char *path[] = { "Global @3", "List @5", last, "(2 more Item)", big };
	json_t *p = json_object_get(r, "retainer_path");
	assert_int_equal(json_array_size(p), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(p, i), "node")), path[i]);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 1), "edge")), "prev");
	assert_null(json_object_get(json_array_get(p, 4), "edge"));
	json_decref(r);
	hs_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comparison_rules),
		cmocka_unit_test(test_json_keys_and_top),
		cmocka_unit_test(test_summary_no_double_count),
		cmocka_unit_test(test_report_names_the_leaking_constructor),
		cmocka_unit_test(test_report_summary_holders),
		cmocka_unit_test(test_report_record_with_parts),
		cmocka_unit_test(test_report_chain_collapsed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
