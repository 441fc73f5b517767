#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# P6 (issue 23): the snapshot parser and `heapsnap summary` on a 1 GB+ raw snapshot.
# Figures as ratios against anchors of the same run: raw MB/s over the goal (500 MB/s)
# and over `wc -l` of the same file (the bytes read and scanned once), peak RSS over
# the raw file's size (goal <= 0.6). The snapshot (3.5 M records, ~1.17 GB) is made once
# by a Node with a ~1 GB heap and cached as $BIG (default build/bench/big.heapsnapshot;
# making it takes ~10 min and ~9 GB of memory here). tests/bench/report_big.sh (issue 20)
# measures the agent's report on such a file. OLD_BUILD (a build of main, as in
# store_upload_list.sh) adds the old parser's row.
source "$(dirname "$0")/../e2e/lib.sh"
BIG=${BIG:-$ROOT/build/bench/big.heapsnapshot}
RECORDS=${RECORDS:-3500000}
OLD_BUILD=${OLD_BUILD:-/tmp/hs-i23-main/build}
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

wc_s=$(secs wc -l "$BIG")
printf '%-44s %s\n' "raw snapshot" "$((raw >> 20)) MiB ($BIG); wc -l reads it at $(mbs "$wc_s") MB/s"
for which in parse_rate parse_rate_old; do
	[ -x "$T/$which" ] || continue
	read -r s kb nodes edges < <("$T/$which" "$BIG" 2) || fail "$which failed"
	printf 'FIGURE %-37s %s MB/s = %s of 500 MB/s, %s of wc -l; peak %s of the file (%u nodes, %u edges)\n' \
		"${which/parse_rate/parse}, summary's flags" "$(mbs "$s")" "$(ratio "$(mbs "$s")" 500)" \
		"$(ratio "$wc_s" "$s")" "$(ratio "$((kb * 1024))" "$raw")" "$nodes" "$edges"
done
/usr/bin/time -f '%e %M' -o "$T/summary.time" "$HEAPSNAP" summary "$BIG" --top 1 >/dev/null || fail "summary failed"
read -r s kb <"$T/summary.time"
printf 'FIGURE %-37s %s MB/s = %s of 500 MB/s, %s of wc -l; peak %s of the file\n' "heapsnap summary (parse + dominators)" \
	"$(mbs "$s")" "$(ratio "$(mbs "$s")" 500)" "$(ratio "$wc_s" "$s")" "$(ratio "$((kb * 1024))" "$raw")"
