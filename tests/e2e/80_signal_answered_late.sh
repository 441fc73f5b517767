#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the signal comes while the app's event loop is blocked (a long
# synchronous task that leaks). Node's --heapsnapshot-signal handler runs on the event
# loop, so the capture gives up after start_timeout_s (2 s here) and Node writes its
# snapshot only when the task ends (12 s): that late file must not stay in the app's
# directory. The agent removes it as it appears, sends no second signal while the
# first is unanswered (ps shows it), the app lives, nothing is stored.
source "$(dirname "$0")/lib.sh"
need_root

signal_unanswered 12000 trigger.max_per_process=2 trigger.cooldown_s=0
"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
  const p = JSON.parse(require("fs").readFileSync(0)).find(x => x.pid == process.argv[1]);
  if (!p || !(p.signal_unanswered_s >= 0) || !/signal unanswered/.test(p.route)) {
    console.error(JSON.stringify(p)); process.exit(1); }' "$APP" ||
	fail "heapsnap ps does not show the unanswered signal"
# The leak goes on: the next trigger must not signal again (Node would write a second
# snapshot right after the first once its loop frees up).
wait_for 15 grep -q '"event":"capture_failed".*no capture route: the heap snapshot signal sent .* still unanswered' \
	"$T/agent.out" || fail "the second trigger did not fail for the unanswered signal"
wait_for 30 test -e "$T/done" || fail "the app's blocking task did not end"
wait_for 20 grep -q "removed the heap snapshot $T/app/Heap\..*\.heapsnapshot Node began" "$T/agent.err" ||
	fail "the agent did not remove the late snapshot file"
grep "removed the heap snapshot" "$T/agent.err"
sleep 1
left=$(ls "$T/app" | grep '^Heap\.' || true)
[ -z "$left" ] || fail "late snapshot file left in the app's directory: $left"
ls "$T"/heapsnapd.state.capture.* >/dev/null 2>&1 && fail "the journal of the answered signal was left behind"
[ "$(grep -c "removed the heap snapshot" "$T/agent.err")" = 1 ] || fail "Node wrote more than one late snapshot"
kill -0 "$APP" || fail "the app died"
kill -0 "$AGENT" || fail "the agent died"
[ "$("$HEAPSNAP" --store "$T/store" list --json)" = "[]" ] || fail "something was stored"
stop_agent
pass "signal answered late: capture_failed after start_timeout_s, the late file removed as it appeared, app alive"
