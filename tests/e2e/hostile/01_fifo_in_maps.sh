#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A process named `node` (a copy of sleep) runs with a preloaded libnode.so that its
# owner then deletes and replaces by a FIFO at the path /proc/PID/maps names. The
# agent used to block forever opening that FIFO on its event loop (it never printed
# "started:" and ignored SIGTERM). Now it reads the mapped inode through map_files,
# non-blocking, regular files only: it starts, says the version is unknown, and keeps
# watching and capturing others.
source "$(dirname "$0")/lib.sh"

cp /usr/bin/sleep "$H/node"
lib=$(ldd /usr/bin/sleep | awk '/libc.so/ {print $3}')
cp "$lib" "$H/libnode.so.108"
chown -R "$HOSTILE_UID:$HOSTILE_GID" "$H"
# It inherits HEAPSNAP_TEST, the test agent's require_env: a full candidate.
spawn_nobody fake env LD_PRELOAD="$H/libnode.so.108" "$H/node" 600
wait_for 5 grep -q "libnode.so.108" "/proc/$fake/maps" 2>/dev/null || fail "the fake node did not map the library"
as_nobody rm "$H/libnode.so.108"
as_nobody mkfifo "$H/libnode.so.108 (deleted)"
as_nobody mkfifo "$H/libnode.so.108"
grep -q "libnode.so.108 (deleted)" "/proc/$fake/maps" || fail "maps does not name the deleted library"

write_config "$T/hs.ini"
start_agent "$T/hs.ini"
wait_for 10 grep -q "watching pid $fake " "$T/agent.err" || fail "the fake node is not watched"
grep "watching pid $fake " "$T/agent.err" | grep -q "version unknown" || fail "version of the fake: $(grep "watching pid $fake " "$T/agent.err")"
timeout 10 "$HEAPSNAP" -c "$T/hs.ini" ps >/dev/null || fail "heapsnap ps does not answer"
assert_agent_unharmed
pass "a FIFO in place of a mapped library does not stall the agent"
