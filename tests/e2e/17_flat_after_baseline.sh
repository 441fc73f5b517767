#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's own snapshot is not growth: a process that warms a Map cache by ~20-25 MB
# (just past baseline_pct of growth_mb = 40), then stays flat, gets its baseline
# snapshot and no incident over the next 60 s, although the snapshot left its RSS far
# above the growth threshold (checked, or the test would prove nothing). Shipped
# defaults otherwise (cooldown_s 300, max_per_process 3).
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=40 trigger.baseline_pct=50 trigger.cooldown_s=300 \
	trigger.max_per_process=3 capture.method=signal
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app" || fail "no app dir"
SHAPE=map PER_TICK=2000 PAYLOAD=100 LEAK_DELAY_MS=4500 STOP_MB=2.5 start_node APP \
	--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
wait_for 60 grep -q "\"event\":\"capture_done\".*\"pid\":$APP,.*\"baseline\":true" "$T/agent.out" ||
	fail "no baseline capture"
wait_for 15 grep -q "pid $APP: capture settled" "$T/agent.err" || fail "the baseline's cost was never measured"
grep "pid $APP: capture settled" "$T/agent.err"

ps_field() { # ps_field NAME: that number of APP from heapsnap ps --json
	"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
	  const l = JSON.parse(require("fs").readFileSync(0)), p = l.find(x => x.pid == process.argv[1]);
	  process.stdout.write(String(p ? p[process.argv[2]] : ""))' "$APP" "$1"
}
rss=$(ps_field rss_bytes) base=$(ps_field baseline_rss_bytes) offset=$(ps_field capture_offset_bytes)
echo "after the baseline: RSS $rss, baseline RSS $base, capture offset $offset"
[ -n "$rss" ] && [ -n "$base" ] || fail "APP not in ps"
[ "$rss" -ge $((base + 40 * 1048576)) ] ||
	fail "the snapshot did not lift RSS past the growth threshold: the test shows nothing"
[ "$offset" -gt 0 ] || fail "no capture offset after the baseline"

sleep 60
kill -0 "$APP" || fail "the app died"
event_for "$APP" trigger && fail "an incident fired on a process that only warmed up: $(grep '"event":"trigger"' "$T/agent.out")"
[ "$(grep -c "\"event\":\"capture_done\".*\"pid\":$APP," "$T/agent.out")" = 1 ] || fail "more than the baseline was captured"
stop_agent
pass "baseline only; RSS $((rss / 1048576)) MB vs threshold $(((base + 40 * 1048576) / 1048576)) MB, no incident in 60 s"
