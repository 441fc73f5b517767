#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The installed service unit is hardened, and the agent still captures under
# its sandbox.
#  1. `systemd-analyze security --offline=yes` on the unit `make install` writes:
#     exposure <= 5.0 (it works without systemd as PID 1: it only reads the file).
#  2. The restrictions a test can reproduce without systemd, taken from the unit file
#     itself: capability bounding and ambient sets exactly CapabilityBoundingSet=,
#     SecureBits noroot (root gets nothing for being uid 0), no_new_privs
#     (NoNewPrivileges=), and in a private mount namespace: every mount read-only but
#     the test directory (ProtectSystem=strict with only the store and runtime
#     directories writable; /sys, /proc/sys and the cgroup file systems too, as
#     ProtectKernelTunables= and ProtectControlGroups= make them), /home and /root
#     inaccessible (ProtectHome=), a private /tmp (PrivateTmp=). Under them the agent opens and guards a flagless node's inspector
#     (FIFO in the target's /tmp, through /proc/PID/root) and takes a signal-route
#     snapshot; both are stored whole.
#  3. The seccomp part is not enforced here but observed: the agent runs under strace
#     through both captures, and every system call it made must pass the unit's
#     SystemCallFilter= (expanded with systemd-analyze syscall-filter), its sockets the
#     RestrictAddressFamilies=, its setns/clone flags RestrictNamespaces=net, its
#     mappings MemoryDenyWriteExecute= (no W+X mapping, no mprotect to exec).
# Only the real unit enforces those, and ProtectKernelModules/Logs=, ProtectClock=,
# PrivateDevices=, LockPersonality=, RestrictRealtime= (seccomp and systemd's mounts).
source "$(dirname "$0")/lib.sh"
need_root
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (Debian package systemd: make deps)"
command -v strace >/dev/null || fail "strace missing (Debian package strace: make deps)"

# --- 1. the score -------------------------------------------------------------
make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$T/root" PREFIX=/usr/local >/dev/null || fail "make install failed"
UNIT=$T/root/lib/systemd/system/heapsnapd.service
[ -f "$UNIT" ] || fail "make install wrote no unit"
grep -q '@PREFIX@' "$UNIT" && fail "the installed unit still has @PREFIX@"
timeout 60 systemd-analyze security --offline=yes "$UNIT" > "$T/analyze.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for heapsnapd.service: \([0-9.]*\).*/\1/p' "$T/analyze.txt")
[ -n "$score" ] || { cat "$T/analyze.txt"; fail "systemd-analyze gave no exposure level"; }
echo "systemd-analyze security --offline=yes: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 5.0) }' || { grep '✗' "$T/analyze.txt"; fail "exposure $score > 5.0"; }

# --- 2. the sandbox ---------------------------------------------------------------
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
caps=$(unit_value CapabilityBoundingSet)
[ "$caps" = "$(unit_value AmbientCapabilities)" ] || fail "AmbientCapabilities= differs from CapabilityBoundingSet="
[ "$(unit_value NoNewPrivileges)" = yes ] || fail "no NoNewPrivileges=yes"
[ "$(unit_value ProtectSystem)" = strict ] || fail "no ProtectSystem=strict"
# Every capability the agent's table names is in the unit, and nothing else.
table=$(sed -n 's/.*{ CAP_\([A-Z_]*\), "CAP_[A-Z_]*", \(true\|false\) },/CAP_\1/p' "$ROOT/agent/daemon/heapsnapd.c" | sort | tr '\n' ' ')
[ "$(echo "$caps" | tr ' ' '\n' | sort | tr '\n' ' ')" = "$table" ] || fail "unit capabilities '$caps' != the agent's table '$table'"
setpriv_caps=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ /,+/g; s/^/+/')

