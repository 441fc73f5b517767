#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# With leak = on and the RSS thresholds off: a slow leak (objects retained at
# ~40 MB/min, the heap floor after major GCs rising) is captured with reason "leak"
# within about a minute and a half; a process with a big but stable heap and the
# same GC rhythm is not.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.leak=on trigger.growth_mb=0 trigger.rss_mb=0 \
	trigger.leak_window_s=30 trigger.baseline_pct=0
start_agent "$T/hs.ini"
grep -q "GC tracking unavailable" "$T/agent.err" && fail "GC tracking did not load"
# Both do a major GC every 500 ms (V8 alone would do one a minute or less on such
# heaps); the leaker retains ~0.7 MB of small objects per second on top of a sawtooth.
cat > "$T/app.js" <<'JS'
const leaking = process.argv[2] === 'leak';
const retained = [], big = [];
for (let i = 0; i < 300000; i++) big.push({ i, s: 'base' + i });
let saw = [];
setInterval(() => {
  for (let i = 0; i < 5000; i++) saw.push({ i });
  if (saw.length > 100000) saw = [];
  if (leaking) for (let i = 0; i < 700; i++) retained.push({ i, pad: 'leak-record-' + i });
}, 100);
setInterval(() => gc(), 500);
JS
start_node LEAKER --expose-gc "$T/app.js" leak
start_node STEADY --expose-gc "$T/app.js" steady
wait_for 120 event_for "$LEAKER" trigger || fail "no trigger for the leaking process within 120 s"
grep -q "\"event\":\"trigger\",\"pid\":$LEAKER,\"reason\":\"leak\"" "$T/agent.out" || fail "trigger reason is not leak"
wait_for 60 event_for "$LEAKER" capture_done || fail "leak trigger not captured"
event_for "$STEADY" trigger && fail "the steady process triggered"
"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  const s = l.find(x => x.pid == process.argv[1]);
  if (!s || s.gc_major < 10 || s.leak === "leak") process.exit(1);' "$STEADY" || fail "steady process state in ps"
stop_agent
pass "slow leak caught by the heap-floor heuristic, steady heap not"
