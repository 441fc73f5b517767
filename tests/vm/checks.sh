#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# checks.sh BINDIR WORKDIR: the end-to-end checks the kernel test runs inside each VM
# (from its init) and on the host's own kernel. POSIX sh: in the VM it runs under
# busybox. Prints one "HSVM <check>: PASS|FAIL <detail>" line per check and
# "HSVM DONE <failed count>" at the end; the harness reads them from the console.
#   check    heapsnapd --check exits 0 (the agent can do its core job)
#   agent    heapsnapd starts (RSS probes loaded)
#   rss      a leaking node process crosses the RSS trigger
#   stored   its snapshot is stored (verified on commit) and listed by heapsnap list
#   parsed   heapsnap summary parses the stored snapshot
#   gc       the GC uprobes counted major GCs of that process
#   gc_hash  the same with task storage switched off (the hash-by-thread fallback)
BIN=$1 W=$2
NODE=${NODE:-/usr/bin/node}
failed=0
mkdir -p "$W/store" && chmod 700 "$W/store"
result() { # name rc detail
	if [ "$2" = 0 ]; then echo "HSVM $1: PASS $3"; else echo "HSVM $1: FAIL $3"; failed=$((failed + 1)); fi
}
# wait_for SECONDS CMD...: every 0.2 s until CMD succeeds.
wait_for() {
	tries=$(($1 * 5)); shift
	while ! "$@" >/dev/null 2>&1; do tries=$((tries - 1)); [ $tries -le 0 ] && return 1; sleep 0.2; done
}
cat > "$W/hs.ini" <<INI
[agent]
log_level = info
state_socket = $W/heapsnapd.sock
state_file = $W/heapsnapd.state
lock_file = $W/heapsnapd.lock
require_env = HSVM=1
[trigger]
rss_mb = 160
growth_mb = 0
baseline_pct = 0
leak = off
max_per_process = 1
[capture]
timeout_s = 240
start_timeout_s = 60
[store]
dir = $W/store
min_free_mb = 16
[metrics]
listen =
INI
# Off-heap leak (filled Buffers): RSS grows fast while the heap, and so the snapshot,
# stays small: a snapshot costs per object, and under TCG every cost is ~20x. gc()
# every 300 ms gives the GC probes major collections to count.
cat > "$W/leak.js" <<'JS'
const kept = [];
setInterval(() => { if (kept.length < 40) kept.push(Buffer.alloc(4 << 20, 7)); }, 100);
setInterval(() => gc(), 300);
JS

"$BIN/heapsnapd" --check -c "$W/hs.ini" > "$W/check.txt" 2>&1
rc=$?
sed 's/^/  /' "$W/check.txt"
result check $rc "heapsnapd --check exit $rc"
"$BIN/heapsnapd" --check --json -c "$W/hs.ini" > "$W/check.json" 2>/dev/null
grep -q '"ok": *true' "$W/check.json"
result check_json $? "--check --json says ok"

start_agent() { # log prefix
	"$BIN/heapsnapd" -c "$W/hs.ini" > "$W/$1.out" 2> "$W/$1.err" &
	AGENT=$!
	wait_for 60 sh -c "grep -q started: '$W/$1.err' || ! kill -0 $AGENT"
	grep -q "started:" "$W/$1.err"
}
stop_agent() {
	kill -TERM "$AGENT" 2>/dev/null
	wait_for 20 sh -c "! kill -0 $AGENT"
	wait "$AGENT" 2>/dev/null
}
major_gcs() { # pid: prints its GC_MAJ column from heapsnap ps
	"$BIN/heapsnap" -c "$W/hs.ini" ps | awk -v pid="$1" '$1 == pid { print $6 }'
}
has_majors() { majors=$(major_gcs "$1"); [ -n "$majors" ] && [ "$majors" -gt 0 ]; }

start_agent agent
rc=$?
result agent $rc "heapsnapd started: $(grep -m1 'kernel .*:' "$W/agent.err" | sed 's/.*\] //')"
if [ $rc != 0 ]; then
	# Everything below needs the agent: say why it is not running and stop here.
	tail -5 "$W/agent.err" | sed 's/^/  agent: /'
	kill -KILL "$AGENT" 2>/dev/null
	echo "HSVM DONE $((failed + 1))"
	exit 1
fi
HSVM=1 "$NODE" --expose-gc --heapsnapshot-signal=SIGUSR2 "$W/leak.js" &
LEAKER=$!
wait_for 120 grep -q "\"event\":\"trigger\".*\"pid\":$LEAKER[,}]" "$W/agent.out"
result rss $? "RSS trigger for pid $LEAKER"
wait_for 150 grep -q "\"event\":\"capture_done\".*\"pid\":$LEAKER[,}]" "$W/agent.out"
rc=$?
result capture $rc "capture_done"
if [ $rc != 0 ]; then # what the agent did with it instead
	grep "pid $LEAKER\|\"pid\":$LEAKER[,}]" "$W/agent.err" "$W/agent.out" | tail -8 | cut -c1-300 | sed 's/^/  agent: /'
	ls -la "$(dirname "$W/leak.js")" | sed 's/^/  dir: /'
	for t in /proc/$AGENT/task/*; do echo "  thread $(cat $t/comm) $(cat $t/wchan) $(cut -d' ' -f1 $t/syscall)"; done
	grep -v "rss trigger at\|debug: pid [0-9]*: gc" "$W/agent.err" | tail -25 | cut -c1-250 | sed 's/^/  log: /'
fi
"$BIN/heapsnap" -c "$W/hs.ini" list > "$W/list.txt" 2>&1
id=$(sed -n '2p' "$W/list.txt" | awk '{print $1}')
[ -n "$id" ]
result stored $? "heapsnap list: ${id:-nothing}"
"$BIN/heapsnap" -c "$W/hs.ini" summary "$id" > "$W/summary.txt" 2>&1
result parsed $? "heapsnap summary $id"
has_majors "$LEAKER"
result gc $? "major GCs counted: $(major_gcs "$LEAKER")"
kill -KILL "$LEAKER" 2>/dev/null; wait "$LEAKER" 2>/dev/null
stop_agent
grep -i 'warn\|error' "$W/agent.err" | head -5 | sed 's/^/  agent: /'

# The GC fallback, as on a kernel without task storage for uprobe programs.
HEAPSNAP_FEATURES_OFF=task_storage,task_btf start_agent agent2
HSVM=1 "$NODE" --expose-gc -e 'setInterval(() => gc(), 200)' &
GCER=$!
wait_for 30 has_majors "$GCER"
result gc_hash $? "major GCs counted with task storage off: $(major_gcs "$GCER"); $(grep -c 'hash keyed by thread id' "$W/agent2.err") fallback notice"
"$BIN/heapsnap" -c "$W/hs.ini" ps | sed 's/^/  /'
kill -KILL "$GCER" 2>/dev/null; wait "$GCER" 2>/dev/null
stop_agent
echo "HSVM DONE $failed"
