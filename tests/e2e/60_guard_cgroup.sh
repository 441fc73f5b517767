#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memory guard and predictive capture against a real leaking Node process in a real
# memory cgroup (v2 memory.max if the machine has a v2 memory controller, else v1
# memory.limit_in_bytes), using the project's guard/predict/cgroup code through a small
# driver built here from libheapsnap.a (the agent integration is tested elsewhere).
#   1. guard: a node leaking small objects in a 300 MB cgroup; the guard allows a
#      capture while the heap is small and refuses once it is large; the process is
#      alive and the cgroup saw no OOM kill.
#   2. control: the refused snapshot is then forced (SIGUSR2): the cgroup OOM-kills the
#      process, so the refusal protected it.
#   3. predictive: a node leaking steadily in an 800 MB cgroup; the predictive trigger
#      fires while the snapshot still fits; the snapshot is taken and is complete, and
#      the process survives it; a little later the guard would have refused.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
NODE=${NODE:-/usr/bin/node}
skip() { echo "$1"; exit 77; }
fail() { echo "FAIL: $1"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (creates a memory cgroup)"
[ -x "$NODE" ] || skip "no node at $NODE"
[ -f "$BUILD/libheapsnap.a" ] || fail "$BUILD/libheapsnap.a not built (make unit-build first)"

work=$(mktemp -d /tmp/hs-e2e-guard.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null; done
	memcg_remove_all
	rm -rf "$work"
}
trap cleanup EXIT

source tests/e2e/memcg.sh
echo "using cgroup v$cg_ver under $cg_parent"

# --- the driver -----------------------------------------------------------
cat >"$work/driver.c" <<'C'
/* check PID HEAPFILE             -> one guard verdict; exit 0 allow, 1 refuse
 * predict PID HEAPFILE SECS MS   -> sample every MS ms for up to SECS s; exit 10 on
 *                                   capture, 11 too late, 12 timeout */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "decide/guard.h"
#include "decide/predict.h"

static uint64_t heap_from(const char *file)
{
	unsigned long long v = 0;
	FILE *f = fopen(file, "re");
	if (f) { if (fscanf(f, "%llu", &v) != 1) v = 0; fclose(f); }
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_verdict(const struct guard_verdict *v, const struct guard_input *in)
{
	printf("%s limit=\"%s\" heap=%llu rss=%llu needed=%llu headroom=%llu cg_limit=%llu cg_usage=%llu reason=\"%s\"\n",
	       v->allow ? "allow" : "refuse", v->limit, (unsigned long long)in->heap_used_bytes,
	       (unsigned long long)in->rss_bytes, (unsigned long long)v->needed_bytes,
	       (unsigned long long)v->headroom_bytes, (unsigned long long)in->cgroup_limit_bytes,
	       (unsigned long long)in->cgroup_usage_bytes, v->reason);
}

int main(int argc, char **argv)
{
	struct predict_params pp = { .guard = {
		.enforce = true,
		.cost_factor = getenv("GUARD_FACTOR") ? (unsigned)atoi(getenv("GUARD_FACTOR")) : 13,
		.min_headroom_bytes = 64ULL << 20,
	} };
	predict_default_params(&pp);
	if (argc < 4)
		return 2;
	pid_t pid = atoi(argv[2]);
	struct guard_input in;
	if (strcmp(argv[1], "check") == 0) {
		struct guard_verdict v;
		int err = guard_collect(pid, heap_from(argv[3]), NULL, NULL, &in);
		if (err < 0) { fprintf(stderr, "collect: %s\n", strerror(-err)); return 2; }
		guard_check(&pp.guard, &in, &v);
		print_verdict(&v, &in);
		return v.allow ? 0 : 1;
	}
	if (strcmp(argv[1], "predict") != 0 || argc < 6)
		return 2;
	struct predict_window w = {0};
	uint64_t deadline = now_ms() + 1000ULL * (uint64_t)atoi(argv[4]);
	struct timespec step = {.tv_sec = 0, .tv_nsec = atol(argv[5]) * 1000000L};
	while (now_ms() < deadline) {
		struct predict_verdict v;
		int err = guard_collect(pid, heap_from(argv[3]), NULL, NULL, &in);
		if (err < 0) { fprintf(stderr, "collect: %s\n", strerror(-err)); return 2; }
		predict_window_add(&w, now_ms(), in.rss_bytes, 30000);
		enum predict_action a = predict_decide(&pp, w.s, w.n, &in, &v);
		printf("t=%llu rss=%llu heap=%llu action=%d T=%.1f capture=%.1f %s\n", (unsigned long long)now_ms(),
		       (unsigned long long)in.rss_bytes, (unsigned long long)in.heap_used_bytes, a,
		       v.secs_until_no_fit, v.capture_secs, v.reason);
		fflush(stdout);
		if (a == PREDICT_CAPTURE) { print_verdict(&v.guard, &in); return 10; }
		if (a == PREDICT_TOO_LATE) return 11;
		nanosleep(&step, NULL);
	}
	return 12;
}
C
build_driver() { # $@ extra flags (a sanitizer build's library needs its runtime)
	gcc -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -Iagent "$@" -o "$work/driver" "$work/driver.c" \
		"$BUILD/libheapsnap.a" -lbpf -lelf -lz -linih -ljansson -lpthread
}
build_driver 2>/dev/null || build_driver -fsanitize=address,undefined || fail "driver does not build"
check() { "$work/driver" check "$1" "$2"; }

# --- the leaking target ---------------------------------------------------
cat >"$work/leak.js" <<'JS'
// node leak.js STATUS RATE_MB_PER_S CAP_MB: once STATUS.go exists, leaks small objects
// at RATE until heapUsed reaches CAP, writing heapUsed to STATUS (atomically) every
// 100 ms; then idles.
const fs = require('fs');
const [status, rate, cap] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const keep = [];
let i = 0;
const report = () => { fs.writeFileSync(status + '.tmp', String(process.memoryUsage().heapUsed)); fs.renameSync(status + '.tmp', status); };
setInterval(() => {
	if (fs.existsSync(status + '.go') && process.memoryUsage().heapUsed < cap * 1048576) {
		const n = Math.floor(rate * 1048576 / 10 / 48); // ~48 bytes per {a,b} plus its slot
		const chunk = new Array(n);
		for (let k = 0; k < n; k++) chunk[k] = { a: i, b: i++ };
		keep.push(chunk);
	}
	report();
}, 100);
report();
JS

start_leak() { # $1 cgroup dir, $2 status file, $3 rate, $4 cap -> pid in $leak_pid; snapshots in $2.d
	mkdir -p "$2.d"
	bash -c 'echo $$ >"$1/cgroup.procs" && cd "$2" && exec "$3" --heapsnapshot-signal=SIGUSR2 --diagnostic-dir="$4.d" "$2/leak.js" "$4" "$5" "$6"' \
		leak "$1" "$work" "$NODE" "$2" "$3" "$4" &
	leak_pid=$!
	pids+=("$leak_pid")
}
wait_heap() { # $1 status file, $2 min bytes, $3 timeout s
	local end=$((SECONDS + $3)) v
	while [ $SECONDS -lt $end ]; do
		v=$(cat "$1" 2>/dev/null || echo 0)
		[ "${v:-0}" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
MB=1048576

# --- 1. guard refuses in a cgroup too small for the snapshot --------------
make_cgroup "heapsnap-test-$$-guard" $((300 * MB)) || skip "cannot create a memory cgroup under $cg_parent"
cg1=$cg
start_leak "$cg1" "$work/status1" 50 60
wait_heap "$work/status1" 1 10 || fail "leaking node did not start"
grep -q "heapsnap-test-$$-guard" "/proc/$leak_pid/cgroup" || fail "node is not in the test cgroup"
early=$(check "$leak_pid" "$work/status1"); rc=$?
echo "early: $early"
[ "$rc" = 0 ] || fail "guard refused a small heap (rc=$rc)"
case $early in *cgroup*) ;; *) fail "early verdict does not name the cgroup limit";; esac
touch "$work/status1.go"
wait_heap "$work/status1" $((60 * MB)) 30 || fail "heap did not reach 60 MB"
late=$(check "$leak_pid" "$work/status1"); rc=$?
echo "late:  $late"
[ "$rc" = 1 ] || fail "guard allowed a snapshot of a 60 MB small-object heap in a 300 MB cgroup (rc=$rc)"
case $late in *"cgroup memory"*"leaves only"*) ;; *) fail "refusal reason does not name the cgroup limit";; esac
# heap unknown: the guard falls back to RSS and still refuses
: >"$work/empty"
check "$leak_pid" "$work/empty" >/dev/null; [ $? = 1 ] || fail "guard allowed with heap unknown (RSS basis)"
sleep 1
kill -0 "$leak_pid" 2>/dev/null || fail "node died"
[ "$(oom_kills "$cg1")" = 0 ] || fail "OOM kill in the test cgroup"
echo "guard: refused, node $leak_pid alive, no OOM kill"

