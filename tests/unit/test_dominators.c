// SPDX-License-Identifier: Apache-2.0
/* Unit tests of dominators and retained sizes: a hand-built graph with known
 * dominators (cycles, weak and shortcut edges, an unreachable node), a deep chain,
 * random graphs checked against the definition (d dominates v iff v is
 * unreachable from the root once d is removed), and the summary's in-place
 * predecessor build, in many rounds or one, against dominator sets iterated to
 * their fixpoint on larger random graphs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdbool.h>

#include "snapshot/dominators.h"
#include "snapshot/parse.h"
#include "graph_fixture.h"

static struct hs_snapshot *parse_fixture(const struct fx_node *nodes, size_t n,
					 const struct fx_edge *edges, size_t m)
{
	char *j = fx_snapshot_json(nodes, n, edges, m, 0), err[256];
	struct hs_snapshot *s = NULL;
	if (hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)) < 0)
		fail_msg("fixture does not parse: %s", err);
	free(j);
	return s;
}

/*   0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4 <-> 5, 3 -> 6, 1 -weak-> 6,
 *   2 -shortcut-> 5 (ignored: not from the root), 2 -weak-> 7 (7 unreachable),
 *   0 -shortcut-> 8 and 1 -> 8 (a root shortcut counts). */
static void test_known_graph(void **state)
{
	(void)state;
	static const struct fx_node nodes[] = {
		{ "synthetic", "", 1, 1 }, { "object", "A", 3, 2 }, { "object", "B", 5, 4 },
		{ "object", "C", 7, 8 }, { "object", "D", 9, 16 }, { "object", "E", 11, 32 },
		{ "object", "F", 13, 64 }, { "object", "G", 15, 128 }, { "object", "H", 17, 256 },
	};
	static const struct fx_edge edges[] = {
		{ 0, 1, "element", "1" }, { 0, 2, "element", "2" }, { 1, 3, "property", "c" },
		{ 2, 3, "property", "c" }, { 3, 4, "property", "d" }, { 4, 5, "property", "e" },
		{ 5, 4, "property", "back" }, { 3, 6, "property", "f" }, { 1, 6, "weak", "f" },
		{ 2, 5, "shortcut", "e" }, { 2, 7, "weak", "g" }, { 0, 8, "shortcut", "h" },
		{ 1, 8, "property", "h" },
	};
	static const uint32_t want_idom[] = { 0, 0, 0, 0, 3, 4, 3, 0, 0 };
	static const uint64_t want_retained[] = { 511, 2, 4, 120, 48, 32, 64, 128, 256 };
	struct hs_snapshot *s = parse_fixture(nodes, 9, edges, 13);
	struct hs_dominators *d = NULL;
	char err[128];
	assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
	for (uint32_t v = 0; v < 9; v++) {
		if (d->idom[v] != want_idom[v])
			fail_msg("idom(%u) = %u, want %u", v, d->idom[v], want_idom[v]);
		if (d->retained[v] != want_retained[v])
			fail_msg("retained(%u) = %llu, want %llu", v,
				 (unsigned long long)d->retained[v], (unsigned long long)want_retained[v]);
	}
	/* tree: root's children 1,2,3,7,8; 3's children 4 and 6; 4's child 5 */
	assert_int_equal(d->child_first[1] - d->child_first[0], 5);
	assert_int_equal(d->child_first[4] - d->child_first[3], 2);
	assert_int_equal(d->child[d->child_first[4]], 5);
	hs_dominators_free(d);
	hs_snapshot_free(s);
}

