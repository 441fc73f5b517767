#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The leak verdict's long no-leak controls (not a test: takes SECONDS, default 600): the
# services of tests/e2e/realapps used correctly — prom-client with the route template as
# label (a bounded metrics registry) and lru-cache with max 500 (a bounded cache) — under
# the HTTP load e2e/22 gives them (16 connections each, a new URL per request, 250
# requests/s), watched by the agent with leak = on, growth_mb = 0, rss_mb = 0 (the verdict
# alone, default leak_* keys). Prints, per control, its verdict (none expected), major GCs
# and the heap and RSS at the end; exit 1 if either got a leak verdict.
# Root, tests/e2e/realapps/node_modules (make test-deps). Needs no shared e2e lock: its
# state (socket, store, state file) is under its own temp dir, the services listen on
# ports the kernel picks, and a (false) verdict's capture takes the signal route
# (--heapsnapshot-signal), never the inspector's port 9229.
# Usage: BUILD=build HEAPSNAP_ROOT=$PWD bash tests/bench/leak_controls.sh [seconds]
source "$(dirname "$0")/../e2e/lib.sh"
need_root
RUN_S=${1:-600}
APPS="$HEAPSNAP_ROOT/tests/e2e/realapps"
[ -d "$APPS/node_modules/autocannon" ] || fail "realapps node_modules missing (make test-deps)"

write_config "$T/hs.ini" trigger.leak=on trigger.growth_mb=0 trigger.rss_mb=0 trigger.baseline_pct=0 \
	capture.method=signal
start_agent "$T/hs.ini"
grep -q "GC tracking unavailable" "$T/agent.err" && fail "GC tracking did not load"

port_of() { grep -o "listening [0-9]*" "$T/$1.log" | awk '{print $2}'; }
start_one() { # VAR MODE PAD
	local var=$1
	"$NODE" --heapsnapshot-signal=SIGUSR2 "$APPS/service.js" "$2" 0 0 "$3" >"$T/$var.log" 2>&1 &
	PIDS+=("$!")
	printf -v "$var" '%s' "$!"
	wait_for 20 grep -q listening "$T/$var.log" || fail "$var did not start"
}
start_one METRICS0 metrics 40000
start_one CACHE0 cache 2000
LOADS=()
for v in METRICS0 CACHE0; do
	nodetool "$APPS/load.js" "$(port_of $v)" "$RUN_S" 16 250 >"$T/load-$v.log" 2>&1 &
	LOADS+=("$!")
done
PIDS+=("${LOADS[@]}")
# the heap range over the run: the agent's view of each control, every 5 s
while kill -0 "${LOADS[0]}" 2>/dev/null || kill -0 "${LOADS[1]}" 2>/dev/null; do
	"$HEAPSNAP" -c "$T/hs.ini" ps --json >>"$T/ps.jsonl" 2>/dev/null
	sleep 5
done
wait "${LOADS[@]}" 2>/dev/null
nodetool -e '
  const fs = require("fs");
  // ps --json prints one (pretty) array per sample: split them at the closing brackets
  const rows = fs.readFileSync(process.argv[1], "utf8").split(/^\]$/m).filter(x => x.trim())
    .flatMap(x => { try { return JSON.parse(x + "]"); } catch { return []; } });
  for (const [name, p] of [["bounded metrics registry", process.argv[2]], ["bounded cache", process.argv[3]]]) {
    const h = rows.filter(x => x.pid == p && x.heap_used_bytes > 0).map(x => x.heap_used_bytes / 1e6);
    const r = rows.filter(x => x.pid == p).map(x => x.rss_bytes / 1e6);
    if (h.length) console.log(`  ${name}: heap after major GCs ${Math.min(...h).toFixed(1)}-${Math.max(...h).toFixed(1)} MB, RSS ${Math.min(...r).toFixed(0)}-${Math.max(...r).toFixed(0)} MB over ${h.length} samples`);
  }' "$T/ps.jsonl" "$METRICS0" "$CACHE0"
for v in METRICS0 CACHE0; do echo "load $v: $(cat "$T/load-$v.log")"; done
"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  for (const [name, p] of [["bounded metrics registry", process.argv[1]], ["bounded cache", process.argv[2]]]) {
    const s = l.find(x => x.pid == p);
    if (s) console.log(`  ${name} (pid ${p}): ${s.gc_major} major GCs, leak state ${s.leak}, heap ${(s.heap_used_bytes / 1e6).toFixed(0)} MB, RSS ${(s.rss_bytes / 1e6).toFixed(0)} MB`);
  }' "$METRICS0" "$CACHE0"
rc=0
for v in METRICS0 CACHE0; do
	if grep -q "\"event\":\"trigger\",\"pid\":${!v},\"reason\":\"leak\"" "$T/agent.out"; then
		echo "  $v: LEAK VERDICT (false) after $(grep -c . "$T/agent.out") events"; rc=1
	else
		echo "  $v: no verdict in $RUN_S s"
	fi
done
stop_agent
exit $rc