wait_for 120 bash -c "! ss -Hltn 'sport = :9229' | grep -q ." || skip "port 9229 stays in use on this machine"
write_config "$T/hs.ini" trigger.growth_mb=30 capture.method=auto
mkdir -p "$T/app" && cd "$T/app" || fail "no app directory"
# The binary goes with the test directory: a checkout under /tmp (a CI clone) would
# vanish behind the private /tmp.
mkdir -p "$T/bin" && cp "$HEAPSNAPD" "$T/bin/heapsnapd" || fail "cannot copy the agent"
cat > "$T/sandbox.sh" <<EOF
set -e
# PrivateTmp=: a fresh /tmp; the test directory (store, socket, state) moved into it.
mount --bind "$T" /mnt
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p "$T"
mount --move /mnt "$T"
# ProtectHome=yes: inaccessible.
for d in /home /root /run/user; do [ -d \$d ] && mount -t tmpfs -o ro,mode=000 tmpfs \$d; done
# ProtectSystem=strict: everything read-only but the test directory (and /proc, /dev).
findmnt -rno TARGET | while read -r m; do
	case "\$m" in "$T"|"$T"/*|/proc|/proc/*|/dev|/dev/*|/tmp) continue;; esac
	mount -o remount,bind,ro "\$m" 2>/dev/null || true
done
# ProtectKernelTunables=: /proc/sys read-only too (a bind mount of its own, as systemd does).
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys
touch /usr/.heapsnap-rw 2>/dev/null && { echo "sandbox: /usr is writable"; exit 1; }
touch "$T/.rw" || { echo "sandbox: the store directory is not writable"; exit 1; }
exec setpriv --no-new-privs --securebits +noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked \\
	--bounding-set -all,$setpriv_caps --inh-caps -all,$setpriv_caps --ambient-caps -all,$setpriv_caps \\
	-- strace -f -qq -o "$T/trace" "$T/bin/heapsnapd" -c "$T/hs.ini"
EOF
unshare -m --propagation private -- bash "$T/sandbox.sh" >"$T/agent.out" 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_for 30 grep -qs "started:" "$T/agent.err" || fail "the agent did not start in the sandbox"
HSD=$(pgrep -P "$AGENT" -x heapsnapd) || fail "no heapsnapd under strace"
grep -q "inspector connect guard: ready" "$T/agent.err" || fail "no connect guard in the sandbox"
grep -E "Cap(Eff|Bnd|Amb)|NoNewPrivs" /proc/$HSD/status | tr '\n' ' '; echo
[ "$(awk '/NoNewPrivs/ { print $2 }' /proc/$HSD/status)" = 1 ] || fail "the agent runs without no_new_privs"
[ "$(awk '/CapAmb/ { print $2 }' /proc/$HSD/status)" = 0000000000000000 ] || fail "the agent kept ambient capabilities (alert commands would inherit them)"
[ "$(readlink /proc/$HSD/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "the agent is not in its own mount namespace"
awk '$5 == "/" { print $6 }' /proc/$HSD/mountinfo | grep -q '^ro' || fail "the agent's / is not read-only"
awk -v t="$T" '$5 == t { print $6 }' /proc/$HSD/mountinfo | grep -q '^rw' || fail "the agent's store directory is not writable"
for m in /sys /proc/sys $(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts); do
	awk -v m="$m" '$5 == m { print $6 }' /proc/$HSD/mountinfo | grep -q '^ro' || fail "the agent's $m is not read-only"
done

start_node FLAGLESS "$APPS/leak.js"
start_node SIGNODE --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
# and one in its own network namespace (setns under the sandbox)
unshare -n -- bash -c "ip link set lo up && exec $NODE $APPS/leak.js" >>"$T/node.log" 2>&1 &
NSNODE=$!
PIDS+=("$NSNODE")
for p in "$FLAGLESS" "$SIGNODE" "$NSNODE"; do
	wait_for 60 event_for "$p" capture_done || fail "pid $p not captured in the sandbox"
done
grep "\"event\":\"capture_done\".*\"pid\":$FLAGLESS[,}]" "$T/agent.out" | grep -q '"method":"inspector"' || fail "not the inspector route"
grep -q "pid $FLAGLESS: snapshot .*(FIFO)" "$T/agent.err" || fail "the inspector capture did not use the FIFO in the target's /tmp"
grep -q "pid $FLAGLESS: the inspector was open [0-9]* ms .*behind the connect guard" "$T/agent.err" || fail "the inspector was not guarded"
grep "\"event\":\"capture_done\".*\"pid\":$SIGNODE[,}]" "$T/agent.out" | grep -q '"method":"signal"' || fail "not the signal route"
grep -q "pid $NSNODE: snapshot .* stored (inspector 127.0.0.1:9229 in the target's network namespace" "$T/agent.err" ||
	fail "the namespaced node was not captured in its network namespace"
for p in "$FLAGLESS" "$SIGNODE" "$NSNODE"; do stored_snapshot_ok "$p" || fail "pid $p: snapshot not whole"; done
ls "$T"/app/Heap.*.heapsnapshot 2>/dev/null && fail "the signal route's raw file was not removed"
kill -TERM "$HSD"
wait_for 15 bash -c "! kill -0 $AGENT 2>/dev/null" || fail "the agent did not stop"
wait "$AGENT" 2>/dev/null
grep -q "stopped" "$T/agent.err" || fail "the agent did not stop cleanly"

# --- 3. what the seccomp part of the unit would have said -----------------------
expand() { # GROUP...: the system calls of systemd's syscall groups, nested groups expanded
	local g x
	for g in "$@"; do
		systemd-analyze syscall-filter "$g" 2>/dev/null | awk 'NR > 1 && !/^ *#/ && NF { print $1 }' |
			while read -r x; do case $x in @*) expand "$x";; *) echo "$x";; esac; done
	done
}
filters=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
allow=$(echo "$filters" | grep -v '^~' | tr ' ' '\n' | while read -r x; do case $x in @*) expand "$x";; ?*) echo "$x";; esac; done | sort -u)
deny=$(echo "$filters" | sed -n 's/^~//p' | tr ' ' '\n' | while read -r x; do case $x in @*) expand "$x";; ?*) echo "$x";; esac; done | sort -u)
used=$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$T/trace" | sort -u)
[ "$(echo "$used" | wc -l)" -gt 30 ] || fail "the trace holds too few system calls: $(head -5 "$T/trace")"
bad=$(comm -23 <(echo "$used") <(echo "$allow"); comm -12 <(echo "$used") <(echo "$deny"))
[ -z "$bad" ] || fail "system calls the unit's SystemCallFilter= would refuse: $(echo $bad)"
fams=$(grep -oE 'socket\(AF_[A-Z0-9]+' "$T/trace" | sort -u | sed 's/socket(//' | tr '\n' ' ')
for f in $fams; do
	[[ " $(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT") " == *" $f "* ]] || fail "socket family $f is not in RestrictAddressFamilies="
done
grep -qE '^[0-9]+ +setns\(.*CLONE_NEWNET' "$T/trace" || fail "no setns(CLONE_NEWNET) in the trace: the check below proves nothing"
grep -E '^[0-9]+ +setns\(' "$T/trace" | grep -v 'CLONE_NEWNET' | head -1 | grep . && fail "setns into a namespace other than net"
grep -E '^[0-9]+ +(clone3?|unshare)\(.*CLONE_NEW' "$T/trace" | head -1 | grep . && fail "a new namespace was created"
grep -E '^[0-9]+ +(mmap|pkey_mprotect|mprotect)\(' "$T/trace" | grep -E 'PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' | head -1 | grep . &&
	fail "a writable and executable mapping (MemoryDenyWriteExecute=)"
grep -E '^[0-9]+ +(pkey_mprotect|mprotect)\(.*PROT_EXEC' "$T/trace" | head -1 | grep . && fail "mprotect to executable (MemoryDenyWriteExecute=)"
echo "seccomp (observed): $(echo "$used" | wc -l) distinct system calls, all allowed; socket families: $fams"
pass "unit exposure $score (<= 5.0); inspector (guarded, FIFO; host and own network namespace) and signal captures stored under the unit's capabilities, no_new_privs, noroot, read-only file system, private /tmp, no /home"