/* A 300k-long chain: no recursion may overflow; retained sums the tail. */
static void test_deep_chain(void **state)
{
	(void)state;
	uint32_t n = 300000;
	char *j = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&j, &len);
	fputs("{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"],"
	      "\"node_types\":[[\"object\"]],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
	      "\"edge_types\":[[\"property\"]]}},\"nodes\":[", f);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%s0,0,%u,2,%d", i ? "," : "", i, i + 1 < n);
	fputs("],\"edges\":[", f);
	for (uint32_t i = 1; i < n; i++)
		fprintf(f, "%s0,0,%u", i > 1 ? "," : "", i * 5);
	fputs("],\"strings\":[\"\"]}", f);
	fclose(f);
	struct hs_snapshot *s = NULL;
	struct hs_dominators *d = NULL;
	char err[128];
	assert_int_equal(hs_snapshot_parse_mem(j, len, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
	assert_int_equal(d->retained[0], 2ull * n);
	assert_int_equal(d->retained[n / 2], 2ull * (n - n / 2));
	assert_int_equal(d->idom[n - 1], n - 2);
	hs_dominators_free(d);
	hs_snapshot_free(s);
	free(j);
}

#define RN 14
#define RM 40

static void reach(const struct fx_edge *e, size_t m, uint32_t removed, bool *seen)
{
	uint32_t stack[RN], sp = 0;
	memset(seen, 0, RN * sizeof(bool));
	if (removed == 0)
		return;
	seen[0] = true;
	stack[sp++] = 0;
	while (sp) {
		uint32_t u = stack[--sp];
		for (size_t i = 0; i < m; i++) {
			if (e[i].from != u || e[i].to == removed || seen[e[i].to])
				continue;
			if (strcmp(e[i].type, "weak") == 0 || (strcmp(e[i].type, "shortcut") == 0 && u != 0))
				continue;
			seen[e[i].to] = true;
			stack[sp++] = e[i].to;
		}
	}
}

static void test_random_graphs_match_definition(void **state)
{
	(void)state;
	static const char *types[] = { "property", "element", "weak", "shortcut", "internal" };
	static const char *names[] = { "a", "0", "w", "s", "i" };
	struct fx_node nodes[RN];
	struct fx_edge edges[RM];
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		size_t m = 0;
		for (uint32_t v = 0; v < RN; v++)
			nodes[v] = (struct fx_node){ v ? "object" : "synthetic", "N", 2 * v + 1, v + 1 };
		/* a tree that reaches everything, then random extra edges of all kinds */
		for (uint32_t v = 1; v < RN; v++)
			edges[m++] = (struct fx_edge){ (uint32_t)(rand_r(&seed) % v), v, "property", "t" };
		while (m < RM) {
			int t = rand_r(&seed) % 5;
			edges[m++] = (struct fx_edge){ (uint32_t)(rand_r(&seed) % RN),
						       (uint32_t)(rand_r(&seed) % RN), types[t], names[t] };
		}
		struct hs_snapshot *s = parse_fixture(nodes, RN, edges, m);
		struct hs_dominators *d = NULL;
		char err[128];
		assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
		/* dom[x][v]: x dominates v */
		bool dom[RN][RN], seen[RN];
		for (uint32_t x = 0; x < RN; x++) {
			reach(edges, m, x, seen);
			for (uint32_t v = 0; v < RN; v++)
				dom[x][v] = x == v || x == 0 || !seen[v];
		}
		for (uint32_t v = 1; v < RN; v++) {
			/* idom: the strict dominator that all other strict dominators dominate */
			uint32_t want = UINT32_MAX;
			for (uint32_t x = 0; x < RN; x++) {
				if (x == v || !dom[x][v])
					continue;
				bool lowest = true;
				for (uint32_t y = 0; y < RN; y++)
					if (y != v && dom[y][v] && !dom[y][x])
						lowest = false;
				if (lowest)
					want = x;
			}
			if (d->idom[v] != want)
				fail_msg("round %d: idom(%u) = %u, want %u", round, v, d->idom[v], want);
			uint64_t sum = 0; /* retained = self sizes of everything v dominates */
			for (uint32_t x = 0; x < RN; x++)
				if (dom[v][x])
					sum += x + 1;
			assert_int_equal(d->retained[v], sum);
		}
		/* the summary's variant: the same tree, the edges given back */
		struct hs_dominators *dc = NULL;
		assert_int_equal(hs_dominators_compute_consume(s, &dc, err, sizeof(err)), 0);
		assert_null(s->edge_to);
		assert_null(s->edge_type);
		assert_null(s->first_edge);
		assert_memory_equal(dc->idom, d->idom, RN * sizeof(uint32_t));
		assert_memory_equal(dc->retained, d->retained, RN * sizeof(uint64_t));
		assert_memory_equal(dc->child_first, d->child_first, (RN + 1) * sizeof(uint32_t));
		assert_memory_equal(dc->child, d->child, (RN - 1) * sizeof(uint32_t)); /* n - 1 children */
		hs_dominators_free(dc);
		hs_dominators_free(d);
		hs_snapshot_free(s);
	}
}

