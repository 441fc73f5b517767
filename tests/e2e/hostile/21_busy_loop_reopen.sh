#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile (issue 18): a flagless service, run by daemon, whose event loop is busy for
# BUSY_S seconds (one long synchronous task: benign) when the agent captures it through
# the inspector. The SIGUSR1 opens the inspector at once (a V8 interrupt) and also
# queues a start on the event loop. The agent must keep the guard until that loop has
# turned after the close: before the fix it gave up waiting after 10 s, closed, lifted
# the guard, and the queued start reopened 9229 when the task ended, for anyone.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/door_lib.sh"
need_root
BUSY_S=${BUSY_S:-25}

write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=inspector capture.max_concurrent=2 capture.timeout_s=120
start_agent "$T/hs.ini"
grep -q "inspector connect guard: ready" "$T/agent.err" || fail "no connect guard here"
LEAK_DELAY_MS=3000 BUSY_MS=$((BUSY_S * 1000)) DONE_FILE=$T/app/done service SVC daemon "$APPS/busy_leak.js"
door_probe "$SVC" 9229
other_service

wait_for $((BUSY_S + 60)) bash -c "grep -q '\"event\":\"capture_\(done\|failed\)\".*\"pid\":$SVC[,}]' '$T/agent.out'" ||
	fail "no capture outcome for the service"
event_for "$SVC" capture_done || fail "the service was not captured: $(event_line "$SVC" capture_failed)"
test -f "$T/app/done" || fail "the capture ended before the busy task did: the guard was not held until the loop turned"
wait_for 10 bash -c "! nsenter -t $SVC -n ss -Hltn 'sport = :9229' | grep -q ." || fail "the inspector listens after the capture"
grep -q "pid $SVC: the inspector was open [0-9]* ms (SIGUSR1 to closed)" "$T/agent.err" || fail "the close was not confirmed"
kill -0 "$SVC" || fail "the service died"
other_captured
no_door "$SVC" 9229
listening "$SVC" 9229 && fail "the inspector reopened after the busy task"
stop_agent_fast
pass "the guard was held until the busy loop turned and the inspector was closed; it did not reopen"
