#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the store's file system fills up during a capture. The store
# is a 3 MB tmpfs; a node with ~200k small objects (gzip'ed snapshot ~6 MB) is captured
# through its --heapsnapshot-signal, then a flagless one through the inspector. Each
# capture ends in capture_failed with a disk-full / free-space reason; nothing is
# listed, no temp file is left, the store is empty again, the agent keeps running and
# each node is alive with its event loop still turning (the snapshot writer is not
# left blocked on a reader that went away), and no inspector is left listening. A
# store error does not make the agent try the other route (a second whole snapshot
# that fails the same way).
source "$(dirname "$0")/lib.sh"
need_root

mkdir -p "$T/store" "$T/app"
mount -t tmpfs -o size=3m,mode=700 heapsnap-test-store "$T/store" || skip "cannot mount a tmpfs"
unmount_store() { umount "$T/store" 2>/dev/null || umount -l "$T/store"; }
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; unmount_store; cleanup' EXIT

# Each node in its own network namespace (start_node_netns): its inspector port is its own.

LATE_FAIL=() # failures that do not stop the rest of the test

write_config "$T/hs.ini" trigger.growth_mb=20 store.min_free_mb=1 capture.method=auto
start_agent "$T/hs.ini"

disk_full_reason() { grep "\"event\":\"capture_failed\".*\"pid\":$1[,}]" "$T/agent.out" | grep -qiE 'free space|no space|ENOSPC|disk full|min_free'; }

check_failed_cleanly() { # PID WHAT
	wait_for 60 event_for "$1" capture_failed || fail "$2: no capture_failed"
	event_for "$1" capture_done && fail "$2: capture_done on a full disk"
	disk_full_reason "$1" || fail "$2: capture_failed does not give a disk-full reason: $(grep "\"pid\":$1[,}]" "$T/agent.out" | grep capture_failed)"
	[ "$("$HEAPSNAP" --store "$T/store" list --json)" = "[]" ] || fail "$2: something was listed"
	wait_for 10 bash -c "[ -z \"\$(ls -A '$T/store')\" ]" || fail "$2: files left in the store: $(ls -A "$T/store")"
	kill -0 "$AGENT" 2>/dev/null || fail "$2: the agent died"
	kill -0 "$1" 2>/dev/null || fail "$2: the node died"
	loop_turned "$T/app/beat.$1" || fail "$2: the node's event loop is stuck after the failed capture"
}

cd "$T/app"
OBJECTS=200000 HEARTBEAT_FILE=$T/app/beat start_node_netns SIGNODE --heapsnapshot-signal=SIGUSR2 "$APPS/objects.js"
cd "$T"
# the heartbeat file (one per node) is linked by pid once the pid is known
mv_beat() { [ -f "$2" ] && ln -sf "$2" "$T/app/beat.$1"; }
wait_for 10 mv_beat "$SIGNODE" "$T/app/beat" || fail "the node did not start"
t0=$SECONDS
check_failed_cleanly "$SIGNODE" "signal route"
grep "capture_failed.*\"pid\":$SIGNODE[,}]" "$T/agent.out" | head -1
echo "signal route: failed cleanly in $((SECONDS - t0)) s"
# A full store is not the route's fault: another route would only make the target
# write a second whole snapshot (and open its inspector) to fail the same way.
starts=$(grep -c "\"event\":\"capture_start\".*\"pid\":$SIGNODE[,}]" "$T/agent.out")
[ "$starts" = 1 ] || LATE_FAIL+=("after the store failed on the signal route the agent tried $((starts - 1)) more route(s) (inspector fallback on a store error)")
# The snapshot Node wrote (or goes on writing) for the failed capture is removed.
no_raw_file() { ! compgen -G "$T/app/Heap.*.heapsnapshot" >/dev/null; }
wait_for 30 no_raw_file || LATE_FAIL+=("raw snapshot left in the app dir after the failed capture: $(ls "$T"/app/Heap.*.heapsnapshot)")

cd "$T/app"
OBJECTS=200000 HEARTBEAT_FILE=$T/app/beat-insp start_node_netns INSPNODE "$APPS/objects.js"
cd "$T"
wait_for 10 mv_beat "$INSPNODE" "$T/app/beat-insp" || fail "the flagless node did not start"
t0=$SECONDS
check_failed_cleanly "$INSPNODE" "inspector route"
grep "capture_failed.*\"pid\":$INSPNODE[,}]" "$T/agent.out" | head -1
echo "inspector route: failed cleanly in $((SECONDS - t0)) s"
# The port must stay closed, not just close for a moment: a start the SIGUSR1 queued
# would run when the event loop turns, so each node's loop turns for a second first.
for pid in "$SIGNODE" "$INSPNODE"; do
	loop_turned "$T/app/beat.$pid" || fail "the event loop of pid $pid did not turn"
done
for pid in "$SIGNODE" "$INSPNODE"; do
	listening_9229 "$pid" && fail "an inspector is left listening in the namespace of pid $pid after the failed capture"
done

ls /tmp/.heapsnap-"$AGENT"-* 2>/dev/null && fail "the inspector route's FIFO is left in the target's /tmp"
stop_agent
[ -z "$(ls -A "$T/store")" ] || fail "files left in the store after stop: $(ls -A "$T/store")"
[ ${#LATE_FAIL[@]} = 0 ] || fail "${LATE_FAIL[*]}"
pass "disk full: capture_failed with a free-space reason on both routes, nothing stored, agent and nodes alive"