/* ---- the summary's in-place predecessor build against a naive algorithm ---- */

#define BN 300
#define BW ((BN + 63) / 64)

static bool essential(const struct fx_edge *e)
{
	return strcmp(e->type, "weak") != 0 && (strcmp(e->type, "shortcut") != 0 || e->from == 0);
}

static void mark_reached(const struct fx_edge *e, size_t m, uint32_t from, bool *seen)
{
	uint32_t stack[BN], sp = 0;
	seen[from] = true;
	stack[sp++] = from;
	while (sp) {
		uint32_t u = stack[--sp];
		for (size_t i = 0; i < m; i++) {
			if (e[i].from == u && essential(&e[i]) && !seen[e[i].to]) {
				seen[e[i].to] = true;
				stack[sp++] = e[i].to;
			}
		}
	}
}

/* Dominator sets by plain iteration to the fixpoint, on the essential edges plus
 * an edge from the root to each node nothing reached before it in node order (the
 * DevTools rule for unreachable nodes); want_idom: the strict dominator dominated by
 * all others, want_retained: the self sizes (v + 1) of all v dominates. */
static void naive_dominators(const struct fx_edge *e, size_t m, uint32_t n, uint32_t *want_idom,
			     uint64_t *want_retained)
{
	static uint64_t dom[BN][BW];
	static bool virt[BN], seen[BN];
	memset(seen, 0, sizeof(seen));
	memset(virt, 0, sizeof(virt));
	mark_reached(e, m, 0, seen);
	for (uint32_t v = 1; v < n; v++)
		if (!seen[v])
			virt[v] = true, mark_reached(e, m, v, seen);
	for (uint32_t v = 0; v < n; v++)
		for (uint32_t w = 0; w < BW; w++)
			dom[v][w] = v ? ~0ull : 0;
	dom[0][0] = 1;
	for (bool changed = true; changed;) {
		changed = false;
		for (uint32_t v = 1; v < n; v++) {
			uint64_t meet[BW];
			for (uint32_t w = 0; w < BW; w++)
				meet[w] = virt[v] ? dom[0][w] : ~0ull;
			for (size_t i = 0; i < m; i++)
				if (e[i].to == v && essential(&e[i]))
					for (uint32_t w = 0; w < BW; w++)
						meet[w] &= dom[e[i].from][w];
			meet[v / 64] |= 1ull << (v % 64);
			if (memcmp(meet, dom[v], sizeof(meet)) != 0)
				changed = true, memcpy(dom[v], meet, sizeof(meet));
		}
	}
	for (uint32_t v = 0; v < n; v++) {
		uint32_t best = 0, best_size = 0;
		want_retained[v] = 0;
		for (uint32_t x = 0; x < n; x++) {
			if (dom[x][v / 64] >> (v % 64) & 1)
				want_retained[v] += x + 1;
			if (x == v || !(dom[v][x / 64] >> (x % 64) & 1))
				continue;
			uint32_t size = 0;
			for (uint32_t w = 0; w < BW; w++)
				size += (uint32_t)__builtin_popcountll(dom[x][w]);
			if (size > best_size)
				best = x, best_size = size;
		}
		want_idom[v] = best;
	}
}

