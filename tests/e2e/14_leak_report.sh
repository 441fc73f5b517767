#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Automatic report: the agent takes a baseline snapshot halfway to the growth
# threshold, and the incident capture carries top_growth (in list/show --json and the
# alert line) whose first entry is the leaking constructor, plus a retainer path, and
# allocation stacks or the reason it has none.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.baseline_pct=50 trigger.growth_mb=120 capture.profile_interval_kb=4096
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
LEAK_DELAY_MS=3500 STEP_KB=1024 TICK_MS=50 start_node LEAKER --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
wait_for 90 grep -q "\"event\":\"capture_done\".*\"pid\":$LEAKER,.*\"baseline\":false" "$T/agent.out" ||
	fail "no incident capture"
grep -q "\"pid\":$LEAKER,.*\"baseline\":true" "$T/agent.out" || fail "no baseline capture before the incident"
line=$(grep "\"event\":\"capture_done\".*\"pid\":$LEAKER,.*\"baseline\":false" "$T/agent.out")
grep -q '"top_growth":\[{"class":"LeakRecord"' <<<"$line" || fail "alert's first top_growth entry is not LeakRecord: $line"
grep -q '"retainer_path":\[{' <<<"$line" || fail "no retainer path in the alert"

"$HEAPSNAP" --store "$T/store" list --json > "$T/list.json"
nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const inc = l.find(s => s.reason === "growth");
  if (!inc || !Array.isArray(inc.top_growth) || inc.top_growth.length === 0) process.exit(1);
  const t = inc.top_growth[0];
  for (const k of ["class", "new_count", "retained_bytes"]) if (!(k in t)) process.exit(2);
  if (t.class !== "LeakRecord" || !(t.new_count > 10)) process.exit(3);
  if (!l.some(s => s.reason === "baseline")) process.exit(4);
  // the profiler at its default interval (4096): stacks, or why there are none (its growth is Buffers)
  if (!(Array.isArray(inc.stacks) && inc.stacks.length) && typeof inc.profile_error !== "string") process.exit(5);
' "$T/list.json" || fail "list --json top_growth (rc $?)"
stop_agent
pass "baseline taken, incident report names LeakRecord"
