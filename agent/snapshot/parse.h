// SPDX-License-Identifier: Apache-2.0
/* Streaming parser of V8 heap snapshots (.heapsnapshot, or the same gzip-compressed)
 * into compact arrays: per node type, name, id, self size and its edges; per edge
 * type, name-or-index and target node; the strings table. Memory is a few bytes per
 * node and edge (~21 B/node, ~9 B/edge, plus the strings), far below the file size.
 * Node and edge fields are located through snapshot.meta, so both the 7-field layout
 * (Node <= 22) and the 6-field one (Node 24+) work. Used by diff, summary and report. */
#ifndef HS_SNAPSHOT_PARSE_H
#define HS_SNAPSHOT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HS_TYPE_NONE 0xff  /* a type name absent from this snapshot's meta */

struct hs_snapshot {
	uint32_t node_count, edge_count;
	/* node_count + 1 entries so first_edge[node_count] == edge_count */
	/* per node */
	uint8_t *node_type;        /* index into node_type_names */
	uint32_t *node_name;       /* index into strings */
	uint32_t *node_id;         /* NULL with HS_PARSE_SKIP_NODE_IDS */
	uint32_t *node_self_size;  /* UINT32_MAX: 4 GiB or more, read hs_node_self_size */
	uint32_t *first_edge;      /* node i owns edges [first_edge[i], first_edge[i+1]) */
	/* per edge */
	uint8_t *edge_type;        /* index into edge_type_names */
	uint32_t *edge_name;       /* string index, or the element index for element/hidden edges */
	uint32_t *edge_to;         /* target node index (not the raw offset) */
	/* strings: string i is string_data + string_off[i], NUL-terminated, UTF-8 */
	uint32_t string_count;
	uint64_t *string_off;
	char *string_data;
	/* type names from meta */
	char **node_type_names;
	unsigned node_type_count;
	char **edge_type_names;
	unsigned edge_type_count;
	/* frequently needed type indexes, HS_TYPE_NONE when absent */
	uint8_t t_hidden, t_object, t_native, t_code, t_string;
	uint8_t e_weak, e_shortcut, e_element, e_hidden;
	uint64_t input_bytes;      /* decompressed bytes read */
	/* self sizes of 4 GiB or more (an ArrayBuffer's backing store), by node, ascending:
	 * 4 bytes per node instead of 8 is 0.05x of a big snapshot's size at the peak */
	struct hs_big_size { uint32_t node; uint64_t size; } *big_self;
	uint32_t big_self_count;
};

/* Flags for loading. */
#define HS_PARSE_SKIP_EDGES 1u       /* validate the edges but keep none (edge_* stay NULL) */
#define HS_PARSE_SKIP_EDGE_NAMES 2u  /* keep edge types and targets, not names (edge_name NULL) */
#define HS_PARSE_SKIP_NODE_IDS 4u    /* keep no node ids (node_id NULL): the summary needs none */

/* Load a file: plain JSON or gzip (recognised by its magic). 0, or a negative errno
 * (-EINVAL malformed or truncated, -ENOMEM, the open's errno) with err set
 * to a complete message such as "truncated snapshot (inside edges)". */
int hs_snapshot_load(const char *path, unsigned flags, struct hs_snapshot **out,
		     char *err, size_t errlen);
/* The same, refusing with -EFBIG ("snapshot larger than N MiB decompressed") once more
 * than max_bytes (0: no limit) of decompressed input were read. */
int hs_snapshot_load_max(const char *path, unsigned flags, uint64_t max_bytes, struct hs_snapshot **out,
			 char *err, size_t errlen);
/* The same from memory (tests, fuzzing). */
int hs_snapshot_parse_mem(const void *buf, size_t len, unsigned flags, struct hs_snapshot **out,
			  char *err, size_t errlen);
/* Frees the edge arrays (type, name, target); first_edge stays. */
void hs_snapshot_drop_edges(struct hs_snapshot *s);
void hs_snapshot_free(struct hs_snapshot *s);

/* String i, or "" when out of range. */
const char *hs_snapshot_string(const struct hs_snapshot *s, uint32_t i);
uint64_t hs_snapshot_big_self_size(const struct hs_snapshot *s, uint32_t node);
/* Self size of node i. */
static inline uint64_t hs_node_self_size(const struct hs_snapshot *s, uint32_t node)
{
	uint32_t size = s->node_self_size[node];
	return size != UINT32_MAX ? size : hs_snapshot_big_self_size(s, node);
}
/* Type name of node i, "" when unknown. */
const char *hs_snapshot_node_type_name(const struct hs_snapshot *s, uint32_t node);

#endif
