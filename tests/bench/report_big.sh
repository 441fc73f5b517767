#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench part: the report the agent makes for an incident (hs_report_build_max, the
# report thread's call) on snapshot pairs of growing size, up to a NEW of 1 GB+ raw.
# For each pair: wall time, MB/s of raw snapshot read (BASE + NEW bytes / wall), peak
# RSS (/usr/bin/time -v) and peak RSS / NEW's size. Pairs come from diff_leak.js
# "orders" (records holding small plain objects and strings) and are cached.
# Not a test: prints a table, exits non-zero only if something could not run.
#   BENCH_REPORT_N="150000 700000" (leaked records per pair; 700k gives NEW ~1.3 GB)
set -u
ROOT=${HEAPSNAP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD;; esac
CACHE=${HEAPSNAP_TEST_CACHE:-/var/cache/heapsnap-test}
NS=${BENCH_REPORT_N:-"150000 700000"}
DRIVER=$BUILD/e2e/report_build

[ -x /usr/bin/time ] || { echo "bench report_big: /usr/bin/time missing (apt-get install time)"; exit 1; }
make -s -C "$ROOT" BUILD="$BUILD" "$DRIVER" >/dev/null || { echo "bench report_big: cannot build $DRIVER"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pair() { # $1 N: makes $CACHE/bench/report-N/{base,new}.heapsnapshot once
	local dir=$CACHE/bench/report-$1
	[ -s "$dir/new.heapsnapshot" ] && [ -f "$dir/done" ] && return 0
	echo "bench report_big: writing the snapshot pair ($1 leaked records) into $dir" >&2
	rm -rf "$dir" && mkdir -p "$dir"
	timeout 1800 node --max-old-space-size=16384 "$ROOT/tests/e2e/diff_leak.js" orders "$dir" "$1" >/dev/null ||
		{ echo "bench report_big: could not write the snapshots" >&2; rm -rf "$dir"; return 1; }
	touch "$dir/done"
}

figures=()
printf '%-8s %9s %9s %8s %8s %10s %9s  %s\n' N base_MiB new_MiB wall_s MB/s peak_MiB peak/new first_place
for n in $NS; do
	pair "$n" || exit 1
	dir=$CACHE/bench/report-$n
	base=$(stat -c %s "$dir/base.heapsnapshot") new=$(stat -c %s "$dir/new.heapsnapshot")
	/usr/bin/time -v -o "$tmp/time" "$DRIVER" "$dir/base.heapsnapshot" "$dir/new.heapsnapshot" >"$tmp/out" 2>"$tmp/err" ||
		{ echo "bench report_big: report failed on N=$n:"; tail -5 "$tmp/err" "$tmp/time"; exit 1; }
	read -r ms _ first <"$tmp/out"
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
	awk -v n="$n" -v b="$base" -v w="$new" -v ms="$ms" -v rss="$rss" -v first="$first" 'BEGIN {
		printf "%-8s %9.0f %9.0f %8.1f %8.1f %10.0f %9.2f  %s\n", n, b / 1048576, w / 1048576, ms / 1000,
			(b + w) / 1e6 / (ms / 1000), rss / 1024, rss * 1024 / w, first }'
	figures+=("$(awk -v n="$n" -v b="$base" -v w="$new" -v ms="$ms" -v rss="$rss" 'BEGIN {
		printf "FIGURE agent report, N=%s: %.0f MB/s of raw BASE+NEW = %.2f of 500 MB/s; peak %.2f of NEW\n",
			n, (b + w) / 1e6 / (ms / 1000), (b + w) / 1e6 / (ms / 1000) / 500, rss * 1024 / w }')")
done
printf '%s\n' "${figures[@]}"
