#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What a Prometheus scrape costs the agent: CPU time of heapsnapd (utime + stime from
# /proc/PID/stat) over SCRAPES requests of /metrics while it watches N processes,
# minus the same idle time without scrapes (the loop's own once-a-second publishing).
# N real Node processes cost ~40 MB each; WATCH=sleep watches N `sleep` processes
# instead (node_names = sleep: the same per-process series but no GC ones).
source "$(dirname "$0")/../e2e/lib.sh"
need_root
N=${N:-200}
SCRAPES=${SCRAPES:-200}
WATCH=${WATCH:-node}
PORT=19106
names=node
[ "$WATCH" = sleep ] && names=sleep
write_config "$T/hs.ini" metrics.listen=127.0.0.1:$PORT "agent.node_names=$names" agent.log_level=warn \
	trigger.growth_mb=0 metrics.max_processes=$N
for i in $(seq "$N"); do
	if [ "$WATCH" = sleep ]; then sleep 600 & else "$NODE" -e 'setInterval(() => {}, 1000)' & fi
	PIDS+=($!)
done
sleep 3
"$HEAPSNAPD" -c "$T/hs.ini" >"$T/agent.out" 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/-/ready)" = 200 ]; }
wait_for 60 ready || fail "agent not ready"
watched=$(curl -s http://127.0.0.1:$PORT/metrics | sed -n 's/^heapsnap_watched_processes //p')
cpu() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
tck=$(getconf CLK_TCK)
sleep 2
c0=$(cpu); t0=$(date +%s.%N); sleep 10; c1=$(cpu); t1=$(date +%s.%N)
idle=$(awk "BEGIN{print ($c1 - $c0) / $tck / ($t1 - $t0)}")
bytes=$(curl -s http://127.0.0.1:$PORT/metrics | wc -c)
c0=$(cpu); t0=$(date +%s.%N)
for i in $(seq "$SCRAPES"); do curl -s -o /dev/null http://127.0.0.1:$PORT/metrics; done
c1=$(cpu); t1=$(date +%s.%N)
busy=$(awk "BEGIN{print ($c1 - $c0) / $tck}")
secs=$(awk "BEGIN{print $t1 - $t0}")
per=$(awk "BEGIN{print ($busy - $idle * $secs) / $SCRAPES * 1000}")
printf 'watched %s %s processes; /metrics %d bytes\n' "$watched" "$WATCH" "$bytes"
printf 'idle (loop publishing once a second): %.2f%% of a core\n' "$(awk "BEGIN{print $idle * 100}")"
printf 'per scrape: %.2f ms of agent CPU (%d scrapes in %.1f s; clock tick %d ms)\n' "$per" "$SCRAPES" "$secs" $((1000 / tck))
