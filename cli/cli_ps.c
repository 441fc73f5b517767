// SPDX-License-Identifier: Apache-2.0
/* heapsnap ps: the running agent's live view of watched processes, read from its
 * state socket. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "cli_ps.h"
#include "daemon/state.h"

static double mb(json_t *obj, const char *key)
{
	return (double)json_integer_value(json_object_get(obj, key)) / 1e6;
}

static const char *str(json_t *obj, const char *key)
{
	/* the agent's words, but with paths and names from the watched process in them */
	return cli_safe(json_string_value(json_object_get(obj, key)));
}

static void print_table(json_t *arr)
{
	size_t i;
	json_t *p;

	printf("%-8s %-9s %9s %9s %7s %7s %9s %9s  %-20s %s\n", "PID", "NODE", "RSS_MB", "HEAP_MB",
	       "GC_MIN", "GC_MAJ", "MAXP_MS", "MB/MIN", "ROUTE", "GC_PROBES");
	json_array_foreach(arr, i, p) {
		printf("%-8lld %-9s %9.1f %9.1f %7lld %7lld %9.1f %9.2f  %-20.20s %s\n",
		       (long long)json_integer_value(json_object_get(p, "pid")), str(p, "node_version"),
		       mb(p, "rss_bytes"), mb(p, "heap_used_bytes"),
		       (long long)json_integer_value(json_object_get(p, "gc_minor")),
		       (long long)json_integer_value(json_object_get(p, "gc_major")),
		       json_number_value(json_object_get(p, "gc_pause_max_ms")),
		       json_number_value(json_object_get(p, "trend_mb_per_min")), str(p, "route"),
		       str(p, "gc_probes"));
	}
}

int cmd_ps(const struct cli *cli, int argc, char **argv)
{
	bool as_json = false;
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else {
			fprintf(stderr, "heapsnap: ps: unknown argument '%s' (usage: heapsnap ps [--json])\n", argv[i]);
			return 2;
		}
	}
	if (!cli->state_socket || !cli->state_socket[0]) {
		fprintf(stderr, "heapsnap: ps: no state_socket configured\n");
		return 1;
	}
	char *text = state_fetch(cli->state_socket, err, sizeof(err));
	if (!text) {
		fprintf(stderr, "heapsnap: ps: %s\n", err);
		return 1;
	}
	json_error_t jerr;
	json_t *arr = json_loads(text, 0, &jerr);
	free(text);
	if (!json_is_array(arr)) {
		fprintf(stderr, "heapsnap: ps: malformed reply from heapsnapd: %s\n", jerr.text);
		json_decref(arr);
		return 1;
	}
	if (as_json) {
		char *out = json_dumps(arr, JSON_INDENT(2));
		printf("%s\n", out ? out : "[]");
		free(out);
	} else {
		print_table(arr);
	}
	json_decref(arr);
	return 0;
}
