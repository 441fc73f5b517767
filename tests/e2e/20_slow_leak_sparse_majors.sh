#!/usr/bin/env bash
# A slow leak (~0.8 MB/s of Subscriptions captured by listeners on a long-lived
# EventEmitter) under a sawtooth of garbage, with V8's own major GCs only (none forced):
# leak = on gets its verdict from the newest floors, one per major GC, at the 6th
# major GC or so (the time windows alone needed 7-8), and the report — no baseline
# far enough before it, so from the incident snapshot (basis summary) — names
# Subscription. A process with the same garbage and no leak is never judged leaking.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.leak=on trigger.growth_mb=0 trigger.rss_mb=0 trigger.baseline_pct=0
start_agent "$T/hs.ini"
grep -q "GC tracking unavailable" "$T/agent.err" && fail "GC tracking did not load"
mkdir -p "$T/app"; cd "$T/app" || fail "no app dir"
SHAPE=listeners PER_TICK=25 PAYLOAD=3000 GARBAGE=6000 LEAK_DELAY_MS=1000 start_node LEAKER \
	--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
SHAPE=listeners PER_TICK=25 PAYLOAD=3000 GARBAGE=6000 STOP_MB=0.001 LEAK_DELAY_MS=1000 start_node STEADY \
	--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
wait_for 240 event_for "$LEAKER" trigger || fail "no leak verdict within 240 s: $(grep "pid $LEAKER" "$T/agent.err" | tail -3)"
grep -q "\"event\":\"trigger\",\"pid\":$LEAKER,\"reason\":\"leak\"" "$T/agent.out" || fail "trigger reason is not leak"
grep "pid $LEAKER: leak:" "$T/agent.err"
wait_for 60 grep -q "\"event\":\"capture_done\".*\"pid\":$LEAKER,.*\"baseline\":false" "$T/agent.out" ||
	fail "leak trigger not captured"
line=$(grep "\"event\":\"capture_done\".*\"pid\":$LEAKER,.*\"baseline\":false" "$T/agent.out")
grep -q '"top_growth":\[{"class":"Subscription"' <<<"$line" || fail "the report does not name Subscription: $line"
majors=$("$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0)), s = l.find(x => x.pid == process.argv[1]);
  process.stdout.write(String(s ? s.gc_major : ""))' "$STEADY")
echo "steady process: $majors major GCs, no verdict"
[ -n "$majors" ] && [ "$majors" -ge 6 ] || fail "the steady process had too few major GCs ($majors) to show anything"
event_for "$STEADY" trigger && fail "the steady process was judged leaking"
stop_agent
pass "slow leak judged from sparse major GCs, report names Subscription; steady process not"
