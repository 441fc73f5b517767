#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault matrix: the app handles SIGUSR1 itself, so the signal does not open
# its inspector. A flagless leaking node with process.on('SIGUSR1') is triggered: the
# capture ends in capture_failed with the "may handle SIGUSR1 itself" reason within
# capture.start_timeout_s (3 s here, plus slack), the app is alive, its handler ran,
# no inspector listens, nothing is stored, and the agent is still running.
source "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "no unshare/nsenter"

event_ms() { # the event's "time" in ms since the epoch
	nodetool -e 'console.log(Date.parse(JSON.parse(process.argv[1]).time))' "$1"
}

write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=auto capture.start_timeout_s=3
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app"
HANDLED_FILE=$T/app/handled start_node_netns APP "$APPS/sigusr1_app.js"

wait_for 60 event_for "$APP" capture_failed || fail "no capture_failed for the app that handles SIGUSR1"
start=$(event_line "$APP" capture_start)
failed=$(event_line "$APP" capture_failed)
echo "$failed"
[ -n "$start" ] || fail "no capture_start before the failure"
case $failed in *"may handle SIGUSR1 itself"*) ;; *) fail "capture_failed does not give the SIGUSR1-handled reason";; esac
took=$(( $(event_ms "$failed") - $(event_ms "$start") ))
echo "capture_start -> capture_failed: $took ms (start_timeout_s = 3)"
[ "$took" -ge 2500 ] && [ "$took" -le 5000 ] || fail "the failure came after $took ms, not about start_timeout_s (3 s)"
event_for "$APP" capture_done && fail "capture_done"
sleep 1
kill -0 "$APP" || fail "the app died"
[ -s "$T/app/handled" ] || fail "the app's SIGUSR1 handler did not run"
[ "$(wc -l <"$T/app/handled")" = 1 ] || fail "the app got $(wc -l <"$T/app/handled") SIGUSR1s, expected 1"
listening_9229 "$APP" && fail "an inspector listens in the app's namespace"
grep -q "Debugger listening" "$T/node.log" && fail "the app opened its inspector"
kill -0 "$AGENT" || fail "the agent died"
[ "$("$HEAPSNAP" --store "$T/store" list --json)" = "[]" ] || fail "something was stored"
stop_agent
pass "SIGUSR1 handled by the app: capture_failed after ${took} ms with the right reason, app alive, handler ran once"
