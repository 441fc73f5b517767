#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench part: heapsnap diff/summary vs memlab's snapshot loader on the same
# ~200 MB snapshot pair (a leaking Node 20 program: records holding small objects).
# Reports wall time and peak RSS (/usr/bin/time -v) and their ratios; goal: heapsnap
# ≥ 3× faster and ≤ ¼ the peak memory. Also checks both give the same rows.
# Not a test: prints numbers, exits non-zero only if something could not run.
#   BENCH_N=120000 (leaked records; 120k gives BASE ~60 MB, NEW ~200 MB)
set -u
ROOT=${HEAPSNAP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD;; esac
HS=$BUILD/heapsnap
CACHE=${HEAPSNAP_TEST_CACHE:-/var/cache/heapsnap-test}
MEMLAB_DIR=$CACHE/memlab
DATA=$CACHE/bench/orders
N=${BENCH_N:-120000}
export MEMLAB_DIR

[ -x "$HS" ] || { echo "bench diff: no $HS, build first"; exit 1; }
[ -x /usr/bin/time ] || { echo "bench diff: /usr/bin/time missing (apt-get install time)"; exit 1; }

if [ ! -d "$MEMLAB_DIR/node_modules/@memlab/heap-analysis" ]; then
	echo "bench diff: installing memlab@2 into $MEMLAB_DIR"
	mkdir -p "$MEMLAB_DIR"
	( cd "$MEMLAB_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 timeout 900 npm install --no-audit --no-fund memlab@2 >install.log 2>&1 ) ||
		{ echo "bench diff: memlab install failed (see $MEMLAB_DIR/install.log)"; exit 1; }
fi

if [ ! -s "$DATA/new.heapsnapshot" ] || [ "$(cat "$DATA/n" 2>/dev/null)" != "$N" ]; then
	echo "bench diff: writing the snapshot pair ($N leaked records) into $DATA"
	rm -rf "$DATA" && mkdir -p "$DATA"
	timeout 900 node --max-old-space-size=4096 "$ROOT/tests/e2e/diff_leak.js" orders "$DATA" "$N" >/dev/null ||
		{ echo "bench diff: could not write the snapshots"; exit 1; }
	echo "$N" >"$DATA/n"
fi
BASE=$DATA/base.heapsnapshot NEW=$DATA/new.heapsnapshot
echo "bench diff: BASE $(($(stat -c %s "$BASE") / 1048576)) MiB, NEW $(($(stat -c %s "$NEW") / 1048576)) MiB"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # $1 label, rest: command; prints "seconds KiB", output in $tmp/$1.json
	local label=$1
	shift
	/usr/bin/time -v -o "$tmp/$label.time" "$@" >"$tmp/$label.json" 2>"$tmp/$label.err" ||
		{ echo "bench diff: $label failed:"; tail -5 "$tmp/$label.err" "$tmp/$label.time" >&2; return 1; }
	local wall rss
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/$label.time" |
		awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/$label.time")
	echo "$wall $rss"
}

# Same rows? memlab names detached native nodes "Detached <name>"; heapsnap keeps the name.
same_rows() {
	node -e '
		const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f)));
		const norm = (rows) => new Map(rows.map((r) => [r.class.replace(/^Detached /, ""),
			JSON.stringify({ ...r, class: undefined })]));
		const x = norm(a), y = norm(b);
		let bad = 0;
		for (const k of new Set([...x.keys(), ...y.keys()])) if (x.get(k) !== y.get(k)) bad++;
		console.log(bad ? `${bad} classes differ` : `all ${x.size} classes identical`);' "$1" "$2"
}

report() { # $1 what, $2 ours "s kib", $3 theirs "s kib"
	read -r hs_s hs_k <<<"$2"
	read -r ml_s ml_k <<<"$3"
	awk -v w="$1" -v a="$hs_s" -v b="$hs_k" -v c="$ml_s" -v d="$ml_k" 'BEGIN {
		printf "%-34s heapsnap %7.2f s %7.0f MiB | memlab %7.2f s %7.0f MiB | %5.1fx faster, %5.1fx less memory (goal 3x, 4x)\n",
			w, a, b / 1024, c, d / 1024, c / a, d / b }'
}

hs=$(measure hs_diff "$HS" diff --json "$BASE" "$NEW") || exit 1
ml=$(measure ml_diff node --max-old-space-size=16384 "$ROOT/tests/bench/memlab_diff.js" diff "$BASE" "$NEW") || exit 1
report "diff BASE NEW" "$hs" "$ml"
echo "  rows: $(same_rows "$tmp/hs_diff.json" "$tmp/ml_diff.json")"

hs=$(measure hs_sum "$HS" summary --json "$NEW") || exit 1
ml=$(measure ml_sum node --max-old-space-size=16384 "$ROOT/tests/bench/memlab_diff.js" summary "$NEW") || exit 1
report "summary NEW (dominators)" "$hs" "$ml"
echo "  rows (retained sizes): $(same_rows "$tmp/hs_sum.json" "$tmp/ml_sum.json")"

hs=$(measure hs_report "$HS" diff --report "$BASE" "$NEW") || exit 1
read -r s k <<<"$hs"
echo "leak report (diff --report): $s s, $((k / 1024)) MiB peak; top_growth[0] = $(node -p \
	'JSON.parse(require("fs").readFileSync(process.argv[1])).top_growth[0].class' "$tmp/hs_report.json")"
