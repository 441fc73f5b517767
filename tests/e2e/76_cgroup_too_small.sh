#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the agent's memory guard. A node leaking small objects runs
# in a memory cgroup (v2 memory.max, or v1 memory.limit_in_bytes under this test's own
# v1 memory cgroup) too small for a snapshot of its heap; it crosses the agent's
# growth threshold. The agent emits capture_refused with the numbers (needed_bytes >
# headroom_bytes, the cgroup limit named), never signals it, stores nothing, and the
# node is alive with no OOM kill in its cgroup. Control: the snapshot the guard refused,
# forced by hand, gets the node OOM-killed (else the test's premise is wrong).
source "$(dirname "$0")/lib.sh"
need_root

MB=1048576
source "$(dirname "$0")/memcg.sh"
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; memcg_remove_all; cleanup' EXIT

make_cgroup "heapsnap-test-$$-small" $((300 * MB)) || skip "cannot create a memory cgroup under $cg_parent"
echo "cgroup v$cg_ver: $cg (300 MB)"
write_config "$T/hs.ini" trigger.growth_mb=30
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
RATE_MB=10 CAP_MB=60 HEAP_FILE=$T/app/heap start_in_cgroup LEAKER "$cg" --heapsnapshot-signal=SIGUSR2 "$APPS/small_leak.js"
cd "$T"
wait_for 10 grep -q "watching pid $LEAKER " "$T/agent.err" || fail "the node is not watched"
grep -q "$(basename "$cg")" "/proc/$LEAKER/cgroup" || fail "the node is not in the test cgroup"

wait_for 60 event_for "$LEAKER" capture_refused || fail "no capture_refused for a node whose snapshot cannot fit in 300 MB"
line=$(grep "\"event\":\"capture_refused\".*\"pid\":$LEAKER[,}]" "$T/agent.out" | head -1)
echo "$line"
nodetool -e '
	const e = JSON.parse(process.argv[1]), limit = Number(process.argv[2]);
	const bad = m => { console.error(m); process.exit(1); };
	for (const k of ["needed_bytes", "headroom_bytes", "limit", "error", "rss_bytes"]) if (!(k in e)) bad("missing " + k);
	if (!/cgroup/.test(e.limit)) bad("the binding limit is not the cgroup: " + e.limit);
	if (!(e.needed_bytes > e.headroom_bytes)) bad("needed_bytes <= headroom_bytes");
	if (!(e.headroom_bytes <= limit)) bad("headroom above the cgroup limit");
	console.log(`refused: needed ${(e.needed_bytes / 1048576).toFixed(0)} MB, headroom ${(e.headroom_bytes / 1048576).toFixed(0)} MB, ` +
		`limit "${e.limit}", heap_estimated ${e.heap_estimated}`);' "$line" $((300 * MB)) || fail "capture_refused numbers"
sleep 3
event_for "$LEAKER" capture_start && fail "a capture was started although refused"
ls "$T"/app/Heap.*.heapsnapshot >/dev/null 2>&1 && fail "the node was signalled (a Heap.* file exists)"
kill -0 "$LEAKER" || fail "the node died"
[ "$(oom_kills "$cg")" = 0 ] || fail "OOM kill in the node's cgroup"
[ "$("$HEAPSNAP" --store "$T/store" list --json)" = "[]" ] || fail "something was stored"
echo "refusals: $(grep -c "\"event\":\"capture_refused\".*\"pid\":$LEAKER[,}]" "$T/agent.out"), node alive, oom_kill 0, heap $(( $(cat "$T/app/heap") / MB )) MB, RSS $(( $(awk '/VmRSS/ {print $2}' "/proc/$LEAKER/status") / 1024 )) MB"
stop_agent

# Control: the refused snapshot, forced, does not fit.
kill -USR2 "$LEAKER"
timeout 60 tail --pid="$LEAKER" -f /dev/null || fail "control: the forced snapshot neither finished nor died within 60 s"
[ "$(oom_kills "$cg")" -ge 1 ] || fail "control: the forced snapshot did not OOM the cgroup: the test's premise is wrong"
pass "guard refused in a 300 MB cgroup (node alive, no OOM kill); the forced snapshot OOM-killed it"
