#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: each benchmark prints ratios measured side by side in one run (this
# machine is noisy: absolute times are not stable). Not tests: nothing here fails
# the build unless a benchmark cannot run at all. BENCH=name limits to one.
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
status=0
figures=$(mktemp) out=$(mktemp)
trap 'rm -f "$figures" "$out"' EXIT
for b in inspector capture_route diff report_big parse_big profiler_overhead gc_overhead snapshot_cost scrape_cost exec_churn store_upload_list; do
	[ -f "tests/bench/$b.sh" ] || continue
	[ -n "${BENCH:-}" ] && [ "$BENCH" != "$b" ] && continue
	echo "=== bench: $b"
	bash "tests/bench/$b.sh" 2>&1 | tee "$out"
	[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench $b could not run"; status=1; }
	sed -n "s/^FIGURE */$b: /p" "$out" >>"$figures"
done
# Every benchmark's FIGURE lines (each a ratio against its anchor in the same run), in one table.
echo "=== figures (ratios against their anchors, measured in this run)"
cat "$figures"
exit $status