# --- 2. control: the refused snapshot would have killed it ----------------
t0=$SECONDS
kill -USR2 "$leak_pid"
timeout 60 tail --pid="$leak_pid" -f /dev/null || fail "forced snapshot neither finished nor died in 60 s"
ooms=$(oom_kills "$cg1")
echo "control: forced snapshot -> node gone after $((SECONDS - t0)) s, cgroup oom_kill=$ooms"
[ "$ooms" -ge 1 ] || fail "the snapshot the guard refused did not OOM the cgroup: the test's premise is wrong"

# --- 3. predictive capture while it still fits ----------------------------
make_cgroup "heapsnap-test-$$-predict" $((800 * MB)) || fail "cannot create the second cgroup"
cg2=$cg
touch "$work/status2.go"
start_leak "$cg2" "$work/status2" 4 80
wait_heap "$work/status2" 1 10 || fail "second leaking node did not start"
"$work/driver" predict "$leak_pid" "$work/status2" 60 500 >"$work/predict.log"; rc=$?
tail -3 "$work/predict.log"
[ "$rc" = 10 ] || fail "predictive trigger did not fire while the snapshot fits (rc=$rc)"
tail -1 "$work/predict.log" | grep -q '^allow' || fail "fired but the guard would refuse"
t0=$SECONDS
kill -USR2 "$leak_pid"
snap="" end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do
	snap=$(ls "$work"/status2.d/Heap.*.heapsnapshot 2>/dev/null | head -1)
	# complete = the file exists and node no longer holds it open
	if [ -n "$snap" ] && [ -s "$snap" ] && ! ls -l "/proc/$leak_pid/fd" 2>/dev/null | grep -q heapsnapshot; then break; fi
	sleep 0.2
done
[ -n "$snap" ] && [ -s "$snap" ] || fail "no snapshot after the predictive capture"
tail -c 2 "$snap" | grep -q ']}' || fail "snapshot is truncated"
head -c 8192 "$snap" | grep -q node_count || fail "snapshot has no header"
sleep 1
kill -0 "$leak_pid" 2>/dev/null || fail "node died after the predictive capture"
[ "$(oom_kills "$cg2")" = 0 ] || fail "OOM kill in the predictive cgroup"
echo "predictive: captured $(stat -c %s "$snap") bytes in $((SECONDS - t0)) s, node alive, no OOM kill"
# ...and the window was real: once the leak has gone on, the guard refuses
wait_heap "$work/status2" $((75 * MB)) 40 || fail "second heap did not reach 75 MB"
later=$(check "$leak_pid" "$work/status2"); rc=$?
echo "later: $later"
[ "$rc" = 1 ] || fail "guard allowed the later snapshot: the predictive capture was not needed (rc=$rc)"
kill -0 "$leak_pid" 2>/dev/null || fail "node died"
echo "PASS"
