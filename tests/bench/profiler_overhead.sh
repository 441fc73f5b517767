#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench part: the cost of the in-process sampling heap profiler on the target.
# One allocation-heavy HTTP service (express; each request builds ~100 small objects and
# strings, serialises them, and keeps the last 20 000 responses in a bounded Map) runs
# as one process per variant: profiler off, and on at each sampling interval in
# INTERVALS_KB, started in-process the way the agent starts it (profiler.c's START_JS:
# an inspector.Session connected in-process, HeapProfiler.startSampling). All variants
# live side by side; each round loads each one in turn for SECS seconds with autocannon
# (the order rotates every round), ROUNDS rounds. Prints per interval: requests/s on /
# requests/s off over all rounds, the lowest and highest per-round ratio, and the
# service's own CPU time per request off / on (utime+stime from /proc/PID/stat): on a
# shared machine other load moves throughput by far more than 1 %, the CPU each
# request costs the service much less. Goal (issue 20): >= 0.99 at the default
# profile_interval_kb.
# Not a test: prints numbers, exits non-zero only if something could not run.
#   INTERVALS_KB="128 256 512 1024" ROUNDS=6 SECS=3 CONNECTIONS=8
set -u
ROOT=${HEAPSNAP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
REAL=$ROOT/tests/e2e/realapps
INTERVALS=${INTERVALS_KB:-"128 256 512 1024"}
ROUNDS=${ROUNDS:-6} SECS=${SECS:-3} CONNS=${CONNECTIONS:-8}
NODE=${NODE:-node}
[ -d "$REAL/node_modules/autocannon" ] || { echo "bench profiler_overhead: $REAL/node_modules missing (make test-deps)"; exit 1; }

work=$(mktemp -d /tmp/hs-profcost.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT

cat >"$work/service.js" <<'JS'
'use strict';
// node service.js INTERVAL_KB (0: no profiler); prints "listening PORT"
const kb = Number(process.argv[2]);
if (kb > 0) {
	// as profiler.c's START_JS does it
	const s = new (require('inspector').Session)(); s.connect(); let err = null;
	s.post('HeapProfiler.startSampling', { samplingInterval: kb * 1024 }, (e) => { err = e; });
	if (err) throw err;
	globalThis[Symbol.for('heapsnap.profiler')] = s;
}
const express = require('express');
const app = express();
const recent = new Map();
let n = 0;
app.get('/item/:id', (req, res) => {
	const items = [];
	for (let i = 0; i < 100; i++)
		items.push({ id: req.params.id + '-' + i, name: 'item ' + i + ' of ' + req.url, tags: ['a', 'b', String(i)], score: i * 0.5 });
	const body = JSON.stringify({ items, at: Date.now() });
	recent.set(n++, { url: req.url, size: body.length, first: items[0] });
	if (recent.size > 20000) recent.delete(recent.keys().next().value);
	res.type('json').send(body);
});
const server = app.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
JS

declare -A port spid
for v in 0 $INTERVALS; do
	NODE_PATH=$REAL/node_modules "$NODE" "$work/service.js" "$v" >"$work/svc-$v.out" 2>&1 &
	pids+=("$!")
	spid[$v]=$!
done
for v in 0 $INTERVALS; do
	for _ in $(seq 100); do grep -q '^listening' "$work/svc-$v.out" && break; sleep 0.1; done
	port[$v]=$(sed -n 's/^listening //p' "$work/svc-$v.out")
	[ -n "${port[$v]}" ] || { echo "bench profiler_overhead: service $v did not start: $(cat "$work/svc-$v.out")"; exit 1; }
done

load() { # $1 variant $2 seconds -> requests
	(cd "$REAL" && "$NODE" load.js "${port[$1]}" "$2" "$CONNS" 0) |
		"$NODE" -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => console.log(JSON.parse(s).requests))'
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # the process's utime + stime

variants=(0 $INTERVALS)
for v in "${variants[@]}"; do load "$v" 2 >/dev/null; done # warm up: JIT, Map filled
for r in $(seq "$ROUNDS"); do
	k=$(( (r - 1) % ${#variants[@]} ))
	order=("${variants[@]:k}" "${variants[@]:0:k}")
	for v in "${order[@]}"; do
		c0=$(cpu_ticks "${spid[$v]}")
		q=$(load "$v" "$SECS") || { echo "bench profiler_overhead: load failed"; exit 1; }
		echo "$r $v $q $(($(cpu_ticks "${spid[$v]}") - c0))" >>"$work/results"
	done
done
echo "profiler_overhead: $ROUNDS rounds of ${SECS}s per variant, $CONNS connections; ratio = requests on / off"
awk -v hz="$(getconf CLK_TCK)" -v ivs="$INTERVALS" 'BEGIN { n = split(ivs, iv, " ") }
	{ q[$1, $2] = $3; tot[$2] += $3; cpu[$2] += $4; rounds[$1] = 1 }
	END {
		printf "%-12s %10s %8s %8s %8s %12s %10s\n", "interval_kb", "req/s", "ratio", "min", "max", "cpu_us/req", "cpu_ratio"
		printf "%-12s %10.0f %8s %8s %8s %12.0f %10s\n", "off", tot[0] / (NR / (n + 1)) / '"$SECS"', "1", "", "", cpu[0] * 1e6 / hz / tot[0], "1"
		for (i = 1; i <= n; i++) {
			v = iv[i]; lo = 1e9; hi = 0
			for (r in rounds) { x = q[r, v] / q[r, 0]; if (x < lo) lo = x; if (x > hi) hi = x }
			printf "%-12s %10.0f %8.3f %8.3f %8.3f %12.0f %10.3f\n", v, tot[v] / (NR / (n + 1)) / '"$SECS"', tot[v] / tot[0], lo, hi,
				cpu[v] * 1e6 / hz / tot[v], (cpu[0] / tot[0]) / (cpu[v] / tot[v])
		}
	}' "$work/results"
