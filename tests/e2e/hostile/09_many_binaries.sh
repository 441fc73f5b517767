#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A user execs many distinct binaries named `node` (copies of sleep, each a new inode):
# each is looked up once (its symbols read: no V8) and the agent keeps what it found
# for at most GC_MAX_BINARIES (64) binaries. The real Node's entry, in use between the
# flood's execs, must survive it (the least recently used goes first): a real node
# exec'ed after 80 distinct fakes is attached from the kept entry, its binary not read
# again. The same holds for its version (kept for as many binaries, least recently used
# first). Watched by strace: the agent opens a known Node's /proc/PID/exe not at all (its
# version and its GC lookup come from one stat of it), once when it reads the binary's
# symbols or version again. And it keeps working.
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || { [ "${CI:-}" = true ] && fail "strace missing"; skip "no strace"; }

write_config "$T/hs.ini"
start_agent "$T/hs.ini"
for i in $(seq 80); do
	mkdir -p "$H/b$i" && cp /usr/bin/sleep "$H/b$i/node"
done
chown -R "$HOSTILE_UID:$HOSTILE_GID" "$H"

real_node() { # a short-lived real node (outliving the agent's set-up deferral), waited for until the agent saw its exit
	local p
	"$NODE" -e 'setTimeout(() => {}, 600)' &
	p=$!
	wait "$p"
	wait_for 10 grep -q "pid $p exited" "$T/agent.err" || fail "the real node $p was not seen exit"
	grep -q "watching pid $p " "$T/agent.err" || fail "the real node $p exited before the agent set it up"
	REAL=$p
}
fakes() { # $1..$2: each fake watched (so looked up) before the next
	local i p
	for i in $(seq "$1" "$2"); do
		spawn_nobody p "$H/b$i/node" 0.5
		wait_for 10 grep -q "watching pid $p " "$T/agent.err" || fail "fake $i (pid $p) is not watched"
	done
}
real_node
fakes 1 40
real_node  # the real binary's entry used again: more recent than the first 40 fakes
fakes 41 80 # 81 distinct binaries: 17 entries evicted, the least recently used first

trace_agent_opens "$T/strace.out"
real_node
kill -INT "$STRACE"
wait "$STRACE" 2>/dev/null
opens=$(opens_in "$T/strace.out" "$REAL" exe)
[ "$(opens_in "$T/strace.out" "$REAL" environ)" = 1 ] || fail "strace did not see the agent read pid $REAL: the test proves nothing"
echo "after 80 distinct fake nodes, the real node's exe opened $opens time(s) at its set-up"
[ "$opens" = 0 ] || fail "the real Node binary was read again after a flood of 80 distinct binaries ($opens opens of its exe)"
grep -q "too many distinct Node binaries" "$T/agent.err" && fail "the binaries' table filled up: $(grep -m1 'too many distinct' "$T/agent.err")"
assert_agent_unharmed
pass "80 distinct binaries named node: the table stays bounded, the real Node's entry kept, the agent unharmed"
