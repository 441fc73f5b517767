#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 23 (P5): what the agent reads of a just exec'ed Node. Watched by strace (each
# open the agent makes): a process that exits within AGENT_DEFER_MS (250 ms) of its
# exec costs no open at all (10 copies of `true` named node: seen exit, never set up);
# one that lives longer is set up through one open of its /proc directory and five
# files read through it (stat, environ, status, cgroup, cmdline: no maps, no exe open,
# no second stat for a Node binary seen before), and a long-lived one has its GC probes
# before settle (a fast leaker must have its heap measured). A burst of real
# `node -e 0` holds to both counts, whichever side of the deferral each lands on. A
# Node linked to libnode.so (Debian's node 18) has its maps read once per GC lookup,
# and its version, read at settle from the libnode that lookup found, adds no maps
# read of its own.
# Root; strace (TEST_DEB_DEPS). Debian's node 18 comes from the Debian archive (cached):
# without it that part is not covered (a skip by hand, a failure under CI=true).
source "$(dirname "$0")/lib.sh"
need_root
command -v strace >/dev/null || skip "needs strace"

write_config "$T/hs.ini" agent.log_level=debug
start_agent "$T/hs.ini"
"$NODE" -e "setTimeout(() => {}, 600)" # the first exec of the binary (set up: it outlives the deferral): its symbols read (once per binary)
wait_for 10 grep -q "watching pid" "$T/agent.err" || fail "the first node was not watched"

mkdir -p "$T/fake" && cp /bin/true "$T/fake/node"
trace_agent_opens "$T/strace.out"

fakes=()
for _ in $(seq 10); do
	"$T/fake/node" &
	fakes+=($!)
	sleep 0.05
done
burst=()
for _ in $(seq 10); do
	"$NODE" -e 0 &
	burst+=($!)
	sleep 0.1
done
start_node LONG -e 'setInterval(() => {}, 1000)'
wait "${fakes[@]}" "${burst[@]}"
for p in "${fakes[@]}"; do
	wait_for 10 grep -q "pid $p exited .* before its set-up" "$T/agent.err" ||
		fail "the exit of pid $p (true named node) was not seen before its set-up"
done
for p in "${burst[@]}"; do
	wait_for 10 grep -q "pid $p exited" "$T/agent.err" || fail "pid $p's exit was not seen"
done
wait_for 10 grep -q "watching pid $LONG " "$T/agent.err" || fail "the long-lived node is not watched"
probes_of() {
	"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
	  const p = JSON.parse(require("fs").readFileSync(0)).find(p => p.pid == process.argv[1]);
	  process.stdout.write(p ? p.gc_probes : "not listed")' "$1"
}
long_probes=$(probes_of "$LONG") # before settle (3 s after exec)

# The libnode-linked node, after its settle.
mapfile -t deb < <(debian_node18)
if [ "${#deb[@]}" -gt 0 ]; then
	spawn DEB "${deb[@]}" -e 'setInterval(() => {}, 1000)'
	wait_for 20 grep -q "watching pid $DEB " "$T/agent.err" || fail "Debian's node 18 is not watched"
	deb_probes_at_exec=$(probes_of "$DEB")
	wait_for 20 grep -q "pid $DEB: RSS first seen" "$T/agent.err" || fail "Debian's node 18 never settled"
	deb_version=$("$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
	  const p = JSON.parse(require("fs").readFileSync(0)).find(p => p.pid == process.argv[1]);
	  process.stdout.write(p.node_version + " / " + p.gc_probes)' "$DEB")
fi
kill -INT "$STRACE"
wait "$STRACE" 2>/dev/null

opens_of() { opens_in "$T/strace.out" "$1" "$2"; }
echo "strace saw $(wc -l <"$T/strace.out") opens by the agent"
for p in "${fakes[@]}"; do
	n=$(opens_in "$T/strace.out" "$p")
	[ "$n" = 0 ] || fail "pid $p exited before its set-up, yet the agent opened its /proc files $n times: $(grep "/proc/${p}[/>\"]" "$T/strace.out")"
done
# Set up: the directory, then stat, environ, status, cgroup and cmdline through it.
# (`heapsnap ps` reads the long-lived one's net/tcp and net/tcp6 for its inspector:
# not the set-up's.)
SETUP_OPENS=6
maps=0 setup=0
for p in "${burst[@]}" "$LONG"; do
	n=$(( $(opens_in "$T/strace.out" "$p") - $(grep -c "\"/proc/$p/net/tcp6\?\"" "$T/strace.out") ))
	m=$(opens_of "$p" maps) e=$(opens_of "$p" environ)
	maps=$((maps + m))
	if grep -q "watching pid $p " "$T/agent.err"; then
		setup=$((setup + 1))
		[ "$n" = "$SETUP_OPENS" ] && [ "$e" = 1 ] ||
			fail "pid $p: $n opens of its /proc files ($e of its environment) at its set-up, $SETUP_OPENS expected: $(grep "/proc/${p}[/>\"]" "$T/strace.out")"
	elif grep -q "pid $p exited .* before its set-up" "$T/agent.err"; then
		[ "$n" = 0 ] || fail "pid $p exited before its set-up, yet the agent opened its /proc files $n times"
	else # it exited during its set-up (a node -e 0 lives ~250 ms here): a partial read
		[ "$n" -le "$SETUP_OPENS" ] || fail "pid $p: $n opens of its /proc files in a set-up it did not finish"
	fi
done
[ "$(opens_of "$LONG" environ)" = 1 ] || fail "strace did not see the agent read the long-lived node's environment: the test proves nothing"
echo "10 nodes exited before their set-up: no open; burst of 10 short-lived nodes + 1 long-lived: $setup set up ($SETUP_OPENS opens each), $maps maps reads; the long-lived one's GC probes before settle: $long_probes"
[ "$maps" = 0 ] || fail "the agent read /proc/PID/maps of a just exec'ed node of a known binary: $(grep '/maps"' "$T/strace.out")"
[[ $long_probes == attached* ]] || fail "the long-lived node has no GC probes before settle: $long_probes"

if [ "${#deb[@]}" -gt 0 ]; then
	m=$(opens_of "$DEB" maps)
	# one GC lookup at exec; a second at settle only when the first came before the
	# dynamic loader had mapped libnode.so (the probes were not attached then)
	want=1
	[[ $deb_probes_at_exec == attached* ]] || want=2
	echo "Debian's node 18: $m maps reads (GC probes at exec: $deb_probes_at_exec); after settle: $deb_version"
	[ "$m" = "$want" ] || fail "Debian's node 18: $m maps reads, $want expected (the version must come from the GC lookup's libnode)"
	[[ $deb_version == v18.* ]] || fail "Debian's node 18: no version after settle ($deb_version)"
	[[ $deb_version == *attached* ]] || fail "Debian's node 18: no GC probes after settle ($deb_version)"
else
	not_covered "Debian's libnode-linked node 18 (Debian archive unreachable)"
fi
stop_agent
all_covered
pass "no open for a process gone within the deferral; $SETUP_OPENS opens per set-up, no maps read for a known Node binary; libnode's maps read once per GC lookup, its version from it"
