#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The leak verdict alone (leak = on, growth_mb = 0, rss_mb = 0, default leak_* keys), on
# services whose memory is held by real npm libraries (tests/e2e/realapps), all under HTTP
# load at once (16 connections each, a new URL per request):
#   FAST      prom-client, one 40 KB label series per URL (~10 MB/s at 250 requests/s): V8 raises its
#             limit, major GCs come seconds to tens of seconds apart; the verdict reads the
#             run of rising major-GC floors continued by the heap after every GC since the
#             last one (docs/leak-verdict.md): verdict within 30 s of its first request
#             when it leaks >= 8 MB/s (else the run covers less, below); 23-24 s measured
#             (once none in 125 s when only major GCs were read; 29-33 s from the load's
#             start before the fast check measured from when the rise began)
#   MODERATE  prom-client again, a 4 KB label series per URL (~1 MB/s): verdict within
#             120 s (winston, a logger with an exception handler per request, got its
#             verdict at 64 s in one run, but costs so much CPU per request that on a
#             shared 2-core host its rate, and so the time, varies too much for a test)
#   SLOW      lru-cache with a TTL and no max, a ~3.8 KB entry per URL (~1 MB/s): verdict
#             within 90 s
#   METRICS0, CACHE0  the same prom-client and lru-cache used bounded: no verdict over
#             the whole run (>= 120 s of load), though their floors move with the load.
# Prints per case the time to verdict and the heap and RSS at it (for the closing note).
# Needs: root, tests/e2e/realapps/node_modules (make test-deps).
source "$(dirname "$0")/lib.sh"
need_root
APPS="$HEAPSNAP_ROOT/tests/e2e/realapps"
if [ ! -d "$APPS/node_modules/autocannon" ]; then
	[ "${CI:-}" = true ] && fail "realapps node_modules missing (make test-deps)"
	skip "realapps node_modules missing (make test-deps)"
fi

write_config "$T/hs.ini" trigger.leak=on trigger.growth_mb=0 trigger.rss_mb=0 trigger.baseline_pct=0
start_agent "$T/hs.ini"
grep -q "GC tracking unavailable" "$T/agent.err" && fail "GC tracking did not load"

port_of() { grep -o "listening [0-9]*" "$T/$1.log" | awk '{print $2}'; }
start_one() { # VAR MODE LEAK PAD
	local var=$1
	"$NODE" "$APPS/service.js" "$2" "$3" 0 "$4" >"$T/$var.log" 2>&1 &
	PIDS+=("$!")
	printf -v "$var" '%s' "$!"
	wait_for 20 grep -q listening "$T/$var.log" || fail "$var did not start"
}
start_one FAST metrics 1 40000
start_one MODERATE metrics 1 4000
start_one SLOW cache 1 3800
start_one METRICS0 metrics 0 40000
start_one CACHE0 cache 0 2000
T0=$(date +%s.%3N)
LOADS=()
for v in FAST MODERATE SLOW METRICS0 CACHE0; do
	# the same load for all, rate-limited so that four services share this host's CPU
	nodetool "$APPS/load.js" "$(port_of $v)" 125 16 250 >"$T/load-$v.log" 2>&1 &
	LOADS+=("$!")
done
PIDS+=("${LOADS[@]}")

