#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: predictive capture in the agent. trigger.predictive = on with
# the growth and RSS thresholds off; a node in a memory cgroup leaks ~4 MB/s of small
# objects. The agent captures early (a trigger event with reason "predictive", then
# capture_done) while the snapshot still fits, and the node is not OOM-killed.
#
# Cgroup size: the agent has no GC probes yet, so the guard's model uses RSS as the
# heap (needed = guard_cost_factor 15 x RSS + 64 MB). A node's RSS is ~40 MB at rest,
# so in a cgroup of L MB the snapshot "fits" only while RSS < (L - 64) / 16: for
# L = 800 that is ~46 MB, gone before the 5 s of samples the prediction needs (then
# the agent says "too late"). PREDICT_CG_MB (default 2048: fits up to ~124 MB RSS)
# sets L.
source "$(dirname "$0")/lib.sh"
need_root

MB=1048576
CG_MB=${PREDICT_CG_MB:-2048}
source "$(dirname "$0")/memcg.sh"
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; memcg_remove_all; cleanup' EXIT
rss_mb() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$1/status") / 1024 )); }

make_cgroup "heapsnap-test-$$-predict" $((CG_MB * MB)) || skip "cannot create a memory cgroup under $cg_parent"
echo "cgroup v$cg_ver: $cg ($CG_MB MB)"
write_config "$T/hs.ini" trigger.predictive=on trigger.growth_mb=0 trigger.rss_mb=0
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
RATE_MB=4 CAP_MB=300 HEAP_FILE=$T/app/heap start_in_cgroup LEAKER "$cg" --heapsnapshot-signal=SIGUSR2 "$APPS/small_leak.js"
cd "$T"
wait_for 10 grep -q "watching pid $LEAKER " "$T/agent.err" || fail "the node is not watched"
t0=$SECONDS

wait_for 60 bash -c "grep -q '\"event\":\"capture_done\".*\"pid\":$LEAKER[,}]' '$T/agent.out' ||
	grep -q 'pid $LEAKER: predictive: too late' '$T/agent.err'" ||
	fail "neither a predictive capture nor a 'too late' verdict within 60 s"
grep "pid $LEAKER: predictive" "$T/agent.err" | head -3
grep -q "pid $LEAKER: predictive: too late" "$T/agent.err" && ! event_for "$LEAKER" capture_done &&
	fail "the agent found it too late before it could predict (RSS $(rss_mb "$LEAKER") MB in a $CG_MB MB cgroup)"
trig=$(grep "\"event\":\"trigger\".*\"pid\":$LEAKER[,}]" "$T/agent.out" | head -1)
echo "$trig"
case $trig in *'"reason":"predictive"'*) ;; *) fail "the first trigger is not predictive";; esac
done_line=$(grep "\"event\":\"capture_done\".*\"pid\":$LEAKER[,}]" "$T/agent.out" | head -1)
echo "captured $((SECONDS - t0)) s after start, $(echo "$done_line" | grep -o '"rss_bytes":[0-9]*\|"raw_bytes":[0-9]*\|"capture_ms":[0-9]*' | tr '\n' ' ')"
sleep 2
kill -0 "$LEAKER" || fail "the node died"
[ "$(oom_kills "$cg")" = 0 ] || fail "OOM kill in the node's cgroup"
echo "node alive, oom_kill 0, RSS now $(rss_mb "$LEAKER") MB, heap $(( $(cat "$T/app/heap") / MB )) MB"
"$HEAPSNAP" --store "$T/store" list --json >"$T/list.json"
id=$(nodetool -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1]));const s=l.find(s=>s.pid==process.argv[2]);console.log(s&&s.reason==="predictive"?s.id:"")' "$T/list.json" "$LEAKER")
[ -n "$id" ] || fail "no stored snapshot with reason predictive: $(cat "$T/list.json")"
"$HEAPSNAP" --store "$T/store" get "$id" -o "$T/snap.heapsnapshot" || fail "get $id"
snapshot_ok "$T/snap.heapsnapshot" || fail "the snapshot does not parse"
stop_agent
pass "predictive capture in a $CG_MB MB cgroup, node alive, no OOM kill"
