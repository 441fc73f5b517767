#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile (issue 18): the agent runs in a cgroup namespace (as in a container) whose
# cgroup2 mount is its own subtree, not the hierarchy's root. A connect guard attached
# there sees only the subtree's sockets: before the fix the agent said "ready" and
# opened inspectors that every process outside could reach. Now the guard says it is
# not effective, the inspector route is refused for flagless processes (no
# inspector_unguarded), nobody outside gets a session list, and the signal route goes on.
# (The test unmounts the inherited host mount in its namespace and mounts cgroup2 there
# afresh: the mount then says "/" and /proc/self/cgroup "0::/", as in a container.)
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/door_lib.sh"
need_root
CG=/sys/fs/cgroup/unified
[ -f "$CG/cgroup.procs" ] || { [ "${CI:-}" = true ] && fail "no cgroup2 at $CG"; skip "no cgroup2 at $CG"; }
SUB=$CG/heapsnap-e2e-${T##*.}
mkdir "$SUB" || fail "cannot make $SUB"
trap 'cleanup; rmdir "$SUB" 2>/dev/null' EXIT

write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=auto capture.max_concurrent=2
bash -c 'echo $$ > "$0/cgroup.procs" && exec unshare -C -m bash -c "umount \"\$0\" && mount -t cgroup2 heapsnap-e2e-cg \"\$0\" && exec \"\$@\"" \
	"$1" "$2" -c "$3"' "$SUB" "$CG" "$HEAPSNAPD" "$T/hs.ini" >"$T/agent.out" 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_for 20 grep -q "started:" "$T/agent.err" || fail "agent did not start"
grep -q "inspector connect guard: ready" "$T/agent.err" && fail "the guard says ready below the cgroup root: $(grep 'connect guard' "$T/agent.err")"
grep -q "inspector connect guard unavailable: not effective" "$T/agent.err" || fail "the guard does not say it is not effective"

service SVC daemon "$APPS/leak.js"
door_probe "$SVC" 9229
other_service
wait_for 60 event_for "$SVC" capture_failed || fail "the flagless service was not refused: $(event_line "$SVC" capture_done)"
grep -q "Debugger listening" "$T/node.log" && fail "the agent opened an inspector without an effective guard"
kill -0 "$SVC" || fail "the service died"
other_captured
no_door "$SVC" 9229
stop_agent_fast
pass "a guard below the cgroup root is not effective, said so, and no inspector was opened"
