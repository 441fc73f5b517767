#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Nobody else enters through the door the agent opens. A flagless service
# running as `daemon` is captured through the inspector the agent opens with SIGUSR1,
# while an intruder running as `nobody` polls 127.0.0.1:9229 (and 0.0.0.0,
# ::ffff:127.0.0.1, localhost) every 20 ms to attach and evaluate process.getuid():
# on the host, then with the service and the intruder in the service's own network
# namespace. The capture succeeds, the intruder's connect() is refused (EPERM, the
# guard) and it never gets a session; once the capture is over the guard is gone (no
# program left on the cgroup v2 root) and the same intruder, as a normal client, gets
# into an inspector opened by hand: the port is usable again. A node started with
# --inspect (the operator's inspector) is shown unguarded in `heapsnap ps`.
source "$(dirname "$0")/lib.sh"
need_root
id daemon >/dev/null 2>&1 && id nobody >/dev/null 2>&1 || skip "needs the users daemon and nobody"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || skip "no cgroup v2 mounted: the guard cannot work here (e2e/83 covers that)"

# Another test may hold 9229 on the host for a while: wait (bounded) for it.
port_busy() { ss -Hltn 'sport = :9229' | grep -q .; }
wait_for 120 bash -c "! ss -Hltn 'sport = :9229' | grep -q ." || skip "port 9229 stays in use on this machine"

guard_attached() { bpftool cgroup show "$CG2" 2>/dev/null | grep -q "connect[46]"; }
guard_attached && fail "a connect4/6 program is attached to $CG2 before the agent started (another agent?)"

write_config "$T/hs.ini" trigger.growth_mb=0 trigger.rss_mb=80 capture.method=inspector
start_agent "$T/hs.ini"
grep -q "inspector connect guard: ready (cgroup v2 root $CG2)" "$T/agent.err" || fail "the agent did not report its connect guard ready"
guard_attached && fail "the guard is attached while no capture runs"
mkdir -p "$T/app" "$T/intr" && chmod 777 "$T/intr"
cd "$T/app" || fail "no app directory"

# as USER [NETNS_PID] CMD...: run CMD as USER (optionally in the network namespace of
# NETNS_PID), outside the agent's scope unless HEAPSNAP_TEST is passed on purpose.
intruder() { # LOG [NETNS_PID]
	local log=$1 ns=${2:-}
	local cmd=(setpriv --reuid nobody --regid nogroup --clear-groups env -u HEAPSNAP_TEST LOG="$log" "$NODE" "$APPS/intruder.js")
	if [ -n "$ns" ]; then nsenter -t "$ns" -n "${cmd[@]}" >>"$T/intr/out" 2>&1 &
	else "${cmd[@]}" >>"$T/intr/out" 2>&1 &
	fi
	INTRUDER=$!
	PIDS+=("$INTRUDER")
}

# check_guarded NAME PID LOG: the capture of PID succeeded, the intruder was refused by
# the guard and never connected, the guard is gone, and the port works again.
check_guarded() {
	local name=$1 pid=$2 log=$3
	wait_for 90 event_for "$pid" capture_done || { event_for "$pid" capture_failed && grep capture_failed "$T/agent.out"; fail "$name: not captured"; }
	local done_line window
	done_line=$(grep "\"event\":\"capture_done\".*\"pid\":$pid[,}]" "$T/agent.out")
	echo "$done_line" | grep -q '"method":"inspector"' || fail "$name: not captured through the inspector"
	window=$(echo "$done_line" | grep -o '"inspector_window_ms":[0-9]*' | cut -d: -f2)
	[ -n "$window" ] || fail "$name: capture_done has no inspector_window_ms: $done_line"
	local id
	id=$(echo "$done_line" | grep -o '"snapshot_id":"[^"]*"' | cut -d'"' -f4)
	grep -q "\"inspector_window_ms\": $window\b" "$T/store/$id.json" || fail "$name: the snapshot's metadata has no inspector_window_ms $window: $(cat "$T/store/$id.json")"
	wait_for 10 bash -c "! nsenter -t $pid -n ss -Hltn 'sport = :9229' | grep -q ." || fail "$name: inspector left open"
	sleep 0.5 # a few more intruder rounds against the closed port
	kill "$INTRUDER" 2>/dev/null; wait "$INTRUDER" 2>/dev/null
	local eperm refused connected attached
	eperm=$(grep -c '^refused EPERM' "$log"); refused=$(grep -c '^refused' "$log")
	connected=$(grep -c '^connected' "$log"); attached=$(grep -c '^attached' "$log")
	echo "$name: window ${window} ms; intruder: $refused refused ($eperm by the guard), $connected connected, $attached attached"
	[ "$connected" = 0 ] && [ "$attached" = 0 ] || fail "$name: the intruder got in: $(grep -m3 -E '^(connected|attached)' "$log")"
	[ "$eperm" -gt 0 ] || fail "$name: the intruder never met the guard (window ${window} ms): the test proves nothing"
	local h
	for h in 127.0.0.1 0.0.0.0 ::ffff:127.0.0.1; do
		grep -q "^refused EPERM $h$" "$log" || fail "$name: no connect to $h:9229 was refused by the guard: $(sort "$log" | uniq -c | tr '\n' ' ')"
	done
	grep -q "pid $pid: the connect guard refused [0-9]* connection attempt" "$T/agent.err" ||
		fail "$name: the agent did not log the refused connection attempts"
	guard_attached && fail "$name: the guard is still attached after the capture"
	stored_snapshot_ok "$pid" || fail "$name: snapshot not stored whole"
	kill -0 "$pid" || fail "$name: the service died"

	# The port is usable again: open the inspector by hand; the same client gets in.
	rm -f "$log.after"
	kill -USR1 "$pid"
	intruder "$log.after" "$4"
	wait_for 15 grep -qs "^attached 1$" "$log.after" || fail "$name: a normal client cannot use the port after the capture: $(sort "$log.after" 2>&1 | uniq -c)"
	kill "$INTRUDER" 2>/dev/null; wait "$INTRUDER" 2>/dev/null
	echo "$name: after the capture a normal client attached to an inspector opened by hand (uid 1)"
}

