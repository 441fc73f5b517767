// SPDX-License-Identifier: Apache-2.0
/* The Comparison view of two heap snapshots of one process (DevTools' rules):
 * nodes are matched by id; per class, how many appeared and disappeared and
 * their self sizes. Also the class naming and id matching that summary and the
 * report share. */
#ifndef HS_SNAPSHOT_DIFF_H
#define HS_SNAPSHOT_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "snapshot/parse.h"

/* ---- classes ---- */
/* A node's class as a small integer in [0, hs_class_key_count(s)): the name
 * string for object/native nodes, the node type otherwise. Equal keys = equal
 * class names within one snapshot (V8 deduplicates the strings table). */
uint32_t hs_class_key(const struct hs_snapshot *s, uint32_t node);
uint32_t hs_class_key_count(const struct hs_snapshot *s);
/* The class name of a key: "(system)" for hidden, the name for object and native,
 * "(compiled code)" for code, "(T)" for any other type T. Points into s or buf. */
const char *hs_class_key_name(const struct hs_snapshot *s, uint32_t key, char *buf, size_t len);
/* Counted in the Comparison and Summary views: self size > 0, or a native node. */
bool hs_node_counted(const struct hs_snapshot *s, uint32_t node);

/* ---- id matching ---- */
/* Mark NEW nodes whose id is absent from BASE (new_is_new, NEW's node_count
 * entries) and BASE nodes whose id is absent from NEW (base_is_deleted, may be
 * NULL). Membership is over all nodes of the other snapshot. 0 or -ENOMEM. */
int hs_match_ids(const struct hs_snapshot *base, const struct hs_snapshot *snew,
		 uint8_t *new_is_new, uint8_t *base_is_deleted);

/* Of the ids both snapshots have (up to `sample` of them, spread over the id range;
 * 0 = all), how many name a node of the same type and name on both sides (same of
 * compared), and the share that would by chance if the ids were a random pairing (by_chance:
 * the sum over kinds of the two sides' sampled counts, over compared squared). V8's ids agree
 * nearly always; after V8 renumbered its objects (an inspector session ended between
 * the snapshots) about as often as by chance. 0 or -ENOMEM. */
struct hs_ids_agreement {
	size_t same, compared;
	double by_chance;
};
int hs_ids_agreement(const struct hs_snapshot *base, const struct hs_snapshot *snew, size_t sample,
		     struct hs_ids_agreement *out);

/* ---- the comparison ---- */
struct hs_class_diff {
	char *name;
	uint64_t new_count, deleted_count;
	int64_t delta_count;
	uint64_t alloc_bytes, freed_bytes;
	int64_t delta_bytes;
};

struct hs_diff {
	struct hs_class_diff *classes;   /* sorted by delta_bytes descending, then name */
	size_t count;                    /* classes with at least one new or deleted node */
};

/* 0, or a negative errno (-ENOMEM) with err set. */
int hs_diff_compute(const struct hs_snapshot *base, const struct hs_snapshot *snew,
		    struct hs_diff *out, char *err, size_t errlen);
void hs_diff_free(struct hs_diff *d);
/* The comparison by class aggregates instead of ids (for snapshots whose ids do not
 * compare): delta_count and delta_bytes are the differences of each class's count and
 * self size; new_count/alloc_bytes their positive parts, deleted_count/freed_bytes
 * their negative parts. Same contract as hs_diff_compute. */
int hs_diff_by_class(const struct hs_snapshot *base, const struct hs_snapshot *snew,
		     struct hs_diff *out, char *err, size_t errlen);

/* The --json form: an array of the first `top` classes (0 = all), each with
 * exactly class, new_count, deleted_count, delta_count, alloc_bytes, freed_bytes,
 * delta_bytes. NULL on out of memory. */
json_t *hs_diff_to_json(const struct hs_diff *d, size_t top);
/* A class name as a JSON string (a placeholder if it is not valid UTF-8). */
json_t *hs_json_class_name(const char *name);
/* A class name for a 40-column text cell: truncated, newlines and tabs as spaces. */
#define HS_CLASS_CELL 41
void hs_text_class_name(const char *name, char out[HS_CLASS_CELL]);
/* The text table. */
void hs_diff_print(FILE *f, const struct hs_diff *d, size_t top);

/* ---- a name -> index table, shared by diff, summary and report ---- */
struct hs_name_table;
struct hs_name_table *hs_name_table_new(void);
/* Index of name, added if absent (copied). -ENOMEM on out of memory. */
long hs_name_table_intern(struct hs_name_table *t, const char *name);
/* Index of name, or -1 when absent. */
long hs_name_table_find(const struct hs_name_table *t, const char *name);
const char *hs_name_table_name(const struct hs_name_table *t, size_t index);
size_t hs_name_table_count(const struct hs_name_table *t);
void hs_name_table_free(struct hs_name_table *t);

#endif
