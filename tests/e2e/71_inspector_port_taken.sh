#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the inspector port is taken. A flagless leaking node shares
# its network namespace with another process listening on 127.0.0.1:9229: the
# capture ends in capture_failed whose error names the port and its owner, no SIGUSR1
# is sent (the node never tries to open its inspector) and the node keeps running.
# Once the squatter is gone, a new leaking node in the same namespace is captured
# through the inspector (the agent is healthy) and the inspector is closed again.
# The first node is not captured again (max_per_process = 1, cooldown 300 s).
source "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "no unshare/nsenter"

LATE_FAIL=()

write_config "$T/hs.ini" trigger.growth_mb=40 trigger.max_per_process=1 capture.method=auto
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"

# The squatter: a private network namespace (other tests on this host may use the
# host's 9229), a plain TCP listener on 127.0.0.1:9229, not a watched process.
env -u HEAPSNAP_TEST unshare --net bash -c 'ip link set lo up && exec "$0" -e "
	require(\"net\").createServer(s => s.destroy()).listen(9229, \"127.0.0.1\");
	setInterval(() => {}, 1 << 30);"' "$NODE" >>"$T/squatter.log" 2>&1 &
SQUAT=$!
PIDS+=("$SQUAT")
wait_for 10 listening_9229 "$SQUAT" || fail "the squatter does not listen on 9229"

# The first node joins the squatter's network namespace.
LEAK_DELAY_MS=5000 nsenter -t "$SQUAT" -n "$NODE" "$APPS/leak.js" >>"$T/node1.log" 2>&1 &
FIRST=$!
PIDS+=("$FIRST")
wait_for 60 event_for "$FIRST" capture_failed || fail "no capture_failed for the node whose port is taken"
line=$(event_line "$FIRST" capture_failed | head -1)
echo "$line"
case $line in *9229*taken*) ;; *) fail "capture_failed does not say port 9229 is taken";; esac
case $line in *"pid $SQUAT"*) ;; *) LATE_FAIL+=("capture_failed does not name the squatter (pid $SQUAT)");; esac
event_for "$FIRST" capture_done && fail "captured although the port is taken"
sleep 1
kill -0 "$FIRST" || fail "the node died"
kill -0 "$AGENT" || fail "the agent died"
grep -q "address already in use\|Starting inspector" "$T/node1.log" &&
	LATE_FAIL+=("SIGUSR1 was sent although the port was known to be taken: $(head -2 "$T/node1.log" | tr '\n' ' ')")

# The squatter goes; a new node in the same namespace is captured.
kill -TERM "$SQUAT"
wait_for 10 bash -c "! nsenter -t $FIRST -n ss -Hltn 'sport = :9229' | grep -q ." || fail "the squatter's port is still open"
t0=$SECONDS
LEAK_DELAY_MS=5000 HEARTBEAT_FILE=$T/beat2 nsenter -t "$FIRST" -n "$NODE" "$APPS/leak.js" >>"$T/node2.log" 2>&1 &
SECOND=$!
PIDS+=("$SECOND")
wait_for 60 event_for "$SECOND" capture_done || fail "the next node was not captured after the port was freed"
echo "second node captured $((SECONDS - t0)) s after its start: $(event_line "$SECOND" capture_done | grep -o '"method":"[a-z]*"')"
event_line "$SECOND" capture_done | grep -q '"method":"inspector"' || fail "the next node was not captured through the inspector"
kill -0 "$SECOND" || fail "the captured node died"
loop_turned "$T/beat2" || fail "the captured node's event loop does not turn" # a queued start would run
listening_9229 "$SECOND" && fail "the inspector is left listening after the capture"
[ "$(grep -c "\"event\":\"capture_start\".*\"pid\":$FIRST[,}]" "$T/agent.out")" = 0 ] ||
	LATE_FAIL+=("the first node's capture was started (the port was taken)")
[ "$(grep -c "\"event\":\"trigger\".*\"pid\":$FIRST[,}]" "$T/agent.out")" = 1 ] ||
	LATE_FAIL+=("the first node triggered more than once (max_per_process = 1)")
kill -0 "$FIRST" || fail "the first node died"
"$HEAPSNAP" --store "$T/store" list --json >"$T/list.json" || fail "heapsnap list --json failed"
nodetool -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
	process.exit(l.length === 1 && l[0].pid === Number(process.argv[2]) ? 0 : 1)' "$T/list.json" "$SECOND" ||
	fail "the store does not hold exactly the next node's snapshot: $(cat "$T/list.json")"
stop_agent
[ ${#LATE_FAIL[@]} = 0 ] || fail "$(printf '%s; ' "${LATE_FAIL[@]}")"
pass "port taken: capture_failed naming it, node alive; after the squatter left the next node was captured"
