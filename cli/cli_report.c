// SPDX-License-Identifier: Apache-2.0
/* heapsnap show: the leak report stored with a snapshot, rendered for people (the
 * places, the class table in MB, the retainer path as one chain, the allocation
 * stacks). --json prints the stored data as it is. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_output.h"
#include "cli_report.h"

#define MB(x) ((double)(x) / (1024.0 * 1024.0))
#define STACKS_SHOWN 3
#define FRAMES_SHOWN 4

static const char *raw(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* For printing: the text comes from the target's heap (class names, property names,
 * script URLs), so it is escaped for the terminal (cli_safe's buffers are reused: use
 * the result at once, never keep it). */
static const char *str(const json_t *o, const char *key)
{
	return cli_safe(raw(o, key));
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_places(FILE *f, const json_t *places)
{
	size_t i;
	const json_t *p;
	if (!json_array_size(places))
		return;
	fprintf(f, "\nwhere it accumulates (holder.property, over all its instances):\n");
	json_array_foreach(places, i, p)
		fprintf(f, "  %2zu. %s\n", i + 1, str(p, "text"));
}

static void print_classes(FILE *f, const json_t *growth, bool diff)
{
	size_t i;
	const json_t *g;
	if (!json_array_size(growth))
		return;
	fprintf(f, "\nwhat grew, by constructor:\n");
	if (diff)
		fprintf(f, "  %-40s %10s %12s %10s %10s\n", "Class", "New", "Retained MB", "Δ count", "Δ MB");
	else
		fprintf(f, "  %-40s %10s %12s %10s\n", "Class", "Count", "Retained MB", "Shallow MB");
	json_array_foreach(growth, i, g) {
		if (diff)
			fprintf(f, "  %-40.40s %10.0f %12.1f %10.0f %10.1f\n", str(g, "class"), num(g, "new_count"),
				MB(num(g, "retained_bytes")), num(g, "delta_count"), MB(num(g, "delta_bytes")));
		else
			fprintf(f, "  %-40.40s %10.0f %12.1f %10.1f\n", str(g, "class"), num(g, "count"),
				MB(num(g, "retained_bytes")), MB(num(g, "shallow_bytes")));
	}
}

/* "Class @123" -> "Class" */
static void node_class(const char *node, char *out, size_t len)
{
	const char *at = strrchr(node, '@');
	size_t n = at && at > node && at[-1] == ' ' ? (size_t)(at - node - 1) : strlen(node);
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), node);
}

/* global.clearTimeout → Timeout._idleNext → … → RequestContext */
static void print_path(FILE *f, const json_t *path)
{
	size_t i;
	const json_t *el;
	if (!json_array_size(path))
		return;
	fprintf(f, "\nretained by (one instance of the first class):\n  ");
	json_array_foreach(path, i, el) {
		char cls[600];
		const char *edge = str(el, "edge");
		node_class(str(el, "node"), cls, sizeof(cls));
		fprintf(f, "%s%s%s%s", i ? " → " : "", cls, edge[0] && edge[0] != '[' ? "." : "", edge);
	}
	fputc('\n', f);
}

static void print_frame(FILE *f, const json_t *fr, const char *lead)
{
	const char *kind = raw(fr, "kind");
	fprintf(f, "%s%s  %s:%.0f:%.0f%s%s%s\n", lead, str(fr, "function")[0] ? str(fr, "function") : "(anonymous)",
		str(fr, "url"), num(fr, "line"), num(fr, "column"), kind[0] && strcmp(kind, "app") ? "  [" : "",
		kind[0] && strcmp(kind, "app") ? kind : "", kind[0] && strcmp(kind, "app") ? "]" : "");
}

static void print_stacks(FILE *f, const json_t *report)
{
	const json_t *stacks = json_object_get(report, "stacks"), *s;
	const char *why = str(report, "profile_error");
	size_t i;
	if (why[0])
		fprintf(f, "\nallocation stacks: none (%s)\n", why);
	if (!json_array_size(stacks))
		return;
	fprintf(f, "\nallocated at (sampled allocations still live, the service's own frames first):\n");
	json_array_foreach(stacks, i, s) {
		if (i >= STACKS_SHOWN)
			break;
		const json_t *frames = json_object_get(s, "frames"), *fr;
		size_t j;
		fprintf(f, "  %zu. %.1f MB live, %.0f samples\n", i + 1, MB(num(s, "bytes")), num(s, "samples"));
		json_array_foreach(frames, j, fr) {
			if (j >= FRAMES_SHOWN) {
				fprintf(f, "       … %zu more frames\n", json_array_size(frames) - j);
				break;
			}
			print_frame(f, fr, j ? "       ← " : "       at ");
		}
	}
}

static bool is_report_member(const char *key)
{
	static const char *const keys[] = { "report", "basis", "places", "top_growth", "retainer_path",
					    "stacks", "top_stack", "profile_error", "baseline_id", "report_error",
					    NULL };
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

void cli_print_report(FILE *f, const char *extra_json)
{
	json_t *x = json_loads(extra_json, 0, NULL), *v;
	const char *key;
	if (!json_is_object(x)) {
		cli_print_safe("extra:         ", extra_json);
		json_decref(x);
		return;
	}
	json_t *rest = json_object();
	json_object_foreach(x, key, v)
		if (!is_report_member(key))
			json_object_set(rest, key, v);
	if (json_object_size(rest)) {
		char *text = json_dumps(rest, JSON_COMPACT);
		cli_print_safe("extra:         ", text ? text : "");
		free(text);
	}
	json_decref(rest);
	const char *state = raw(x, "report"), *basis = raw(x, "basis");
	if (strcmp(state, "pending") == 0)
		fprintf(f, "report:        pending (being made; show it again in a moment)\n");
	else if (strcmp(state, "failed") == 0 || strcmp(state, "skipped") == 0)
		fprintf(f, "report:        %s: %s\n", state, str(x, "report_error"));
	else if (basis[0] && raw(x, "baseline_id")[0])
		fprintf(f, "report:        what grew since the baseline %s\n", str(x, "baseline_id"));
	else if (basis[0])
		fprintf(f, "report:        from this snapshot alone (no baseline)\n");
	print_places(f, json_object_get(x, "places"));
	print_classes(f, json_object_get(x, "top_growth"), strcmp(basis, "diff") == 0);
	print_path(f, json_object_get(x, "retainer_path"));
	print_stacks(f, x);
	json_decref(x);
}
