// SPDX-License-Identifier: Apache-2.0
/* Bench driver: the agent's report on one snapshot pair, as the report thread makes it
 * (hs_report_build_max: BASE without edges, NEW whole, diff, dominators, places).
 *   report_build BASE NEW [MAX_MB]  ->  "<ms> <places> <first place>" on stdout
 * Peak memory is measured from outside (/usr/bin/time -v). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "snapshot/report.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char err[1024];
	json_t *report = NULL;
	uint64_t max_bytes;
	double t0;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: report_build BASE NEW [MAX_MB]\n");
		return 2;
	}
	max_bytes = argc == 4 ? strtoull(argv[3], NULL, 10) << 20 : 0;
	t0 = now_ms();
	if (hs_report_build_max(argv[1], argv[2], max_bytes, &report, err, sizeof(err)) < 0) {
		fprintf(stderr, "report_build: %s\n", err);
		return 1;
	}
	json_t *places = json_object_get(report, "places");
	json_t *first = json_array_get(places, 0);
	const char *text = json_string_value(json_object_get(first, "text"));
	printf("%.0f %zu %s\n", now_ms() - t0, json_array_size(places), text ? text : "-");
	json_decref(report);
	return 0;
}
