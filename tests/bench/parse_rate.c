// SPDX-License-Identifier: Apache-2.0
/* The snapshot parser alone on one file: prints "parse_s PEAK_RSS_KB nodes edges"
 * (tests/bench/report_rate.sh turns them into ratios). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "snapshot/parse.h"

int main(int argc, char **argv)
{
	struct hs_snapshot *s = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	char err[256];
	unsigned flags = argc > 2 ? (unsigned)atoi(argv[2]) : 0;

	if (argc < 2) {
		fprintf(stderr, "usage: parse_rate FILE [FLAGS]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (hs_snapshot_load(argv[1], flags, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("%.3f %ld %u %u\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ru.ru_maxrss, s->node_count, s->edge_count);
	hs_snapshot_free(s);
	return 0;
}
