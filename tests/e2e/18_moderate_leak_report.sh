#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A moderate leak (~2.5 MB/s of Entry records pushed onto a Ledger's array): the
# baseline halfway, then the incident fires within 1 MB of its threshold although the
# baseline's own snapshot lifted RSS past it, starts within 10 ms of the trigger, and
# its report (a diff against the baseline) names Entry first; the Ledger's array that
# holds them is in the retainer path.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=60 trigger.baseline_pct=50 capture.method=signal
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app" || fail "no app dir"
SHAPE=records PER_TICK=60 PAYLOAD=2000 LEAK_DELAY_MS=4000 start_node APP --heapsnapshot-signal=SIGUSR2 \
	"$APPS/leak_shapes.js"
wait_for 60 grep -q "\"event\":\"capture_done\".*\"pid\":$APP,.*\"baseline\":true" "$T/agent.out" ||
	fail "no baseline capture"
wait_for 90 grep -q "\"event\":\"capture_done\".*\"pid\":$APP,.*\"baseline\":false" "$T/agent.out" ||
	fail "no incident capture"
grep "pid $APP: capture settled" "$T/agent.err"

trig=$(grep "\"event\":\"trigger\".*\"pid\":$APP," "$T/agent.out")
[ "$(wc -l <<<"$trig")" = 1 ] || fail "expected one trigger: $trig"
start=$(grep "\"event\":\"capture_start\".*\"pid\":$APP,.*\"reason\":\"growth\"" "$T/agent.out" | head -1)
done_line=$(grep "\"event\":\"capture_done\".*\"pid\":$APP,.*\"baseline\":false" "$T/agent.out")
nodetool -e '
  const [trig, start, done] = process.argv.slice(1).map(JSON.parse);
  const over = trig.rss_bytes - trig.threshold_bytes, lag = Date.parse(start.time) - Date.parse(trig.time);
  console.log("overshoot", over, "bytes; trigger -> capture_start", lag, "ms; capture offset",
              trig.capture_offset_bytes, "; basis", done.basis, "; top", JSON.stringify(done.top_growth.map(t => t.class)));
  if (trig.reason !== "growth") { console.error("reason", trig.reason); process.exit(1); }
  if (!(over >= 0 && over < 1048576)) { console.error("RSS at the trigger not within 1 MB of the threshold"); process.exit(2); }
  if (!(trig.capture_offset_bytes > 0)) { console.error("no capture offset: the baseline was counted as growth"); process.exit(3); }
  if (!(lag <= 10)) { console.error("capture_start", lag, "ms after the trigger"); process.exit(4); }
  if (done.basis !== "diff") { console.error("basis", done.basis); process.exit(5); }
  if (done.top_growth[0].class !== "Entry") { console.error("first class", done.top_growth[0].class); process.exit(6); }
  if (!done.retainer_path.some(e => /^Ledger @/.test(e.node))) { console.error("no Ledger in the path"); process.exit(7); }
' "$trig" "$start" "$done_line" || fail "incident (rc $?): $trig / $start / $done_line"
stop_agent
pass "moderate leak: incident at its threshold, report names Entry"
