#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A slow leak (~0.8 MB/s of Subscriptions captured by listeners on a long-lived
# EventEmitter) under a sawtooth of garbage, with V8's own major GCs only (none forced):
# leak = on gets its verdict from the newest floors, one per major GC (at least 6, over
# at least leak_window_s; test_leak has the counts), and the report — no baseline
# far enough before it, so from the incident snapshot (basis summary) — names
# Subscription. (The non-leaking shapes under sparse major GCs are test_leak's: a
# steady process here gets no major GC from V8 at all, so it would show nothing.)
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.leak=on trigger.growth_mb=0 trigger.rss_mb=0 trigger.baseline_pct=0
start_agent "$T/hs.ini"
grep -q "GC tracking unavailable" "$T/agent.err" && fail "GC tracking did not load"
mkdir -p "$T/app"; cd "$T/app" || fail "no app dir"
SHAPE=listeners PER_TICK=25 PAYLOAD=3000 GARBAGE=6000 LEAK_DELAY_MS=1000 start_node LEAKER \
	--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
wait_for 240 event_for "$LEAKER" trigger || fail "no leak verdict within 240 s: $(grep "pid $LEAKER" "$T/agent.err" | tail -3)"
grep -q "\"event\":\"trigger\",\"pid\":$LEAKER,\"reason\":\"leak\"" "$T/agent.out" || fail "trigger reason is not leak"
grep "pid $LEAKER: leak:" "$T/agent.err"
wait_for 60 grep -q "\"event\":\"capture_done\".*\"pid\":$LEAKER,.*\"baseline\":false" "$T/agent.out" ||
	fail "leak trigger not captured"
line=$(grep "\"event\":\"capture_done\".*\"pid\":$LEAKER,.*\"baseline\":false" "$T/agent.out")
grep -q '"top_growth":\[{"class":"Subscription"' <<<"$line" || fail "the report does not name Subscription: $line"
majors=$(sed -n "s/.*pid $LEAKER: leak: .*(\([0-9]*\) major GCs).*/\1/p" "$T/agent.err" | head -1)
echo "verdict after $majors major GCs"
[ -n "$majors" ] || fail "the leak verdict's log line does not say how many major GCs it took"
stop_agent
pass "slow leak judged after $majors major GCs, report names Subscription"
