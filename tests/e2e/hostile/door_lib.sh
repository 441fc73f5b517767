# SPDX-License-Identifier: Apache-2.0
# Helpers of the inspector-door tests (2N_*.sh, sourced after ../lib.sh): the hostile
# part runs as an unprivileged user, in a network namespace of its own (ports 9229 and
# 9333 of other tests are not touched), against the real agent.
HAPPS=$ROOT/tests/e2e/hostile/apps

# as USER CMD...: CMD as USER (its own group, no supplementary groups, no capabilities).
as() {
	local u=$1; shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups --inh-caps=-all "$@"
}

# service VAR USER ARGS...: node ARGS as USER in a network namespace of its own (lo up),
# cwd $T/app (writable by USER); its pid in VAR.
service() {
	local var=$1 user=$2; shift 2
	mkdir -p "$T/app" && chown "$user" "$T/app" && cd "$T/app" || fail "no app directory"
	spawn "$var" unshare --net bash -c 'ip link set lo up && exec setpriv --reuid="$0" --regid="$(id -g "$0")" \
		--clear-groups --inh-caps=-all "$@"' "$user" "$NODE" "$@"
}

# other_service: a second leaking node (daemon, --heapsnapshot-signal) the agent must go
# on watching and capturing whatever the hostile one does; its pid in OTHER.
other_service() { STEP_KB=2048 service OTHER daemon --heapsnapshot-signal=SIGUSR2 "$ROOT/tests/e2e/apps/leak.js"; }

# door_probe PID PORT: as nobody, in PID's network namespace, GET /json/list on PORT
# every 50 ms until killed; every answer that names a debugger session is appended to
# $T/door.PORT. Its pid in PROBE.
door_probe() {
	: > "$T/door.$2"; chmod 666 "$T/door.$2"
	spawn PROBE nsenter -t "$1" -n setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		env -u HEAPSNAP_TEST "$NODE" "$HAPPS/door_probe.js" "$2" "$T/door.$2"
}

# door_open PID PORT: once, as nobody: /json/list on PORT in PID's netns answers.
door_open() {
	nsenter -t "$1" -n setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		env -u HEAPSNAP_TEST "$NODE" "$HAPPS/door_probe.js" "$2" "$T/door.once" once
}

# no_door PID PORT: fails the test if the probe ever read a session list, or one
# read now succeeds.
no_door() {
	[ -s "$T/door.$2" ] && fail "nobody read /json/list on port $2: $(head -c 300 "$T/door.$2")"
	door_open "$1" "$2" && fail "nobody reads /json/list on port $2 now"
	return 0
}

# listening PID PORT: something listens on PORT in PID's network namespace.
listening() { nsenter -t "$1" -n ss -Hltn "sport = :$2" 2>/dev/null | grep -q .; }

# other_captured: the second service was captured (the agent kept working).
other_captured() {
	wait_for 90 event_for "$OTHER" capture_done || fail "the other service was not captured"
	stored_snapshot_ok "$OTHER" || fail "the other service's snapshot is not whole"
}

# stop_agent_fast: the agent stops within 5 s of SIGTERM.
stop_agent_fast() {
	kill -TERM "$AGENT"
	wait_for 5 bash -c "! kill -0 $AGENT 2>/dev/null" || fail "agent did not stop within 5 s of SIGTERM"
	wait "$AGENT" 2>/dev/null
	return 0
}
