#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What exec churn costs the agent: RATE short-lived `node -e 0` processes a second for
# SECS seconds (npm scripts, CLIs and build jobs do this), each one watched from its exec
# to its exit (set up, its /proc read, only if it outlives AGENT_DEFER_MS: how many were
# is printed; LIFE_MS=N makes each node live N ms, to measure the set-up's cost too).
# Prints the agent's CPU per process (perf stat's task-clock of heapsnapd, or
# /proc/PID/stat, over the churn, minus its idle rate over as long without churn), its
# fsyncs over the churn (perf stat on the syscall tracepoints, or strace -c), and the
# node processes' own CPU per process with the agent and without it (the agent must not
# slow what it watches). Goal (issue 10): <= 0.5 ms of agent CPU per process and a
# handful of fsyncs whatever the rate. Other agents and nodes on a shared host do not
# count: the agent watches only this script's nodes (require_env), and only they are
# counted; rerun when the host is busy. Root. RATE=10 SECS=10 by default.
source "$(dirname "$0")/../e2e/lib.sh"
need_root
RATE=${RATE:-10}
SECS=${SECS:-10}
N=$((RATE * SECS))
GAP=$(awk "BEGIN{print 1 / $RATE}")
LIFE_MS=${LIFE_MS:-0}
SCRIPT=0
[ "$LIFE_MS" = 0 ] || SCRIPT="setTimeout(() => {}, $LIFE_MS)"

# churn: N nodes, one every GAP s; prints their own CPU time (s, user + system).
churn() {
	(
		for _ in $(seq "$N"); do
			"$NODE" -e "$SCRIPT" &
			sleep "$GAP"
		done
		wait
		times >"$T/times" # a builtin: in a pipe it would run in a subshell without these children
		awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$T/times"
	)
}
write_config "$T/hs.ini" agent.log_level=info
bare=$(churn)
start_agent "$T/hs.ini"
"$NODE" -e "setTimeout(() => {}, 600)" # the first exec of a binary set up (it outlives the deferral) reads its symbols (once per binary)
sleep 3
agent_counting_start; sleep "$SECS"; agent_counting_stop
idle=$(awk "BEGIN{print $CPU_MS / 1000 / $SPAN}")

seen0=$(grep -c "watching pid" "$T/agent.err")
agent_counting_start
watched_cpu=$(churn)
sleep 1 # the last exits reach the agent
agent_counting_stop
seen=$(($(grep -c "watching pid" "$T/agent.err") - seen0))
busy=$(awk "BEGIN{print $CPU_MS / 1000 - $idle * $SPAN}")
stop_agent

printf '%d short-lived nodes (%d/s for %d s, each living %s), %d of them set up by the agent\n' "$N" "$RATE" \
	"$SECS" "$([ "$LIFE_MS" = 0 ] && echo "as long as node -e 0" || echo "$LIFE_MS ms + start-up")" "$seen"
printf 'agent CPU per process: %.2f ms (per process exec'"'"'ed; idle: %.2f%% of a core; measured by %s)\n' \
	"$(awk "BEGIN{print $busy / $N * 1000}")" "$(awk "BEGIN{print $idle * 100}")" "$COUNTER"
printf 'agent fsyncs during the churn: %d (%.2f per process; counted by %s)\n' "$FSYNCS" "$(awk "BEGIN{print $FSYNCS / $N}")" "$COUNTER"
printf 'node CPU per process: %.1f ms watched, %.1f ms without the agent (ratio %.2f)\n' \
	"$(awk "BEGIN{print $watched_cpu / $N * 1000}")" "$(awk "BEGIN{print $bare / $N * 1000}")" \
	"$(awk "BEGIN{print ($bare > 0 ? $watched_cpu / $bare : 0)}")"
# The table's figure: the agent's CPU per process against the anchor measured in the same
# run, the watched process's own CPU without the agent (goal 0.5 ms per ~120-170 ms node).
printf 'FIGURE agent CPU per exec / node CPU per exec (no agent): %.4f (%.2f ms / %.1f ms)\n' \
	"$(awk "BEGIN{print ($bare > 0 ? $busy / $bare : 0)}")" \
	"$(awk "BEGIN{print $busy / $N * 1000}")" "$(awk "BEGIN{print $bare / $N * 1000}")"
