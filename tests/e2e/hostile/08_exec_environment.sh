#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An [alert] exec command gets the event in HEAPSNAP_* variables, PATH and LANG, and
# nothing else of the agent's environment: the agent's AWS_* keys (for [upload]) and
# other secrets used to be inherited by every command the alerts run.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/envs" "$T/app"
write_config "$T/hs.ini" alert.exec="env > $T/envs/\$HEAPSNAP_EVENT.\$\$"
AWS_ACCESS_KEY_ID=AKIA-agent AWS_SECRET_ACCESS_KEY=secret-of-the-agent SOME_TOKEN=tok-of-the-agent LANG=C.UTF-8 \
	start_agent "$T/hs.ini"
cd "$T/app"
start_node LEAKER --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 90 event_for "$LEAKER" capture_done || fail "no capture"
wait_for 10 bash -c "ls $T/envs/capture_done.* >/dev/null 2>&1" || fail "the exec command did not run for capture_done"
f=$(ls "$T"/envs/capture_done.* | head -1)
grep -q "secret-of-the-agent\|AKIA-agent\|^AWS_\|tok-of-the-agent" "$f" && fail "the exec command inherited the agent's secrets: $(cat "$f")"
grep -q "^HEAPSNAP_EVENT=capture_done$" "$f" || fail "no HEAPSNAP_EVENT: $(cat "$f")"
grep -q "^PATH=/" "$f" || fail "no PATH: $(cat "$f")"
grep -q "^LANG=C.UTF-8$" "$f" || fail "no LANG: $(cat "$f")"
extra=$(cut -d= -f1 "$f" | grep -v '^HEAPSNAP_\|^PATH$\|^LANG$\|^PWD$\|^SHLVL$\|^_$')
[ -z "$extra" ] || fail "unexpected variables in the exec environment: $extra"
kill -KILL "$LEAKER"
assert_agent_unharmed
pass "exec commands get a clean environment"
