#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile (issue 18): a flagless service, run by daemon, sets process.debugPort = 9333
# at start. SIGUSR1 then opens its inspector on 9333, not on 9229. The agent must find
# the inspector among the target's own sockets (not from its command line), guard that
# port while it opens and while the capture holds it, and close it afterwards; nobody,
# probing 9333 all along, never gets a session list. Before the fix the agent waited
# for 9229, gave up ("SIGUSR1 did not open the inspector within 10s") and left 9333
# open to every local user.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/door_lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=auto capture.max_concurrent=2 capture.timeout_s=60
start_agent "$T/hs.ini"
grep -q "inspector connect guard: ready" "$T/agent.err" || fail "no connect guard here"
service SVC daemon "$HAPPS/debugport_leak.js"
door_probe "$SVC" 9333
other_service

wait_for 60 bash -c "grep -q '\"event\":\"capture_\(done\|failed\)\".*\"pid\":$SVC[,}]' '$T/agent.out'" ||
	fail "no capture outcome for the service"
event_for "$SVC" capture_done || fail "the service was not captured: $(event_line "$SVC" capture_failed)"
grep -q "pid $SVC: its inspector opened on port 9333" "$T/agent.err" || fail "the agent did not say where the inspector opened"
wait_for 10 bash -c "! nsenter -t $SVC -n ss -Hltn 'sport = :9333' | grep -q ." || fail "the inspector on 9333 was left open"
kill -0 "$SVC" || fail "the service died"
stored_snapshot_ok "$SVC" || fail "the service's snapshot is not whole"
other_captured
no_door "$SVC" 9333
no_door "$SVC" 9229
stop_agent_fast
no_door "$SVC" 9333
pass "inspector moved by process.debugPort found, guarded, captured and closed; nobody never got in"
