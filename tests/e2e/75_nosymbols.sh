#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: a node binary without symbols. Official Node 22 and 24
# (node_of) are copied and `strip`ped (no .symtab; Node 24.11+ keeps its V8 internals
# out of .dynsym too, so the stripped 24 has none of the GC hooks). Each still runs; the
# agent watches it (its version known), `heapsnap ps --json` lists it with its route
# and GC-probe state, and a leak is captured by RSS through --heapsnapshot-signal; the
# stored snapshot parses. A version that cannot be fetched is not covered: the test
# exits 77 (a skip; a failure under CI=true) after checking the other.
source "$(dirname "$0")/lib.sh"
need_root
command -v strip >/dev/null || skip "no strip"

declare -A BIN VER
mkdir -p "$T/bin"
for v in 22 24; do
	src=$(node_of "$v")
	[ -n "$src" ] || { not_covered "Node $v (binary cannot be fetched)"; continue; }
	mkdir -p "$T/bin/$v"
	cp "$src" "$T/bin/$v/node" && strip "$T/bin/$v/node" || fail "cannot strip a copy of $src"
	readelf -S "$T/bin/$v/node" | grep -q '\.symtab' && fail "Node $v: strip left a .symtab"
	VER[$v]=$("$T/bin/$v/node" -p process.version) || fail "Node $v does not run once stripped"
	echo "Node $v stripped: ${VER[$v]}, $(stat -c %s "$T/bin/$v/node") bytes, CollectGarbage in .dynsym: $(nm -D "$T/bin/$v/node" 2>/dev/null | grep -c '_ZN2v88internal4Heap14CollectGarbage')"
	BIN[$v]=$T/bin/$v/node
done
[ ${#BIN[@]} -gt 0 ] || skip "neither Node 22 nor Node 24 could be fetched"

write_config "$T/hs.ini" trigger.growth_mb=40
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
declare -A PID
for v in "${!BIN[@]}"; do
	LEAK_DELAY_MS=5000 NODE=${BIN[$v]} start_node PID[$v] --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
done
cd "$T"

for v in "${!BIN[@]}"; do
	p=${PID[$v]}
	wait_for 10 grep -q "watching pid $p " "$T/agent.err" || fail "Node $v stripped: not watched"
	grep "watching pid $p " "$T/agent.err" | grep -q "${VER[$v]}" ||
		fail "Node $v stripped: version ${VER[$v]} not recognised: $(grep "watching pid $p " "$T/agent.err")"
	"$HEAPSNAP" -c "$T/hs.ini" ps --json >"$T/ps.json" || fail "heapsnap ps --json failed"
	nodetool -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const a = Array.isArray(l) ? l : (l.processes || []);
		const p = a.find(x => x.pid === Number(process.argv[2]));
		if (!p) { console.error("not listed"); process.exit(1); }
		console.log(`ps: pid ${p.pid} ${p.node_version} route "${p.route}" gc_probes "${p.gc_probes}"`);
		if (!/^signal/.test(p.route)) process.exit(1);' "$T/ps.json" "$p" || fail "Node $v stripped: heapsnap ps --json: $(cat "$T/ps.json")"
done
for v in "${!BIN[@]}"; do
	p=${PID[$v]}
	wait_for 60 event_for "$p" capture_done || fail "Node $v stripped: not captured"
	grep "\"event\":\"capture_done\".*\"pid\":$p[,}]" "$T/agent.out" | grep -q '"method":"signal"' || fail "Node $v: not the signal route"
	grep "\"event\":\"trigger\".*\"pid\":$p[,}]" "$T/agent.out" | grep -q '"reason":"growth"' || fail "Node $v: not an RSS growth trigger"
	kill -0 "$p" || fail "Node $v stripped: died"
done
for v in "${!BIN[@]}"; do
	stored_snapshot_ok "${PID[$v]}" || fail "Node $v: not captured whole (see above)"
done
stop_agent
pass "stripped Node ${!BIN[*]}: watched, listed by ps, captured by RSS through the signal route"
all_covered
