// SPDX-License-Identifier: Apache-2.0
/* What grew between two snapshots of one process, for people: the Summary view of
 * one snapshot (per class count, shallow and retained size) and the automatic leak
 * report the agent attaches to each triggered capture (top growing constructors by
 * the retained size of their new objects, and a retainer path to one of them). */
#ifndef HS_SNAPSHOT_REPORT_H
#define HS_SNAPSHOT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "snapshot/dominators.h"
#include "snapshot/parse.h"

#define HS_REPORT_TOP 10

/* ---- Summary view ---- */
struct hs_class_summary {
	char *name;
	uint64_t count, shallow_bytes;
	/* retained size of the class's instances that no other instance of the class
	 * dominates (DevTools' rule, so nested instances are not counted twice) */
	uint64_t retained_bytes;
};

struct hs_summary {
	struct hs_class_summary *classes; /* sorted by retained_bytes descending, then name */
	size_t count;
};

/* Classes and counting rules as in diff.h. 0, or a negative errno (-ENOMEM) with err set. */
int hs_summary_compute(const struct hs_snapshot *s, const struct hs_dominators *dom,
		       struct hs_summary *out, char *err, size_t errlen);
void hs_summary_free(struct hs_summary *sum);
/* Array of {class, count, shallow_bytes, retained_bytes}, first `top` (0 = all). */
json_t *hs_summary_to_json(const struct hs_summary *sum, size_t top);
void hs_summary_print(FILE *f, const struct hs_summary *sum, size_t top);

/* ---- the automatic report ----
 * Returns a new JSON object (caller json_decref's it):
 *   {"basis": "diff",
 *    "places": [ where the growth accumulates: places.h, up to HS_PLACE_TOP ],
 *    "top_growth": [ {class, new_count, retained_bytes, alloc_bytes, delta_count,
 *                     delta_bytes}, ... up to HS_REPORT_TOP ],
 *    "retainer_path": [ {"node": "ClassName @id", "edge": "name"}, ... ]}
 * top_growth ranks constructor classes (type object or native, names not "(…)" nor
 * V8's "system / …") by the retained size of their objects that are new in NEW
 * (id absent from BASE), without counting an instance twice when another new
 * instance of the same class dominates it; classes whose count did not grow
 * (delta_count <= 0) are left out. A class that merely holds the instances of an
 * accumulating one (a Map, a TimersList, a listener array: at least half its retained
 * size is that class's instances, 64 or more per holding instance) ranks by what
 * is left (report.c, "holders"): the first row is the class that accumulates, and the
 * holder shows in its retainer path. retainer_path runs from the first node
 * below the synthetic root (a GC root group or a global object) to the
 * top class's new instance with the largest retained size (with renumbered ids, when
 * no instance is known to be new: its largest instance inside the first place, an entry
 * of the growing collection or held by one; else the first place's largest entry),
 * along a shortest path of non-weak edges; "edge" is the edge from that node to the next one and is
 * absent on the last element; a run of more than 3 nodes of one class (a linked list)
 * is cut to its ends around a {"node": "(N more CLASS)"} element, and a path longer
 * than 24 elements to its two ends the same way. Both arrays are empty when nothing grew.
 *
 * Without a baseline (base_path NULL, or hs_report_summary_compute) the basis is
 * "summary": every constructor instance of the one snapshot counts, as in DevTools'
 * Summary view with the same exclusions and holder rule, and top_growth entries are
 * {class, count, retained_bytes, shallow_bytes}.
 * BASE is read without its edges (only node ids, classes and sizes are needed), so
 * the peak memory is about NEW's arrays plus dominators. NULL with err set on failure
 * (err begins with the path of the file at fault). */
json_t *hs_report_build(const char *base_path, const char *new_path, char *err, size_t errlen);
/* The same with each snapshot's decompressed size bounded by max_bytes (0: none):
 * 0 and *out, or -errno (-EFBIG: a snapshot is larger) with err set. */
int hs_report_build_max(const char *base_path, const char *new_path, uint64_t max_bytes, json_t **out,
			char *err, size_t errlen);

/* For the alert line: a new object {"top_growth": first `top` entries (3 in the
 * alert), "retainer_path": the same path, "basis", and when the report has them
 * "top_place": the first place's text, "top_stack": the first allocation stack in one
 * line}. NULL on out of memory or a report without those members. */
json_t *hs_report_brief(const json_t *report, size_t top);

/* The same from parsed snapshots (NEW must have its edges). */
json_t *hs_report_compute(const struct hs_snapshot *base, const struct hs_snapshot *snew,
			  char *err, size_t errlen);
/* The summary-basis report of one parsed snapshot (with its edges). */
json_t *hs_report_summary_compute(const struct hs_snapshot *s, char *err, size_t errlen);

#endif
