# SPDX-License-Identifier: Apache-2.0
# Helpers of the hostile-target tests (sourced after ../lib.sh): a watched process's
# owner is an unprivileged user who controls its /proc entries, the files it maps, its
# environment and the bytes it hands the agent. Every test checks the same invariants
# afterwards (assert_agent_unharmed): the agent still watches and captures another,
# ordinary leaking node, stops on SIGTERM within a few seconds, and opened no door.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root
command -v setpriv >/dev/null || { [ "${CI:-}" = true ] && fail "setpriv (util-linux) is missing"; skip "no setpriv"; }

HOSTILE_UID=65534
HOSTILE_GID=65534
# A directory the hostile user owns (under $T, which is 0755).
H=$T/hostile
mkdir -p "$H" && chown "$HOSTILE_UID:$HOSTILE_GID" "$H"

# as_nobody CMD...: CMD as the unprivileged user, in the foreground.
as_nobody() { setpriv --reuid=$HOSTILE_UID --regid=$HOSTILE_GID --clear-groups "$@"; }
# spawn_nobody VAR CMD...: the same in the background, its pid in VAR, killed at exit.
spawn_nobody() { local var=$1; shift; spawn "$var" setpriv --reuid=$HOSTILE_UID --regid=$HOSTILE_GID --clear-groups "$@"; }

# listeners_of_user UID: TCP listeners held by processes of UID (ss -p names the pids).
listeners_of_user() {
	local pid
	ss -Hltnp 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | while read -r pid; do
		[ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$1" ] && echo "$pid"
	done
}

# assert_agent_unharmed: an ordinary leaking node (signal route) is watched and
# captured; no process of the hostile user listens on TCP; SIGTERM stops the agent
# within 5 s.
assert_agent_unharmed() {
	local other
	mkdir -p "$T/other" && cd "$T/other"
	start_node other --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
	cd "$T"
	wait_for 20 grep -q "watching pid $other " "$T/agent.err" || fail "the agent does not watch another node (pid $other)"
	wait_for 90 event_for "$other" capture_done || fail "the agent did not capture another leaking node (pid $other)"
	[ -z "$(listeners_of_user $HOSTILE_UID)" ] || fail "a process of uid $HOSTILE_UID listens: $(ss -Hltnp)"
	kill -TERM "$AGENT" 2>/dev/null
	wait_for 5 bash -c "! kill -0 $AGENT 2>/dev/null" || fail "agent did not stop within 5 s of SIGTERM"
	wait "$AGENT" 2>/dev/null
	kill -KILL "$other" 2>/dev/null
}
