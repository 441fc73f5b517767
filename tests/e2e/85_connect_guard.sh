#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The connect guard's kernel semantics, connect by connect
# (tests/e2e/guard_check.c): every destination that reaches a loopback listener on the
# guarded port (127/8, 0.0.0.0, ::1, ::, ::ffff:127.0.0.1, TCP Fast Open) is refused,
# the agent's allowed socket, other ports, UDP and other network namespaces are not;
# the programs are on the cgroup v2 root only while a guard is armed. Ports 19360-19361.
source "$(dirname "$0")/lib.sh"
need_root
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || skip "no cgroup v2 mounted"
cd "$ROOT" || fail "no checkout"
CHECK=$BUILD/e2e/guard_check
make -s BUILD="$BUILD" "$CHECK" >/dev/null || fail "cannot build guard_check"
attached() { bpftool cgroup show "$CG2" 2>/dev/null | grep -c "connect[46]"; }
before=$(attached)

"$CHECK" 19360 wait > "$T/check.out" 2>&1 &
PIDS+=($!)
wait_for 20 grep -q "^waiting" "$T/check.out" || { cat "$T/check.out"; fail "guard_check did not finish its checks"; }
cat "$T/check.out"
grep -q '^FAIL' "$T/check.out" && fail "the guard's semantics are wrong (above)"
[ "$(attached)" = "$before" ] || fail "a program is still attached to $CG2 after the last guard was lifted"
kill "${PIDS[-1]}"
"$CHECK" 19360 > "$T/check2.out" 2>&1 || { cat "$T/check2.out"; fail "guard_check failed on its second run"; }
pass "connect guard: loopback forms and TCP Fast Open refused on the guarded port, own socket/other port/UDP/other netns allowed, nothing attached once lifted"
