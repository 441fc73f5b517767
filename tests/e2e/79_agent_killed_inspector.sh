#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the agent is SIGKILLed while it captures a flagless node
# through the inspector it opened with SIGUSR1. That inspector (remote code execution
# for anyone on the loopback) must not stay open: the restarted agent finds the
# capture in its journal and closes it; the node lives on. The connect guard
# dies with the killed agent: no program is left on the cgroup v2 root, a client can
# connect right after the kill, and after the successor closed the inspector a fresh
# client gets into an inspector opened by hand.
source "$(dirname "$0")/lib.sh"
need_root

listening() { ss -Hltn 'sport = :9229' | grep -q .; }
wait_for 120 bash -c "! ss -Hltn 'sport = :9229' | grep -q ." || skip "port 9229 stays in use on this machine"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
guard_attached() { [ -n "$CG2" ] && bpftool cgroup show "$CG2" 2>/dev/null | grep -q "connect[46]"; }
# client LOG: the intruder of e2e/82 as a plain client (nobody) until it attached.
client() {
	mkdir -p "$T/c" && chmod 777 "$T/c"
	setpriv --reuid nobody --regid nogroup --clear-groups env -u HEAPSNAP_TEST LOG="$T/c/$1" HOSTS=127.0.0.1 \
		"$NODE" "$APPS/intruder.js" >>"$T/c/out" 2>&1 &
	CLIENT=$!
	PIDS+=("$CLIENT")
}
write_config "$T/hs.ini" trigger.growth_mb=80 capture.method=inspector
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
OBJECTS=1000000 HEARTBEAT_FILE=$T/app/beat start_node VICTIM "$APPS/objects.js"
cd "$T"
wait_for 60 event_for "$VICTIM" capture_start || fail "no capture_start"
wait_for 20 listening || fail "the inspector never opened"
[ -z "$CG2" ] || guard_attached || fail "no connect guard on $CG2 while the agent's inspector is open"
sleep 1
event_for "$VICTIM" capture_done && fail "the capture finished before the agent could be killed (make the heap bigger)"
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null
wait_for 5 bash -c "! bpftool cgroup show '$CG2' 2>/dev/null | grep -q 'connect[46]'" || fail "the killed agent's connect guard is still attached to $CG2"
if listening; then
	# Nothing blocks the port now: the guard went with the agent (the door is open
	# until the successor closes it, which is what the journal is for).
	client after-kill.log
	wait_for 10 grep -qs '^connected' "$T/c/after-kill.log" || fail "a client cannot connect after the agent died: $(sort "$T/c/after-kill.log" 2>&1 | uniq -c)"
	kill "$CLIENT"; wait "$CLIENT" 2>/dev/null
else
	fail "the inspector was already closed when the agent died: nothing left for the successor to close (make the heap bigger)"
fi
mv "$T/agent.out" "$T/agent1.out"; mv "$T/agent.err" "$T/agent1.err"

start_agent "$T/hs.ini"
wait_for 30 bash -c "! ss -Hltn 'sport = :9229' | grep -q ." || fail "the inspector left open by the killed agent is still listening"
# The port goes before the agent has seen its connection dropped and logs it.
wait_for 15 grep -q "closed the inspector the previous run opened" "$T/agent.err" ||
	fail "no log line about closing the leftover inspector"
kill -0 "$VICTIM" || fail "the node died"
# A start the SIGUSR1 queued would run when the event loop turns: let it turn a second.
loop_turned "$T/app/beat" || fail "the node's event loop does not turn"
listening && fail "the inspector opened again"
guard_attached && fail "a connect guard is left attached after the successor closed the inspector"
# The port works for a fresh client again: an inspector opened by hand lets it in.
kill -USR1 "$VICTIM"
client fresh.log
wait_for 15 grep -qs '^attached' "$T/c/fresh.log" || fail "a fresh client cannot attach afterwards: $(sort "$T/c/fresh.log" 2>&1 | uniq -c)"
kill "$CLIENT"; wait "$CLIENT" 2>/dev/null
stop_agent
pass "inspector left open by a killed agent closed by its successor; its connect guard died with it; a fresh client can attach afterwards; node alive"
