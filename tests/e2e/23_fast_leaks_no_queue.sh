#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Three fast leaks (~18 MB/s each) cross their growth threshold at about the same time,
# with the default max_concurrent (an upper bound; the memory guard decides below it):
# no incident queues behind another's snapshot. Each incident's capture starts within
# 1 s of its trigger (capture_start wait_ms; memory_wait_ms 0 on this host, whose
# available memory holds the three estimates), the heap at its start is within 1.25x the
# heap at the trigger (both the heap after the newest GC of any kind: heap_at_start_bytes,
# heap_at_trigger_bytes), and so is the RSS, and the stored metadata keeps RSS and heap
# at the trigger, RSS and heap at the start, and the wait. (Before:
# max_concurrent = 1, the third waited ~60 s and was captured at 5x its trigger's RSS.)
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=150 trigger.baseline_pct=0 capture.method=signal \
	trigger.max_per_process=1
start_agent "$T/hs.ini"
PIDS3=()
for shape in map listeners timers; do
	mkdir -p "$T/$shape"; cd "$T/$shape" || fail "no app dir"
	SHAPE=$shape PER_TICK=450 PAYLOAD=4000 LEAK_DELAY_MS=4000 STOP_MB=500 start_node P \
		--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
	PIDS3+=("$P")
done
cd "$T" || fail "no test dir"
for p in "${PIDS3[@]}"; do
	wait_for 150 grep -q "\"event\":\"capture_done\".*\"pid\":$p,.*\"baseline\":false" "$T/agent.out" ||
		fail "no incident snapshot of pid $p"
done
nodetool -e '
  const ev = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  let bad = 0;
  for (const pid of process.argv.slice(3)) {
    const t = ev.find(e => e.event === "trigger" && e.pid == pid);
    const s = ev.find(e => e.event === "capture_start" && e.pid == pid);
    const d = ev.find(e => e.event === "capture_done" && e.pid == pid && !e.baseline);
    const meta = JSON.parse(require("fs").readFileSync(process.argv[2] + "/" + d.snapshot_id + ".json", "utf8"));
    const ratio = s.rss_at_start_bytes / t.rss_bytes;
    const heapRatio = s.heap_at_start_bytes / t.heap_at_trigger_bytes;
    console.log(`pid ${pid}: trigger at RSS ${(t.rss_bytes / 1e6).toFixed(0)} MB heap ${(t.heap_used_bytes / 1e6).toFixed(0)} MB;` +
      ` capture started after ${s.wait_ms} ms (memory wait ${s.memory_wait_ms} ms) at RSS ${(s.rss_at_start_bytes / 1e6).toFixed(0)} MB` +
      ` (${ratio.toFixed(2)}x), heap ${(s.heap_at_start_bytes / 1e6).toFixed(0)} MB (${heapRatio.toFixed(2)}x the heap at the trigger,` +
      ` ${(t.heap_at_trigger_bytes / 1e6).toFixed(0)} MB); metadata wait_ms ${meta.wait_ms},` +
      ` rss_at_start ${meta.rss_at_start_bytes}, heap ${meta.heap_used_bytes}, heap_at_start ${meta.heap_at_start_bytes}`);
    if (s.memory_wait_ms === 0 && s.wait_ms > 1000) { console.error("pid", pid, "waited", s.wait_ms, "ms with memory to spare"); bad = 1; }
    if (s.memory_wait_ms > 0) console.log("  (the memory guard made it wait: this host had no room for all three)");
    if (s.memory_wait_ms === 0 && ratio > 1.25) { console.error("pid", pid, "captured at", ratio.toFixed(2), "x its trigger RSS"); bad = 1; }
    if (!(t.heap_at_trigger_bytes > 0)) { console.error("pid", pid, "no heap at the trigger"); bad = 1; }
    else if (s.memory_wait_ms === 0 && heapRatio > 1.25) { console.error("pid", pid, "captured at", heapRatio.toFixed(2), "x its heap at the trigger"); bad = 1; }
    if (meta.wait_ms !== s.wait_ms || meta.rss_at_start_bytes !== s.rss_at_start_bytes ||
        meta.rss_bytes !== t.rss_bytes || !("heap_used_bytes" in meta) ||
        meta.heap_at_start_bytes !== s.heap_at_start_bytes || !(s.heap_at_start_bytes > 0) ||
        meta.heap_at_trigger_bytes !== t.heap_at_trigger_bytes || s.heap_at_trigger_bytes !== t.heap_at_trigger_bytes) { console.error("pid", pid, "metadata"); bad = 1; }
  }
  process.exit(bad);
' "$T/agent.out" "$T/store" "${PIDS3[@]}" || fail "incidents queued or metadata missing"
stop_agent
pass "three fast leaks at once: each capture started within 1 s of its trigger"
