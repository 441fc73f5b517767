#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end: a leaking node started with no flags at all — on the host, and in
# its own pid+mount+net namespaces — is captured through the inspector the agent opens
# with SIGUSR1; the snapshot verifies, the process lives on, and no inspector is left
# listening afterwards.
source "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null || skip "no unshare"


write_config "$T/hs.ini" capture.method=auto
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"

start_node HOSTNODE "$APPS/leak.js"
wait_for 60 event_for "$HOSTNODE" capture_done || fail "flagless host node not captured"
grep -q "\"pid\":$HOSTNODE,.*\"method\":\"inspector\"" "$T/agent.out" || fail "not captured through the inspector"
kill -0 "$HOSTNODE" || fail "the captured process died"
wait_for 10 bash -c "! nsenter -t $HOSTNODE -n ss -Hltn 'sport = :9229' | grep -q ." || fail "inspector left open on the host"

# Its own namespaces: the inspector listens on that namespace's loopback.
unshare --pid --mount --net --fork bash -c "ip link set lo up; exec $NODE $APPS/leak.js" >>"$T/node.log" 2>&1 &
PIDS+=($!)
wait_for 10 bash -c "pgrep -f -P $! 'leak.js' >/dev/null" || fail "namespaced node did not start"
NSNODE=$(pgrep -f -P $! 'leak.js')
PIDS+=("$NSNODE")
wait_for 60 event_for "$NSNODE" capture_done || fail "namespaced node not captured"
kill -0 "$NSNODE" || fail "the namespaced process died"
wait_for 10 bash -c "! nsenter -t $NSNODE -n ss -Hltn 'sport = :9229' | grep -q ." || fail "inspector left open in the namespace"

for pid in "$HOSTNODE" "$NSNODE"; do
	stored_snapshot_ok "$pid" || fail "pid $pid not captured whole (see above)"
done
stop_agent
pass "flagless node captured on the host and in its own namespaces; inspector closed"
