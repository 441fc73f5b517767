#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Three fast leaks (~18 MB/s each: a Map of Sessions, listeners holding Subscriptions,
# intervals holding PollJobs) at once with max_concurrent = 1: every process gets its
# incident snapshot; no incident waits for a baseline (after each incident trigger,
# the next capture to start is an incident); each report names its own leak, with or
# without a baseline (basis diff or summary).
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=150 trigger.baseline_pct=50 capture.method=signal \
	capture.max_concurrent=1 trigger.max_per_process=1
start_agent "$T/hs.ini"
declare -A WANT
for shape in map listeners timers; do
	mkdir -p "$T/$shape"; cd "$T/$shape" || fail "no app dir"
	SHAPE=$shape PER_TICK=450 PAYLOAD=4000 LEAK_DELAY_MS=4000 STOP_MB=500 start_node P \
		--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
	WANT[$P]=$shape
done
cd "$T" || fail "no test dir"
for p in "${!WANT[@]}"; do
	wait_for 150 grep -q "\"event\":\"capture_done\".*\"pid\":$p,.*\"baseline\":false" "$T/agent.out" ||
		fail "no incident snapshot of the ${WANT[$p]} leak (pid $p)"
done
grep '"event":"\(trigger\|capture_start\|capture_failed\)"' "$T/agent.out" | cut -c1-220
grep "baseline" "$T/agent.err" | grep -v "^heapsnapd: debug" | tail -20
args=()
for p in "${!WANT[@]}"; do args+=("$p=${WANT[$p]}"); done
nodetool -e '
  const ev = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const want = Object.fromEntries(process.argv.slice(2).map(a => a.split("=")));
  const cls = { map: "Session", listeners: "Subscription", timers: "Timeout" };
  let bad = 0;
  ev.forEach((e, i) => {
    if (e.event !== "trigger") return;
    for (const s of ev.slice(i + 1)) {
      if (s.event !== "capture_start") continue;
      if (s.reason === "baseline") { console.error("a baseline started before the incident of", e.pid); bad = 1; }
      break;
    }
  });
  for (const [pid, shape] of Object.entries(want)) {
    const d = ev.find(e => e.event === "capture_done" && e.pid == pid && !e.baseline);
    const t = ev.find(e => e.event === "trigger" && e.pid == pid);
    console.log(shape, "trigger at", (t.rss_bytes / 1048576).toFixed(0), "MB for", (t.threshold_bytes / 1048576).toFixed(0),
                "MB; stored after", d.capture_ms, "ms; basis", d.basis, "; top", JSON.stringify((d.top_growth || []).map(x => x.class)));
    if (!d.top_growth || !d.top_growth.length || d.top_growth[0].class !== cls[shape]) {
      console.error(shape, "report does not name", cls[shape]); bad = 1; }
  }
  process.exit(bad);
' "$T/agent.out" "${args[@]}" || fail "incidents or reports"
stop_agent
pass "three fast leaks: incidents first, each report names its leak"
