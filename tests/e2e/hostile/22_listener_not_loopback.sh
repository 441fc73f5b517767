#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile (issue 18): a service, run by daemon, opens its own inspector on every
# interface (0.0.0.0:9229) at start. The agent must not use it (it was mapped to
# 127.0.0.1 and used before the fix): the capture is refused and says why, the agent
# never attaches ("Debugger attached." never appears), and it goes on capturing others.
# The door here is the app's own, so "no door" means the agent opened none besides it.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/door_lib.sh"
need_root

write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=auto capture.max_concurrent=2
start_agent "$T/hs.ini"
service SVC daemon "$HAPPS/open_anywhere_leak.js"
other_service
wait_for 10 listening "$SVC" 9229 || fail "the service did not open its inspector"

wait_for 60 event_for "$SVC" capture_failed || fail "the capture was not refused: $(event_line "$SVC" capture_done)"
event_line "$SVC" capture_failed | grep -q "not on loopback" || fail "the refusal does not say why: $(event_line "$SVC" capture_failed)"
event_for "$SVC" capture_done && fail "captured through an inspector listening on 0.0.0.0"
grep -q "Debugger attached" "$T/node.log" && fail "the agent attached to the inspector on 0.0.0.0"
kill -0 "$SVC" || fail "the service died"
other_captured
[ "$(nsenter -t "$SVC" -n ss -Hltn | wc -l)" = 1 ] || fail "the service listens on more than its own inspector: $(nsenter -t "$SVC" -n ss -Hltn)"
stop_agent_fast
pass "an inspector on 0.0.0.0 refused and reported, never attached to"
