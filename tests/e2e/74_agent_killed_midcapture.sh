#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the agent is SIGKILLed in the middle of a capture and
# restarted on the same store. A node with ~600k small objects at the trigger (80 MB
# of growth: V8 needs seconds to write its ~100 MB snapshot) is captured through
# --heapsnapshot-signal; once the snapshot is streaming into the store (a non-empty
# *.tmp there), the agent is SIGKILLed. After the restart: nothing is listed, no *.tmp
# or orphan .gz is left, the node is found again by the /proc scan ("watching pid N"),
# `heapsnap ps` lists it, and it is alive; the restarted agent resumes the interrupted
# capture from its journal (V8 went on writing the file): the snapshot is stored whole,
# and the raw Heap.* file is removed from the app's directory.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=80
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
OBJECTS=1000000 start_node VICTIM --heapsnapshot-signal=SIGUSR2 "$APPS/objects.js"
cd "$T"

streaming() { find "$T/store" -maxdepth 1 -name '*.tmp' -size +0 | grep -q .; }
wait_for 60 event_for "$VICTIM" capture_start || fail "no capture_start"
wait_for 30 bash -c "ls $T/app/Heap.*.heapsnapshot >/dev/null 2>&1" || fail "node never started writing its snapshot"
wait_for 60 streaming || fail "the snapshot never reached the store's temp file"
echo "before the kill: $(ls -l "$T/store" | tail -n +2 | awk '{print $5, $9}' | tr '\n' ' ')"
event_for "$VICTIM" capture_done && fail "the capture finished before the agent could be killed (make the heap bigger)"
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null
echo "agent $AGENT SIGKILLed mid-capture; store: $(ls -A "$T/store" | tr '\n' ' ')"
mv "$T/agent.out" "$T/agent1.out"; mv "$T/agent.err" "$T/agent1.err"

start_agent "$T/hs.ini"
grep -q "watching pid $VICTIM " "$T/agent.err" || fail "the node was not found again after the restart"
kill -0 "$VICTIM" || fail "the node died"
"$HEAPSNAP" -c "$T/hs.ini" ps --json >"$T/ps.json" || fail "heapsnap ps --json failed"
grep -q "\"pid\": *$VICTIM[,}]" "$T/ps.json" || fail "heapsnap ps does not list the node"
nodetool -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1])).find(x => x.pid === Number(process.argv[2]));
	if (!p || p.baseline_rss_bytes > 200 * 1048576) { console.error("baseline not restored:", p && p.baseline_rss_bytes); process.exit(1); }' \
	"$T/ps.json" "$VICTIM" || fail "the restarted agent did not restore the baseline"

# The interrupted capture is resumed: stored whole, the raw file removed.
wait_for 120 event_for "$VICTIM" capture_done || fail "the interrupted capture was not resumed"
grep -q "resum" "$T/agent.err" || fail "no log line about resuming"
"$HEAPSNAP" --store "$T/store" list --json > "$T/list.json"
nodetool -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
	if (l.length !== 1 || l[0].pid !== Number(process.argv[2]) || !(l[0].node_count > 0)) process.exit(1);' \
	"$T/list.json" "$VICTIM" || fail "the resumed snapshot is not listed once: $(cat "$T/list.json")"
id=$(nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].id)' "$T/list.json")
"$HEAPSNAP" --store "$T/store" get "$id" -o "$T/resumed.heapsnapshot" || fail "get of the resumed snapshot"
snapshot_ok "$T/resumed.heapsnapshot" || fail "the resumed snapshot does not parse"
ls "$T"/app/Heap.*.heapsnapshot 2>/dev/null && fail "the raw Heap.* file is left in the app's directory"
[ -z "$(ls "$T" | grep '^heapsnapd.state.capture')" ] || fail "capture journal left behind"
kill -0 "$VICTIM" || fail "the node died after finishing its snapshot"
stop_agent
[ -z "$(ls -A "$T/store" | grep -E '\.tmp$')" ] || fail "temp files left after stop: $(ls -A "$T/store")"
for gz in "$T"/store/*.heapsnapshot.gz; do
	[ -e "${gz%.heapsnapshot.gz}.json" ] || fail "$gz has no metadata"
done
pass "agent SIGKILLed mid-capture: nothing half-written listed, no temp file, node rediscovered with its baseline, capture resumed and stored whole"
