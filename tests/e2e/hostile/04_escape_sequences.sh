#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A watched process's owner chooses its executable's path, its script's name, its
# arguments and the names of the libraries it maps: terminal escape sequences (set the
# window title, clear the screen, recolour) and invalid UTF-8 in any of them reach the
# agent's log, `heapsnap ps` and `heapsnap show` only escaped ("\x1b"), never as raw
# control bytes; ps --json stays valid.
source "$(dirname "$0")/lib.sh"

ESC=$'\e'
evil="$ESC]0;pwned$ESC\\$ESC[2J$ESC[31m"$'\xff'
mkdir -p "$H/$evil" "$H/app"
cp "$NODE" "$H/$evil/node"
script="$ESC]0;pwned$ESC[31m"   # node turns invalid UTF-8 in a script name into U+FFFD
sed 's/^/ /' "$APPS/leak.js" > "$H/app/$script.js"
cp /usr/bin/sleep "$H/$evil/sleepy"
mkdir -p "$H/fake" && cp /usr/bin/sleep "$H/fake/node"
cp "$(ldd /usr/bin/sleep | awk '/libc.so/ {print $3}')" "$H/$evil/libnode.so.108"
chown -R "$HOSTILE_UID:$HOSTILE_GID" "$H"

write_config "$T/hs.ini"
start_agent "$T/hs.ini"
cd "$H/app"
spawn_nobody LEAKY "$H/$evil/node" --heapsnapshot-signal=SIGUSR2 "$H/app/$script.js" "arg$ESC[5m"$'\xfe'
# a fake node mapping a libnode.so.108 from the same directory: its GC probe reason
# (in `heapsnap ps`) names that path
spawn_nobody FAKE env LD_PRELOAD="$H/$evil/libnode.so.108" "$H/fake/node" 600
cd "$T"
wait_for 20 grep -q "watching pid $LEAKY " "$T/agent.err" || fail "the hostile node is not watched"
wait_for 20 grep -q "watching pid $FAKE " "$T/agent.err" || fail "the fake node is not watched"
wait_for 90 event_for "$LEAKY" capture_done || fail "the hostile node was not captured"

raw() { grep -c "$ESC" "$1"; }
[ "$(raw "$T/agent.err")" = 0 ] || fail "raw ESC bytes in the agent's log: $(grep -a "$ESC" "$T/agent.err" | cat -v | head -3)"
grep -q 'watching pid '"$LEAKY"' (.*\\x1b\]0;pwned' "$T/agent.err" || fail "the log does not show the path escaped"
timeout 10 "$HEAPSNAP" -c "$T/hs.ini" ps > "$T/ps.txt" || fail "heapsnap ps failed"
[ "$(raw "$T/ps.txt")" = 0 ] || fail "raw ESC bytes in heapsnap ps: $(cat -v "$T/ps.txt")"
grep -q 'x1b' "$T/ps.txt" || fail "heapsnap ps does not show the fake's library path (escaped): $(cat "$T/ps.txt")"
timeout 10 "$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e 'JSON.parse(require("fs").readFileSync(0))' ||
	fail "heapsnap ps --json is not JSON"
id=$("$HEAPSNAP" --store "$T/store" list --json | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0)).filter(s => s.pid == process.argv[1]);
  process.stdout.write(l.length ? l[0].id : "")' "$LEAKY")
[ -n "$id" ] || fail "no stored snapshot of the hostile node"
"$HEAPSNAP" --store "$T/store" show "$id" > "$T/show.txt" || fail "heapsnap show failed"
[ "$(raw "$T/show.txt")" = 0 ] || fail "raw ESC bytes in heapsnap show: $(cat -v "$T/show.txt")"
grep -q '^cmdline: .*\\x1b\[5m' "$T/show.txt" || fail "heapsnap show does not show the argument escaped: $(cat "$T/show.txt")"
"$HEAPSNAP" --store "$T/store" list > "$T/list.txt" || fail "heapsnap list failed"
[ "$(raw "$T/list.txt")" = 0 ] || fail "raw ESC bytes in heapsnap list"
kill -KILL "$LEAKY" "$FAKE" 2>/dev/null
assert_agent_unharmed
[ "$(raw "$T/agent.err")" = 0 ] || fail "raw ESC bytes in the agent's log"
pass "escape sequences and invalid UTF-8 from a process reach terminals and logs escaped"
