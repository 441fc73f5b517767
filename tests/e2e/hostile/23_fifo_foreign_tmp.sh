#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile (issue 18): a service run by nobody inside its own user and mount namespace
# (unshare -Urm) bind-mounts a root-owned directory it cannot write over its /tmp. The
# agent, capturing it through the inspector, must not create anything in that
# directory (before the fix it made its FIFO there as root and chowned it to nobody):
# the FIFO goes only where the target's user may create files, else the snapshot comes
# as chunks. An inotify watch on the directory sees every entry made in it.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/door_lib.sh"
need_root
as nobody unshare -Urm true 2>/dev/null || { [ "${CI:-}" = true ] && fail "no unprivileged user namespaces"; skip "no unprivileged user namespaces"; }

mkdir -p "$T/rootdir"; chmod 755 "$T/rootdir"
: > "$T/watch.log"
spawn WATCH env -u HEAPSNAP_TEST "$NODE" -e '
  const fs = require("fs");
  fs.watch(process.argv[1], (ev, name) => fs.appendFileSync(process.argv[2], ev + " " + name + "\n"));
  fs.writeFileSync(process.argv[2] + ".ready", "");' "$T/rootdir" "$T/watch.log"
wait_for 10 test -f "$T/watch.log.ready" || fail "the watch did not start"

write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=auto capture.max_concurrent=2
start_agent "$T/hs.ini"
grep -q "inspector connect guard: ready" "$T/agent.err" || fail "no connect guard here"
mkdir -p "$T/app" && chown nobody "$T/app" && cd "$T/app" || fail "no app directory"
spawn SVC unshare --net bash -c 'ip link set lo up && exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=-all unshare -Urm bash -c "mount --bind \"\$0\" /tmp && exec \"\$@\"" "$0" "$@"' \
	"$T/rootdir" "$NODE" "$APPS/leak.js"
wait_for 10 bash -c "grep -q 'watching pid $SVC ' '$T/agent.err'" || fail "the service is not watched"
door_probe "$SVC" 9229
other_service

wait_for 60 bash -c "grep -q '\"event\":\"capture_\(done\|failed\)\".*\"pid\":$SVC[,}]' '$T/agent.out'" ||
	fail "no capture outcome for the service; what the agent said of it: $(grep "pid $SVC[: ]" "$T/agent.err" | head -20)
$("$HEAPSNAP" -c "$T/hs.ini" ps 2>&1 | head -5); service alive: $(kill -0 "$SVC" 2>&1 && echo yes), RSS: $(grep VmRSS /proc/$SVC/status 2>/dev/null)"
event_for "$SVC" capture_done || fail "the service was not captured: $(event_line "$SVC" capture_failed)"
stored_snapshot_ok "$SVC" || fail "the service's snapshot is not whole"
[ -s "$T/watch.log" ] && fail "the agent created entries in the root-owned directory: $(sort -u "$T/watch.log" | head -5)"
[ -z "$(ls -A "$T/rootdir")" ] || fail "the root-owned directory is not empty: $(ls -A "$T/rootdir")"
kill -0 "$SVC" || fail "the service died"
other_captured
no_door "$SVC" 9229
stop_agent_fast
pass "nothing made in the root-owned directory mounted over the target's /tmp"
