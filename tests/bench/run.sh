#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: each benchmark prints ratios measured side by side in one run (this
# machine is noisy: absolute times are not stable). Not tests: nothing here fails
# the build unless a benchmark cannot run at all. BENCH=name limits to one.
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
status=0
for b in inspector capture_route diff report_big parse_big profiler_overhead gc_overhead snapshot_cost scrape_cost exec_churn store_upload_list; do
	[ -f "tests/bench/$b.sh" ] || continue
	[ -n "${BENCH:-}" ] && [ "$BENCH" != "$b" ] && continue
	echo "=== bench: $b"
	bash "tests/bench/$b.sh" || { echo "bench $b could not run"; status=1; }
done
exit $status
