#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A snapshot whose writer dies midway is not stored: the target is killed while V8
# is writing; the agent reports capture_failed, lists nothing, leaves no temp file,
# and stays healthy for the next process.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=60
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
# Many small objects: the snapshot takes seconds to write, long enough to kill it midway.
cat > "$T/app/objects.js" <<'JS'
const keep = [];
// After the agent's start-up settle time, so the growth counts.
setTimeout(() => { for (let i = 0; i < 1500000; i++) keep.push({ i, s: 'o' + i }); }, 4000);
setInterval(() => {}, 1 << 30);
JS
start_node VICTIM --heapsnapshot-signal=SIGUSR2 "$T/app/objects.js"
wait_for 60 event_for "$VICTIM" capture_start || fail "no capture_start"
wait_for 30 bash -c "ls $T/app/Heap.*.heapsnapshot >/dev/null 2>&1" || fail "node never started writing"
sleep 0.5
kill -KILL "$VICTIM"
wait_for 30 event_for "$VICTIM" capture_failed || fail "no capture_failed after the target was killed"
[ "$("$HEAPSNAP" --store "$T/store" list --json)" = "[]" ] || fail "a partial snapshot was listed"
[ -z "$(ls -A "$T/store")" ] || fail "files left in the store: $(ls -A "$T/store")"

cd "$T/app" && start_node NEXT --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
wait_for 60 event_for "$NEXT" capture_done || fail "the agent did not capture the next process"
stop_agent
pass "killed writer not stored; next process captured"