/* Random graphs of up to BN nodes; every third one has edges only to lower nodes
 * and none from the root, so every node is a root of its own and every edge a
 * cross edge: no free space behind the packed entries, the array must grow. */
static uint32_t random_graph(unsigned *seed, int round, struct fx_node *nodes, struct fx_edge *edges, size_t *m)
{
	static const char *types[] = { "property", "element", "weak", "shortcut", "internal", "hidden" };
	static const char *names[] = { "a", "0", "w", "s", "i", "1" };
	uint32_t n = 2 + (uint32_t)(rand_r(seed) % (BN - 1));
	size_t want = (size_t)n * (1 + (size_t)(rand_r(seed) % 5));
	bool backward = round % 3 == 2;
	for (uint32_t v = 0; v < n; v++)
		nodes[v] = (struct fx_node){ v ? "object" : "synthetic", "N", 2 * v + 1, v + 1 };
	*m = 0;
	while (*m < want) {
		int t = rand_r(seed) % 6;
		uint32_t from = (uint32_t)(rand_r(seed) % n), to = (uint32_t)(rand_r(seed) % n);
		if (backward && (from == 0 || to >= from))
			continue;
		edges[(*m)++] = (struct fx_edge){ from, to, types[t], names[t] };
	}
	return n;
}

static void check_against(const struct hs_dominators *d, const uint32_t *want_idom, const uint64_t *want_retained,
			  uint32_t n, int round, const char *variant)
{
	for (uint32_t v = 1; v < n; v++)
		if (d->idom[v] != want_idom[v])
			fail_msg("round %d %s: idom(%u) = %u, want %u", round, variant, v, d->idom[v], want_idom[v]);
	for (uint32_t v = 0; v < n; v++)
		if (d->retained[v] != want_retained[v])
			fail_msg("round %d %s: retained(%u) = %llu, want %llu", round, variant, v,
				 (unsigned long long)d->retained[v], (unsigned long long)want_retained[v]);
}

static void test_in_place_build_matches_naive(void **state)
{
	(void)state;
	static struct fx_node nodes[BN];
	static struct fx_edge edges[BN * 5];
	static const uint32_t caps[][2] = { { 0, 0 }, { 1, 1 }, { 3, 2 }, { 17, 40 } };
	static uint32_t want_idom[BN];
	static uint64_t want_retained[BN];
	unsigned seed = 2323;
	for (int round = 0; round < 60; round++) {
		size_t m;
		uint32_t n = random_graph(&seed, round, nodes, edges, &m);
		naive_dominators(edges, m, n, want_idom, want_retained);
		char *j = fx_snapshot_json(nodes, n, edges, m, 0), err[128];
		struct hs_snapshot *s = NULL;
		struct hs_dominators *d = NULL;
		assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), 0, &s, err, sizeof(err)), 0);
		assert_int_equal(hs_dominators_compute(s, &d, err, sizeof(err)), 0);
		check_against(d, want_idom, want_retained, n, round, "copy");
		hs_dominators_free(d);
		hs_snapshot_free(s);
		for (size_t c = 0; c < sizeof(caps) / sizeof(*caps); c++) {
			s = NULL;
			assert_int_equal(hs_snapshot_parse_mem(j, strlen(j), HS_PARSE_SKIP_EDGE_NAMES, &s, err, sizeof(err)), 0);
			assert_int_equal(hs_dominators_compute_consume_rounds(s, caps[c][0], caps[c][1], &d, err, sizeof(err)), 0);
			assert_null(s->edge_to);
			assert_null(s->first_edge);
			check_against(d, want_idom, want_retained, n, round, "in place");
			hs_dominators_free(d);
			hs_snapshot_free(s);
		}
		free(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_graph),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_random_graphs_match_definition),
		cmocka_unit_test(test_in_place_build_matches_naive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
