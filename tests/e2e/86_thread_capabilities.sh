#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every thread of the agent — the loop, the capture workers, the report thread, the late
# sweep, the metrics server, the alert sender — holds only the capabilities the agent's
# table names (capset changes only the calling thread: threads started before the drop
# kept root's full set), and the bounding set lost the rest, so a command an alert runs
# cannot regain them.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini" metrics.listen=127.0.0.1:19399 alert.webhook=http://127.0.0.1:19398/hook
start_agent "$T/hs.ini"
# The table's capabilities as a CapEff bit mask.
want=0
for c in $(sed -n 's/.*{ CAP_\([A-Z_]*\), "CAP_[A-Z_]*", \(true\|false\) },/\1/p' "$ROOT/agent/daemon/heapsnapd.c"); do
	bit=$(awk -v n="CAP_$c" '$1 == "#define" && $2 == n { print $3 }' /usr/include/linux/capability.h)
	[ -n "$bit" ] || fail "no bit for CAP_$c"
	want=$((want | (1 << bit)))
done
threads=0
for task in /proc/"$AGENT"/task/*; do
	name=$(cat "$task/comm")
	eff=$((16#$(sed -n 's/^CapEff:[[:space:]]*//p' "$task/status")))
	bnd=$((16#$(sed -n 's/^CapBnd:[[:space:]]*//p' "$task/status")))
	printf 'thread %s (%s): CapEff %x CapBnd %x\n' "${task##*/}" "$name" "$eff" "$bnd"
	[ $((eff & ~want)) = 0 ] || fail "thread ${task##*/} ($name) holds capabilities beyond the table: $(printf %x $((eff & ~want)))"
	[ $((bnd & ~want)) = 0 ] || fail "thread ${task##*/} ($name) kept them in its bounding set"
	threads=$((threads + 1))
done
[ "$threads" -ge 4 ] || fail "only $threads threads: the test shows nothing"
stop_agent
pass "$threads threads, each with only the table's capabilities ($(printf %x "$want"))"
