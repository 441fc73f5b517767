#!/usr/bin/env bash
# Fault matrix (issue 6): the agent is SIGKILLed while it captures a flagless node
# through the inspector it opened with SIGUSR1. That inspector (remote code execution
# for anyone on the loopback) must not stay open: the restarted agent finds the
# capture in its journal and closes it; the node lives on.
source "$(dirname "$0")/lib.sh"
need_root

listening() { ss -Hltn 'sport = :9229' | grep -q .; }
listening && skip "port 9229 is in use on this machine"
write_config "$T/hs.ini" trigger.growth_mb=80 capture.method=inspector
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
OBJECTS=1000000 start_node VICTIM "$APPS/objects.js"
cd "$T"
wait_for 60 event_for "$VICTIM" capture_start || fail "no capture_start"
wait_for 20 listening || fail "the inspector never opened"
sleep 1
event_for "$VICTIM" capture_done && fail "the capture finished before the agent could be killed (make the heap bigger)"
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null
listening || echo "note: the inspector was already closed when the agent died"
mv "$T/agent.out" "$T/agent1.out"; mv "$T/agent.err" "$T/agent1.err"

start_agent "$T/hs.ini"
wait_for 30 bash -c "! ss -Hltn 'sport = :9229' | grep -q ." || fail "the inspector left open by the killed agent is still listening"
# The port goes before the agent has seen its connection dropped and logs it.
wait_for 15 grep -q "closed the inspector the previous run opened" "$T/agent.err" ||
	fail "no log line about closing the leftover inspector"
kill -0 "$VICTIM" || fail "the node died"
sleep 2
listening && fail "the inspector opened again"
stop_agent
pass "inspector left open by a killed agent closed by its successor; node alive"
