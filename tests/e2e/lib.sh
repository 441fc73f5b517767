# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the end-to-end tests (sourced). Every wait is bounded.
set -u
ROOT=${HEAPSNAP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
HEAPSNAPD=$BUILD/heapsnapd
HEAPSNAP=$BUILD/heapsnap
APPS=$ROOT/tests/e2e/apps
NODE=${NODE:-/usr/bin/node}
T=$(mktemp -d /tmp/heapsnap-e2e.XXXXXX)
chmod 755 "$T"
# The agents of the tests watch only the nodes of their own test (agent.require_env),
# never other Node processes on the machine.
export HEAPSNAP_TEST=$T
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; [ -f "$T/agent.err" ] && { echo "--- agent stderr"; tail -30 "$T/agent.err"; }; [ -f "$T/agent.out" ] && { echo "--- agent stdout"; tail -30 "$T/agent.out"; }; [ -s "$T/node.log" ] && { echo "--- node.log (the processes the test spawned)"; tail -30 "$T/node.log"; }; exit 1; }
skip() { echo "$*"; exit 77; }
pass() { echo "PASS: $*"; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
# Before a check that something did NOT happen on a node's event loop (an inspector
# opening again, a second snapshot), a witness that the loop had the chance: the app's
# heartbeat (HEARTBEAT_FILE, the time in ms every 200 ms). beat_at_least FILE MS: the
# heartbeat is at MS or later; loop_turned FILE: wait (bounded) until the loop has
# turned for a second from now.
beat_at_least() { [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
loop_turned() { wait_for 30 beat_at_least "$1" $(( $(date +%s%3N) + 1000 )); }
# A part the test could not cover (a Node version that cannot be fetched, …): said when
# it happens; all_covered, at the end, then exits 77 instead of 0, so the run counts a
# skip (a failure under CI=true, tests/run.sh), never a pass that covered less.
NOT_COVERED=()
not_covered() { echo "not covered: $*"; NOT_COVERED+=("$*"); }
all_covered() { [ ${#NOT_COVERED[@]} = 0 ] || skip "the rest passed; not covered: ${NOT_COVERED[*]}"; }

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

# write_config FILE [section.key=value ...]: a config for a test-local store; the
# arguments override the test defaults or add keys. The metrics endpoint is off unless
# a test gives metrics.listen (tests run side by side: no shared port). No baselines
# and no sampling profiler unless a test asks (capture.profile_interval_kb): the
# profiler starts at a process's baseline point even without a baseline snapshot, and
# its inspector session would land in every test's captures.
write_config() {
	local f=$1; shift
	mkdir -p "$T/store" && chmod 700 "$T/store"
	local -A kv=(
		[agent.log_level]=debug [agent.state_socket]=$T/heapsnapd.sock
		[agent.require_env]=HEAPSNAP_TEST=$T [agent.state_file]=$T/heapsnapd.state [agent.lock_file]=$T/heapsnapd.lock
		[trigger.growth_mb]=100 [trigger.rss_mb]=0 [trigger.cooldown_s]=300
		[trigger.max_per_process]=1 [trigger.baseline_pct]=0
		[capture.timeout_s]=120 [capture.start_timeout_s]=10 [capture.profile_interval_kb]=0
		[store.dir]=$T/store [store.min_free_mb]=16
		[metrics.listen]=
	)
	local arg sec key
	for arg in "$@"; do kv[${arg%%=*}]=${arg#*=}; done
	: > "$f"
	for sec in agent trigger capture store alert metrics alertmanager upload; do
		echo "[$sec]" >> "$f"
		for key in "${!kv[@]}"; do
			[ "${key%%.*}" = "$sec" ] && echo "${key#*.} = ${kv[$key]}" >> "$f"
		done
	done
}

# start_agent CONFIG: heapsnapd in the background, stdout (alerts) and stderr (logs) kept.
start_agent() {
	"$HEAPSNAPD" -c "$1" >"$T/agent.out" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
	wait_for 20 grep -q "started:" "$T/agent.err" ||
		fail "agent did not start within 20 s (hung? wchan: $(cat /proc/$AGENT/wchan 2>/dev/null))"
}

# trace_agent_opens FILE: strace the agent's open/openat calls into FILE (STRACE = its
# pid), returning once every thread of the agent has strace as its tracer. With -y: an
# open relative to a /proc/PID directory fd shows as `openat(5</proc/PID>, "environ"`.
trace_agent_opens() {
	strace -f -qq -y -e trace=open,openat -e signal=none -o "$1" -p "$AGENT" 2>"$T/strace.err" &
	STRACE=$!
	PIDS+=("$STRACE")
	wait_for 10 agent_threads_traced || fail "strace did not attach to the agent: $(cat "$T/strace.err")"
}
# opens_in FILE PID [NAME]: how many opens of /proc/PID/NAME the trace FILE holds, by
# path or relative to the process's /proc directory; without NAME every open of
# anything under /proc/PID, the directory itself included.
opens_in() {
	if [ $# = 3 ]; then
		grep -cE "(\"/proc/$2/$3\"|</proc/$2>, \"$3\")" "$1"
	else
		grep -cE "(\"/proc/$2[/\"]|</proc/$2>, )" "$1"
	fi
}
agent_threads_traced() {
	local st
	for st in /proc/"$AGENT"/task/*/status; do
		grep -q "^TracerPid:[[:space:]]*$STRACE\$" "$st" || return 1
	done
}

stop_agent() {
	kill -TERM "$AGENT" 2>/dev/null
	local i
	for i in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$AGENT" 2>/dev/null && fail "agent did not stop within 10 s of SIGTERM"
	wait "$AGENT"
}

# spawn VAR CMD ARGS...: CMD in the background (output to node.log), its pid in VAR,
# killed at exit (CMD must be a program, not a shell function: a function runs in a
# subshell whose child would outlive the kill).
spawn() {
	local var=$1; shift
	"$@" >>"$T/node.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	printf -v "$var" '%s' "$pid"
}
# start_node VAR ARGS...: node in the background, its pid in VAR.
start_node() { local var=$1; shift; spawn "$var" "$NODE" "$@"; }
# start_in_netns VAR CMD ARGS...: CMD in a network namespace of its own with lo up
# (other tests on this host may use the host's 9229); its pid in VAR.
start_in_netns() {
	local var=$1; shift
	spawn "$var" unshare --net bash -c 'ip link set lo up && exec "$@"' node-netns "$@"
}
# start_node_netns VAR ARGS...: start_node in a network namespace of its own.
start_node_netns() { local var=$1; shift; start_in_netns "$var" "$NODE" "$@"; }

# stored_snapshot_ok PID: the store holds a snapshot of PID (the newest if several)
# and `heapsnap get` returns one that parses; otherwise says what is wrong, status 1.
stored_snapshot_ok() {
	local id
	id=$("$HEAPSNAP" --store "$T/store" list --json | nodetool -e '
	  const l = JSON.parse(require("fs").readFileSync(0)).filter(s => s.pid == process.argv[1]);
	  if (l.length) process.stdout.write(l[l.length - 1].id)' "$1")
	[ -n "$id" ] || { echo "no stored snapshot of pid $1"; return 1; }
	"$HEAPSNAP" --store "$T/store" get "$id" -o "$T/$1.heapsnapshot" || { echo "get $id failed"; return 1; }
	snapshot_ok "$T/$1.heapsnapshot" || { echo "snapshot $id of pid $1 does not parse"; return 1; }
}

# signal_unanswered BUSY_MS [SECTION.KEY=VALUE...]: an agent (method = signal,
# start_timeout_s = 2, config $T/hs.ini, plus the given keys) and a node with
# --heapsnapshot-signal, cwd $T/app, that leaks inside one
# synchronous task of BUSY_MS, so the signal the growth trigger sends goes unanswered.
# Returns once the capture gave up, the task still running; APP is the node, $T/done
# appears when the task ends (tests 80, 81).
signal_unanswered() {
	local busy=$1; shift
	write_config "$T/hs.ini" trigger.growth_mb=40 capture.method=signal capture.start_timeout_s=2 "$@"
	start_agent "$T/hs.ini"
	mkdir -p "$T/app"; cd "$T/app" || fail "no app directory"
	LEAK_DELAY_MS=1000 BUSY_MS=$busy DONE_FILE=$T/done start_node APP --heapsnapshot-signal=SIGUSR2 \
		"$APPS/busy_leak.js"
	wait_for 30 event_for "$APP" capture_failed || fail "no capture_failed while the event loop was blocked"
	grep '"event":"capture_failed"' "$T/agent.out"
	grep -q '"event":"capture_failed".*no heap snapshot file appeared' "$T/agent.out" ||
		fail "capture_failed does not say that no file appeared"
	[ -e "$T/done" ] && fail "the blocking task ended before the capture gave up: the test proves nothing"
}

# event_for PID EVENT: the agent emitted EVENT for PID.
event_for() { grep -q "\"event\":\"$2\".*\"pid\":$1[,}]\|\"pid\":$1[,}].*\"event\":\"$2\"" "$T/agent.out"; }

# nodetool ARGS: node for the tests' own checks, outside the agent's scope (without
# the HEAPSNAP_TEST label): a JSON.parse of a big snapshot must not be captured itself.
# event_line PID EVENT: the agent's first EVENT line for PID (empty if none).
event_line() { grep "\"event\":\"$2\".*\"pid\":$1[,}]" "$T/agent.out" | head -1; }
# listening_9229 PID: something listens on port 9229 in PID's network namespace.
listening_9229() { nsenter -t "$1" -n ss -Hltn 'sport = :9229' 2>/dev/null | grep -q .; }
nodetool() { env -u HEAPSNAP_TEST "$NODE" "$@"; }

# snapshot_ok FILE: the decompressed snapshot parses and its node count is whole.
snapshot_ok() {
	nodetool -e '
	  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	  const f = s.snapshot.meta.node_fields.length;
	  if (s.nodes.length !== s.snapshot.node_count * f) { console.error("bad node count"); process.exit(1); }
	  if (s.nodes.length === 0) process.exit(1);' "$1"
}

# The agent's ($AGENT, every thread) CPU and fsyncs: perf stat (task-clock, the syscall
# tracepoints), else /proc/PID/stat (10 ms ticks) and strace -c. agent_counting_start ...
# agent_counting_stop sets FSYNCS, CPU_MS and SPAN (s); COUNTER says which tool counted.
agent_cpu_ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
agent_counting_start() {
	C0=$(agent_cpu_ticks)
	T0=$(date +%s.%N)
	if perf stat -x, -e syscalls:sys_enter_fsync -p "$AGENT" -- true >/dev/null 2>&1; then
		perf stat -x, -e task-clock,syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync -p "$AGENT" -o "$T/fsyncs" &
		COUNTER=perf
	else
		strace -f -c -e trace=fsync,fdatasync -o "$T/fsyncs" -p "$AGENT" 2>/dev/null &
		COUNTER=strace
	fi
	COUNTER_PID=$!
	PIDS+=("$COUNTER_PID")
	sleep 0.5
}
agent_counting_stop() {
	kill -INT "$COUNTER_PID"
	wait "$COUNTER_PID" 2>/dev/null
	SPAN=$(awk "BEGIN{print $(date +%s.%N) - $T0}")
	CPU_MS=$(awk "BEGIN{print ($(agent_cpu_ticks) - $C0) * 1000 / $(getconf CLK_TCK)}")
	if [ "$COUNTER" = perf ]; then
		FSYNCS=$(awk -F, '/sys_enter_f/ { n += $1 } END { print n + 0 }' "$T/fsyncs")
		CPU_MS=$(awk -F, '/task-clock/ { print $1 }' "$T/fsyncs")
	else
		FSYNCS=$(awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 } END { print n + 0 }' "$T/fsyncs")
	fi
}

source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"
