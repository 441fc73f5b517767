#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every error a user can cause gets one clear message and the right exit code:
# config errors exit 2 with FILE:LINE, a missing config names the file, a store with
# loose permissions is refused, a second agent on the host or on the store is refused,
# a non-root run names the missing capabilities, and SIGINT stops cleanly.
source "$(dirname "$0")/lib.sh"
need_root

expect() { # expect RC PATTERN CMD...
	local rc=$1 pat=$2 out got; shift 2
	out=$("$@" 2>&1); got=$?
	[ "$got" = "$rc" ] || fail "'$*' exited $got, expected $rc: $out"
	grep -qE -- "$pat" <<<"$out" || fail "'$*' said '$out', expected /$pat/"
}

# --help and --version answer on both binaries; an unknown option is a usage error
expect 0 "usage: heapsnapd .*--check" "$HEAPSNAPD" --help
expect 0 "usage: heapsnap " "$HEAPSNAP" --help
expect 0 "^heapsnapd [0-9]+\.[0-9]+\.[0-9]+" "$HEAPSNAPD" --version
expect 0 "libbpf: [0-9]+\.[0-9]+" "$HEAPSNAPD" --version
expect 0 "kernel features: .*ringbuf" "$HEAPSNAPD" --version
expect 0 "^heapsnap [0-9]+\.[0-9]+\.[0-9]+" "$HEAPSNAP" --version
expect 2 "usage: heapsnapd" "$HEAPSNAPD" --no-such-option

printf '[trigger]\ngrowth_mb = 10\nbogus = 1\n' > "$T/unknown.ini"
expect 2 "$T/unknown.ini:3: .*bogus" "$HEAPSNAPD" -c "$T/unknown.ini"
printf '[trigger]\n\ngrowth_mb = lots\n' > "$T/badnum.ini"
expect 2 "$T/badnum.ini:3: .*lots" "$HEAPSNAPD" -c "$T/badnum.ini"
printf '[nowhere]\nx = 1\n' > "$T/badsec.ini"
expect 2 "$T/badsec.ini:[12]: .*nowhere" "$HEAPSNAPD" -c "$T/badsec.ini"
expect 2 "$T/missing.ini.*(No such file|cannot)" "$HEAPSNAPD" -c "$T/missing.ini"
expect 2 "unexpected argument|usage" "$HEAPSNAPD" -c "$T/unknown.ini" extra

write_config "$T/loose.ini"
chmod 755 "$T/store"
expect 1 "permissions 0?755 are too open" "$HEAPSNAPD" -c "$T/loose.ini"
chmod 700 "$T/store"

if command -v setpriv >/dev/null; then
	write_config "$T/ok.ini"
	chmod 644 "$T/ok.ini"
	expect 1 "needs root.*CAP_BPF" setpriv --reuid=65534 --regid=65534 --clear-groups "$HEAPSNAPD" -c "$T/ok.ini"
fi

write_config "$T/run.ini"
start_agent "$T/run.ini"
# A second agent on the host would signal the same processes; one given its own
# lock_file but the same store would delete the first one's *.tmp files.
write_config "$T/second.ini" agent.state_socket="$T/second.sock" agent.state_file="$T/second.state"
expect 1 "another heapsnapd \\(pid $AGENT\\) is running on this host \\(lock_file $T/heapsnapd.lock\\)" \
	timeout 10 "$HEAPSNAPD" -c "$T/second.ini"
write_config "$T/second.ini" agent.state_socket="$T/second.sock" agent.state_file="$T/second.state" \
	agent.lock_file="$T/second.lock"
expect 1 "store $T/store is in use by another heapsnapd \\(pid $AGENT\\)" timeout 10 "$HEAPSNAPD" -c "$T/second.ini"
kill -INT "$AGENT"
for i in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
kill -0 "$AGENT" 2>/dev/null && fail "agent still running 10 s after SIGINT"
wait "$AGENT"; rc=$?
[ "$rc" = 0 ] || fail "agent exited $rc after SIGINT"
grep -q "stopped" "$T/agent.err" || fail "no 'stopped' log line"
[ -e "$T/heapsnapd.sock" ] && fail "state socket left behind"
pass "bad input handled"
