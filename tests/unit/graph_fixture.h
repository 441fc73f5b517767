// SPDX-License-Identifier: Apache-2.0
/* Test helper: builds V8 heap snapshot JSON text from a readable list of nodes and
 * edges (header-only, shared by test_parse, test_diff and test_dominators). */
#ifndef HS_TEST_GRAPH_FIXTURE_H
#define HS_TEST_GRAPH_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx_node {
	const char *type;     /* "object", "hidden", "native", ... */
	const char *name;
	uint32_t id;
	uint64_t size;
};

struct fx_edge {
	uint32_t from, to;    /* node indexes */
	const char *type;     /* "property", "element", "weak", "shortcut", ... */
	const char *name;     /* property name, or the index for element/hidden edges */
};

static const char *const fx_node_types[] = {
	"hidden", "array", "string", "object", "code", "closure", "regexp", "number",
	"native", "synthetic", "concatenated string", "sliced string", "symbol", "bigint",
	"object shape",
};
static const char *const fx_edge_types[] = {
	"context", "element", "property", "internal", "hidden", "shortcut", "weak",
};

static int fx_index(const char *const *list, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], want) == 0)
			return (int)i;
	fprintf(stderr, "fixture: unknown type %s\n", want);
	abort();
}

struct fx_strings {
	const char *v[4096];
	size_t n;
};

static size_t fx_intern(struct fx_strings *st, const char *s)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->v[i], s) == 0)
			return i;
	st->v[st->n] = s;
	return st->n++;
}

static void fx_type_list(FILE *f, const char *const *list, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", list[i]);
	fputc(']', f);
}

/* Snapshot JSON text (malloc'ed). six_fields: Node 24 layout (no trace_node_id). */
static char *fx_snapshot_json(const struct fx_node *nodes, size_t n, const struct fx_edge *edges,
			      size_t m, int six_fields)
{
	static struct fx_strings st;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	size_t nf = six_fields ? 6 : 7;
	st.n = 0;
	fx_intern(&st, "");
	fputs("{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"", f);
	fputs(six_fields ? ",\"detachedness\"]" : ",\"trace_node_id\",\"detachedness\"]", f);
	fputs(",\"node_types\":[", f);
	fx_type_list(f, fx_node_types, sizeof(fx_node_types) / sizeof(*fx_node_types));
	fputs(",\"string\",\"number\",\"number\",\"number\",\"number\"],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],\"edge_types\":[", f);
	fx_type_list(f, fx_edge_types, sizeof(fx_edge_types) / sizeof(*fx_edge_types));
	fprintf(f, ",\"string_or_number\",\"node\"]},\"node_count\":%zu,\"edge_count\":%zu,\"trace_function_count\":0},\n\"nodes\":[", n, m);
	for (size_t i = 0; i < n; i++) {
		size_t count = 0;
		for (size_t e = 0; e < m; e++)
			count += edges[e].from == i;
		fprintf(f, "%s%d,%zu,%u,%llu,%zu,0%s\n", i ? "," : "",
			fx_index(fx_node_types, sizeof(fx_node_types) / sizeof(*fx_node_types), nodes[i].type),
			fx_intern(&st, nodes[i].name), nodes[i].id, (unsigned long long)nodes[i].size,
			count, six_fields ? "" : ",0");
	}
	fputs("],\n\"edges\":[", f);
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		for (size_t e = 0; e < m; e++) {
			if (edges[e].from != i)
				continue;
			int t = fx_index(fx_edge_types, sizeof(fx_edge_types) / sizeof(*fx_edge_types), edges[e].type);
			size_t name = strcmp(edges[e].type, "element") == 0 || strcmp(edges[e].type, "hidden") == 0
				? (size_t)atoi(edges[e].name) : fx_intern(&st, edges[e].name);
			fprintf(f, "%s%d,%zu,%zu\n", first ? "" : ",", t, name, (size_t)edges[e].to * nf);
			first = 0;
		}
	}
	fputs("],\n\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],\"locations\":[],\n\"strings\":[", f);
	for (size_t i = 0; i < st.n; i++)
		fprintf(f, "%s\"%s\"\n", i ? "," : "", st.v[i]);
	fputs("]}\n", f);
	fclose(f);
	return text;
}

#endif