# --- an inspector open before the agent came is the operator's: unguarded, and ps says so
start_node OPEN --inspect=127.0.0.1:19331 "$APPS/stable.js"
ps_route() { "$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
	const l = JSON.parse(require("fs").readFileSync(0)).filter(p => p.pid == process.argv[1]);
	process.stdout.write(l.length ? l[0].route : "")' "$1"; }
wait_for 15 bash -c "ss -Hltn 'sport = :19331' | grep -q ." || fail "the --inspect node did not open its inspector"
wait_for 15 bash -c "[ -n \"\$($HEAPSNAP -c $T/hs.ini ps --json | grep -o '\"pid\": *$OPEN,')\" ]" || fail "the --inspect node is not watched"
route=$(ps_route "$OPEN")
echo "ps route of a --inspect node: $route"
[ "$route" = "inspector (already open: not guarded, the operator's)" ] || fail "ps does not say the open inspector is unguarded: '$route'"
kill "$OPEN"; wait "$OPEN" 2>/dev/null

# --- on the host ------------------------------------------------------------
intruder "$T/intr/host.log"
DELAY_MS=4000 OBJECTS=400000 setpriv --reuid daemon --regid daemon --clear-groups "$NODE" "$APPS/objects.js" >>"$T/node.log" 2>&1 &
HOSTNODE=$!
PIDS+=("$HOSTNODE")
check_guarded "host" "$HOSTNODE" "$T/intr/host.log" ""
kill "$HOSTNODE"; wait "$HOSTNODE" 2>/dev/null
wait_for 10 bash -c "! ss -Hltn 'sport = :9229' | grep -q ." || fail "port 9229 still in use after the host service stopped"

# --- in the service's own network namespace, the intruder inside it ---------
DELAY_MS=4000 OBJECTS=400000 unshare -n -- bash -c "ip link set lo up && exec setpriv --reuid daemon --regid daemon --clear-groups $NODE $APPS/objects.js" >>"$T/node.log" 2>&1 &
NSNODE=$!
PIDS+=("$NSNODE")
wait_for 10 bash -c "[ \"\$(readlink /proc/$NSNODE/exe)\" = \"\$(readlink -f $NODE)\" ]" || fail "namespaced service did not start"
[ "$(readlink /proc/$NSNODE/ns/net)" != "$(readlink /proc/self/ns/net)" ] || fail "the service is not in its own network namespace"
intruder "$T/intr/ns.log" "$NSNODE"
check_guarded "netns" "$NSNODE" "$T/intr/ns.log" "$NSNODE"
grep -q "pid $NSNODE: snapshot .* stored (inspector 127.0.0.1:9229 in the target's network namespace" "$T/agent.err" ||
	fail "netns: not captured through the target's own network namespace"

stop_agent
guard_attached && fail "the guard is attached after the agent stopped"
pass "a daemon-owned service captured through the inspector on the host and in its own network namespace; a nobody intruder polling every 20 ms was refused by the guard and never attached; the port works again afterwards"
