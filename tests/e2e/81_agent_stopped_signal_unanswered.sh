#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the agent is stopped while a process has not answered its heap snapshot
# signal yet (event loop blocked, as in test 80). Node writes the snapshot while no
# agent runs; the next run of the agent (same state_file) finds the journal of that
# signal, stores the snapshot whole and removes the raw file from the app's directory.
source "$(dirname "$0")/lib.sh"
need_root

signal_unanswered 14000
stop_agent
[ -e "$T/done" ] && fail "the blocking task ended before the agent stopped: the test proves nothing"
grep -q "pid $APP: has not answered its heap snapshot signal yet" "$T/agent.err" ||
	fail "the stopping agent did not say it leaves the unanswered signal to its next run"
ls "$T"/heapsnapd.state.capture."$APP".unanswered >/dev/null || fail "no journal of the unanswered signal"

wait_for 30 test -e "$T/done" || fail "the app's blocking task did not end"
wait_for 20 bash -c "ls '$T/app' | grep -q '^Heap\.'" || fail "Node did not write its snapshot"
sleep 2 # Node writes it synchronously; let it finish while no agent runs
mv "$T/agent.out" "$T/agent1.out"; mv "$T/agent.err" "$T/agent1.err"
start_agent "$T/hs.ini"
wait_for 30 event_for "$APP" capture_done || fail "the next run did not store the snapshot written while it was down"
grep '"event":"capture_done"' "$T/agent.out"
"$HEAPSNAP" --store "$T/store" list --json | nodetool -e '
  process.exit(JSON.parse(require("fs").readFileSync(0)).length === 1 ? 0 : 1)' ||
	fail "expected exactly one stored snapshot"
stored_snapshot_ok "$APP" || fail "the snapshot written while the agent was down is not whole (see above)"
left=$(ls "$T/app" | grep '^Heap\.' || true)
[ -z "$left" ] || fail "raw snapshot file left in the app's directory: $left"
kill -0 "$APP" || fail "the app died"
stop_agent
pass "agent stopped with a signal unanswered: the snapshot written meanwhile stored by its next run, raw file removed"