verdict_line() { grep "\"event\":\"trigger\",\"pid\":$1,\"reason\":\"leak\"" "$T/agent.out" | head -1; }
at_of() { nodetool -e 'console.log((Number(process.argv[1]) - Number(process.argv[2])).toFixed(1))' "$(stat -c %.3Y "$T/verdict-$1")" "$T0"; }
# the same from the service's first request (the leak's start: the load client itself
# takes seconds to start while five services and five clients share two cores)
first_of() { grep -o "first request [0-9]*" "$T/$1.log" | awk '{printf "%.3f", $3 / 1000}'; }
after_first() { nodetool -e 'console.log((Number(process.argv[1]) - Number(process.argv[2])).toFixed(1))' "$(stat -c %.3Y "$T/verdict-$1")" "$(first_of "$1")"; }
report() { # NAME PID
	local line; line=$(verdict_line "$2")
	[ -n "$line" ] && [ -f "$T/verdict-$1" ] || { echo "  $1: no verdict"; return; }
	echo "$line" | nodetool -e '
	  const e = JSON.parse(require("fs").readFileSync(0, "utf8"));
	  console.log(`  ${process.argv[1]}: verdict ${process.argv[2]} s after the load started (${process.argv[3]} s after the first request), heap ${(e.heap_used_bytes / 1e6).toFixed(0)} MB (after the newest GC ${(e.heap_at_trigger_bytes / 1e6).toFixed(0)} MB), RSS ${(e.rss_bytes / 1e6).toFixed(0)} MB`);' \
	  "$1" "$(at_of "$1")" "$(after_first "$1")"
}
# Note when each verdict is seen (the agent's log has no wall clock of its own here).
seen() { # NAME PID
	[ -f "$T/verdict-$1" ] && return 0
	verdict_line "$2" | grep -q . && touch "$T/verdict-$1"
	return 1
}
deadline=$(( $(date +%s) + 125 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
	seen FAST "$FAST"; seen MODERATE "$MODERATE"; seen SLOW "$SLOW"; seen METRICS0 "$METRICS0"; seen CACHE0 "$CACHE0"
	# a leaker with its verdict is stopped (its snapshot is not this test's subject, and a
	# multi-GB capture would starve the controls of CPU)
	[ -f "$T/verdict-FAST" ] && kill "$FAST" 2>/dev/null
	[ -f "$T/verdict-MODERATE" ] && kill "$MODERATE" 2>/dev/null
	[ -f "$T/verdict-SLOW" ] && kill "$SLOW" 2>/dev/null
	verdict_line "$METRICS0" | grep -q . && break
	verdict_line "$CACHE0" | grep -q . && break
	sleep 0.2
done
wait "${LOADS[@]}" 2>/dev/null
for v in FAST MODERATE SLOW METRICS0 CACHE0; do echo "load $v: $(cat "$T/load-$v.log")"; done
report FAST "$FAST"; report MODERATE "$MODERATE"; report SLOW "$SLOW"; report METRICS0 "$METRICS0"; report CACHE0 "$CACHE0"
"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  for (const p of process.argv.slice(1)) { const s = l.find(x => x.pid == p);
    if (s) console.log(`  pid ${p}: ${s.gc_major} major GCs, leak ${s.leak}`); }' "$FAST" "$MODERATE" "$SLOW" "$METRICS0" "$CACHE0"
verdict_line "$METRICS0" | grep -q . && fail "bounded prom-client got a leak verdict"
verdict_line "$CACHE0" | grep -q . && fail "bounded lru-cache got a leak verdict"
within() { # NAME SECONDS
	[ -f "$T/verdict-$1" ] || fail "$1: no leak verdict"
	local at; at=$(at_of "$1")
	nodetool -e 'process.exit(Number(process.argv[1]) <= Number(process.argv[2]) ? 0 : 1)' "$at" "$2" ||
		fail "$1: verdict after $at s (want <= $2 s)"
}
# The fast case: the issue's 30 s for a 10-30 MB/s leak, from its first request, when the
# host let it leak that fast: >= 8 MB/s on average up to the verdict (the heap after the
# newest GC then, over the time). On this shared 2-core host it once got 3-5 MB/s for its
# first 12 s, then 9.8 MB/s (verdict 33.1 s: the early span counts the rise at its
# present pace); then only the older bound holds, 60 s from the load's start.
[ -f "$T/verdict-FAST" ] || fail "FAST: no leak verdict"
fast_mb_s=$(verdict_line "$FAST" | nodetool -e '
  const e = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log((e.heap_at_trigger_bytes / 1e6 / Number(process.argv[1])).toFixed(1));' "$(after_first FAST)")
echo "  FAST leaked ${fast_mb_s} MB/s on average up to its verdict"
if nodetool -e 'process.exit(Number(process.argv[1]) >= 8 ? 0 : 1)' "$fast_mb_s"; then
	at=$(after_first FAST)
	nodetool -e 'process.exit(Number(process.argv[1]) <= 30 ? 0 : 1)' "$at" ||
		fail "FAST: verdict $at s after its first request (want <= 30 s at ${fast_mb_s} MB/s)"
else
	not_covered "the fast case leaked only ${fast_mb_s} MB/s (a busy host): its 30 s bound"
	within FAST 60
fi
within MODERATE 120
within SLOW 90
stop_agent
all_covered
pass "leak verdicts: a fast, a moderate and a slow real-library leak caught, bounded controls not"
