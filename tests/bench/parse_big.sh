#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# P6 (issue 23): the snapshot parser and `heapsnap summary` on a 1 GB+ raw snapshot.
# Figures as ratios against anchors of the same run: raw MB/s over the goal (500 MB/s)
# and over `wc -l` of the same file (the bytes read and scanned once), peak RSS over
# the raw file's size (goal <= 0.6). The snapshot (3.5 M records, ~1.17 GB) is made once
# by a Node with a ~1 GB heap and cached as $BIG (default build/bench/big.heapsnapshot;
# making it takes ~10 min and ~9 GB of memory here). tests/bench/report_big.sh (issue 20)
# measures the agent's report on such a file; its cached 1.3 GB NEW is used when
# $BIG is absent (no 10 minutes of writing). OLD_BUILD (a build of main, as in
# store_upload_list.sh) adds the old rows. ROUNDS (default 3) runs of each, side by
# side, anchored on `cat` of the same file in the same round (its MB/s is what
# reading the bytes costs here; the machine is shared, absolute times are not stable).
source "$(dirname "$0")/../e2e/lib.sh"
REPORT_NEW=${HEAPSNAP_TEST_CACHE:-/var/cache/heapsnap-test}/bench/report-700000/new.heapsnapshot
BIG=${BIG:-$ROOT/build/bench/big.heapsnapshot}
[ ! -s "$BIG" ] && [ -s "$REPORT_NEW" ] && BIG=$REPORT_NEW
ROUNDS=${ROUNDS:-3}
RECORDS=${RECORDS:-3500000}
OLD_BUILD=${OLD_BUILD:-/tmp/hs-i23-main/build} # libheapsnap.a and heapsnap of main
if [ ! -s "$BIG" ]; then
	mkdir -p "$(dirname "$BIG")"
	"$NODE" --max-old-space-size=16000 -e '
		const v8 = require("v8"); const keep = globalThis.keep = [];
		for (let i = 0; i < Number(process.argv[2]); i++) keep.push({ id: i, name: "user" + i, tags: ["a", "b"], score: i + 0.5 });
		v8.writeHeapSnapshot(process.argv[1]);' "$BIG.tmp" "$RECORDS" && mv "$BIG.tmp" "$BIG" || fail "cannot make $BIG"
fi
raw=$(stat -c %s "$BIG")
lib=$BUILD/libheapsnap.a
cc() { gcc -O2 -std=gnu11 -D_GNU_SOURCE -I"$ROOT/agent" -o "$1" "$ROOT/tests/bench/parse_rate.c" "$2" -lz -lpthread; }
cc "$T/parse_rate" "$lib" || exit 1
[ -f "$OLD_BUILD/libheapsnap.a" ] && cc "$T/parse_rate_old" "$OLD_BUILD/libheapsnap.a"
mbs() { awk -v b="$raw" -v s="$1" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
secs() { local t0=$(date +%s%N); "$@" >/dev/null; echo "$(( $(date +%s%N) - t0 ))" | awk '{ printf "%.3f", $1 / 1e9 }'; }

summary() { /usr/bin/time -f '%e %M' -o "$T/summary.time" "$1" summary "$BIG" --top 1 >/dev/null || fail "$1 summary failed"; }
row() { # NAME SECONDS PEAK_KB ANCHOR_SECONDS [EXTRA]
	printf 'FIGURE %-34s %4s MB/s = %s of 500 MB/s, %s of cat; peak %s of the file%s\n' "$1" \
		"$(mbs "$2")" "$(ratio "$(mbs "$2")" 500)" "$(ratio "$4" "$2")" "$(ratio "$(($3 * 1024))" "$raw")" "${5:-}"
}
printf '%-44s %s\n' "raw snapshot" "$((raw >> 20)) MiB ($BIG), $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
	cat_s=$(secs cat "$BIG")
	echo "round $round: cat reads it at $(mbs "$cat_s") MB/s"
	declare -A took=()
	for which in parse_rate parse_rate_old; do
		[ -x "$T/$which" ] || continue
		read -r s kb nodes edges < <("$T/$which" "$BIG" 6) || fail "$which failed"
		took[$which]=$s
		row "${which/parse_rate/parse}, summary's flags" "$s" "$kb" "$cat_s" " ($nodes nodes, $edges edges)"
	done
	for bin in "$HEAPSNAP" "$OLD_BUILD/heapsnap"; do
		[ -x "$bin" ] || continue
		summary "$bin"
		read -r s kb <"$T/summary.time"
		took[$bin]=$s
		row "heapsnap summary$([ "$bin" = "$HEAPSNAP" ] || echo "_old")" "$s" "$kb" "$cat_s"
	done
	[ -n "${took[parse_rate_old]:-}" ] && [ -n "${took[$OLD_BUILD/heapsnap]:-}" ] &&
		printf 'FIGURE %-34s parse %sx, summary %sx\n' "speed over the old build" \
			"$(ratio "${took[parse_rate_old]}" "${took[parse_rate]}")" \
			"$(ratio "${took[$OLD_BUILD/heapsnap]}" "${took[$HEAPSNAP]}")"
done
