#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Incidents never wait behind a baseline (max_concurrent = 1): process A's baseline is
# slow to write (1 M small objects; A grows slowly, ~3 MB/s, so its baseline is worth
# taking); while it runs, B starts leaking ~100 MB/s. B's
# incident takes the slot: A's baseline is cancelled ("baseline capture cancelled: the
# incident capture of pid B needed the slot"), B's capture starts within a second of
# its trigger and is stored; a baseline B queued meanwhile is dropped, never run;
# A survives and no raw snapshot file is left in its directory.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=160 trigger.baseline_pct=25 capture.method=signal \
	capture.max_concurrent=1 trigger.max_per_process=1
start_agent "$T/hs.ini"
mkdir -p "$T/a" "$T/b"
cd "$T/a" || fail "no app dir"
# A leaks 80 MB in all: its baseline comes 40 MB above its settled RSS, and with 50 MB a
# settled RSS a few MB high (the prefill's garbage collected later) left it short once.
SHAPE=records PREFILL=1000000 PER_TICK=30 PAYLOAD=10000 STOP_MB=80 LEAK_DELAY_MS=7000 start_node A \
	--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
cd "$T/b" || fail "no app dir"
SHAPE=map PER_TICK=1000 PAYLOAD=10000 GO_FILE="$T/go" LEAK_DELAY_MS=0 start_node B \
	--heapsnapshot-signal=SIGUSR2 "$APPS/leak_shapes.js"
cd "$T" || fail "no test dir"
wait_for 60 grep -q "\"event\":\"capture_start\".*\"pid\":$A,.*\"reason\":\"baseline\"" "$T/agent.out" ||
	fail "A's baseline did not start"
touch "$T/go"
wait_for 60 grep -q "\"event\":\"capture_done\".*\"pid\":$B,.*\"baseline\":false" "$T/agent.out" ||
	fail "no incident capture of B"
grep '"event":"\(trigger\|capture_start\|capture_failed\|capture_done\)"' "$T/agent.out" | cut -c1-200
grep -E "baseline (capture cancelled|dropped)|no baseline snapshot" "$T/agent.err"
grep "\"event\":\"capture_done\".*\"pid\":$A,.*\"baseline\":true" "$T/agent.out" | grep -q . &&
	! grep -q "\"event\":\"capture_failed\".*\"pid\":$A," "$T/agent.out" &&
	fail "A's baseline was stored before B's incident came: the test proves nothing"
grep "\"event\":\"capture_failed\".*\"pid\":$A,.*\"reason\":\"baseline\"" "$T/agent.out" |
	grep -q "baseline capture cancelled: the incident capture of pid $B needed the slot" ||
	fail "A's baseline was not cancelled for B's incident"
trig=$(grep "\"event\":\"trigger\".*\"pid\":$B," "$T/agent.out" | head -1)
start=$(grep "\"event\":\"capture_start\".*\"pid\":$B,.*\"reason\":\"growth\"" "$T/agent.out" | head -1)
nodetool -e '
  const [t, s] = process.argv.slice(1).map(JSON.parse), lag = Date.parse(s.time) - Date.parse(t.time);
  console.log("B: trigger -> capture_start", lag, "ms, the baseline of A cancelled");
  if (!(lag < 1000)) process.exit(1);' "$trig" "$start" || fail "B's incident waited for the slot"
grep -q "\"event\":\"capture_start\".*\"pid\":$B,.*\"reason\":\"baseline\"" "$T/agent.out" &&
	fail "B's baseline ran after its incident was queued"
kill -0 "$A" || fail "A died"
wait_for 30 bash -c "! ls '$T'/a/Heap.*.heapsnapshot >/dev/null 2>&1" || fail "A's raw snapshot file was left behind"
stop_agent
pass "B's incident took the slot from A's running baseline"
