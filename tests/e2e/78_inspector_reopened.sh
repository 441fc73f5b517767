#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: no debug port is left open, even when the capture happens while the
# target's main thread is inside one long JS task. A flagless node leaks inside a 10 s
# synchronous task; the agent's SIGUSR1 lands in it. Node then opens its inspector
# through the V8 interrupt at once, and the agent attaches, snapshots and closes the
# inspector, all inside that task. But the SIGUSR1 also queued a libuv async request to
# start the inspector, which runs when the task returns to the event loop: if nothing
# accounts for it, the inspector opens again, after the agent reported it closed, and
# stays open. The test asserts the port is closed once the event loop has turned for
# a second after the task ended (the node's heartbeat), and fails if the capture did
# not happen inside the task (then it would prove nothing).
source "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "no unshare/nsenter"


write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=auto
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
DONE_FILE=$T/app/done HEARTBEAT_FILE=$T/app/beat start_node_netns APP "$APPS/busy_leak.js"

wait_for 60 event_for "$APP" capture_done || fail "not captured"
grep "pid $APP: snapshot .* stored" "$T/agent.err"
wait_for 30 test -s "$T/app/done" || fail "the busy task did not end"
# The capture (its SIGUSR1 follows capture_start) began inside the task: the event's
# time against the time the task ended (both wall clock, ms).
start_time=$(event_line "$APP" capture_start | sed -n 's/.*"time":"\([^"]*\)".*/\1/p')
[ -n "$start_time" ] && start_at=$(date -d "$start_time" +%s%3N) || fail "capture_start has no time"
[ "$start_at" -lt "$(cat "$T/app/done")" ] ||
	fail "the capture started after the busy task: the SIGUSR1 did not land inside it, nothing was tested"
wait_for 30 beat_at_least "$T/app/beat" $(( $(cat "$T/app/done") + 1000 )) ||
	fail "the event loop did not turn after the busy task"
kill -0 "$APP" || fail "the node died"
opened=$(grep -c "Debugger listening" "$T/node.log")
echo "the node opened its inspector $opened time(s)"
if listening_9229 "$APP"; then
	fail "the inspector listens again after the agent closed it (opened $opened times: the SIGUSR1's queued start ran when the task returned to the event loop)"
fi
stop_agent
pass "inspector closed and still closed after the long task ended"
