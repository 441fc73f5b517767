#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A process's command line may hold any bytes: a script argument with invalid UTF-8
# becomes the `app` label of its series. Prometheus refuses the whole scrape for one
# invalid label value ("invalid UTF-8 label value"), so one user's process would blind
# the host's monitoring. The label is made valid (U+FFFD) and promtool check metrics
# passes on the live endpoint.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool missing: run 'make test-deps'"
PORT=19140

mkdir -p "$H/app"
# node itself turns the invalid byte into U+FFFD when it opens the script: give it that
# file; /proc/PID/cmdline keeps the raw \xff.
cp "$APPS/stable.js" "$H/app/bad"$'\xef\xbf\xbd'".js"
chown -R "$HOSTILE_UID:$HOSTILE_GID" "$H"
write_config "$T/hs.ini" metrics.listen=127.0.0.1:$PORT
start_agent "$T/hs.ini"
cd "$H/app"
spawn_nobody BAD "$NODE" "$H/app/bad"$'\xff'".js"
cd "$T"
wait_for 20 grep -q "watching pid $BAD " "$T/agent.err" || fail "the process is not watched"
tr '\0' ' ' < /proc/$BAD/cmdline | grep -q $'\xff' || fail "the command line lost its invalid byte: the test proves nothing"
wait_for 20 bash -c "curl -s -m 5 http://127.0.0.1:$PORT/metrics | grep -q 'pid=\"$BAD\"'" || fail "no series for the process"
curl -s -m 5 http://127.0.0.1:$PORT/metrics > "$T/metrics.txt"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.out" 2>&1 || fail "promtool check metrics: $(cat -v "$T/promtool.out")"
grep -q "pid=\"$BAD\",app=\"bad"$'\xef\xbf\xbd'"\"" "$T/metrics.txt" || fail "label: $(grep "pid=\"$BAD\"" "$T/metrics.txt" | head -1 | cat -v)"
kill -KILL "$BAD"
assert_agent_unharmed
pass "an invalid UTF-8 command line gives a valid label; promtool accepts the scrape"
