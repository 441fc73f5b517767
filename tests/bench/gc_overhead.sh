#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Overhead of the GC uprobes on a GC-heavy Node loop (--max-semi-space-size=1: hundreds of
# GCs/s): a fixed amount of work, measured as the process's own CPU time (user + system:
# uprobe handling is charged to the probed thread as system time) and wall time, with the
# probes attached and the process watched (tests/e2e/gc_probe_check) vs without, in
# alternating rounds. CPU time is the number to trust on a shared, loaded machine; wall
# time is printed too. On a shared VM the throughput noise (several %) hides a 0.5 % effect,
# so the script also measures the cost of one probe hit (tests/bench/uprobe_cost.c) and
# estimates the loss as GCs x cost per GC / CPU time. Not pass/fail (goal: <= 0.5 % loss).
# Root. Usage: gc_overhead.sh [rounds] [iterations] [node]   SEMI=MB (default 1; 0 = V8 default)
# lib.sh: $T (scratch, removed at exit), PIDS (killed at exit), need_root, $ROOT, $BUILD.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$ROOT"
need_root
ROUNDS=${1:-7}
ITERS=${2:-20000}
NODE=${3:-node}
WORK=$T

CHECK=$BUILD/e2e/gc_probe_check
make -s -j2 BUILD="$BUILD" "$CHECK" "$BUILD/e2e/uprobe_cost" >/dev/null || exit 1
SEMI=${SEMI:-1}
semi_flag=(); [ "$SEMI" != 0 ] && semi_flag=(--max-semi-space-size="$SEMI")

# Short-lived objects (scavenges) plus a churning retained set (mark-compacts).
cat >"$WORK/bench.js" <<'EOF'
const iters = +process.argv[2];
let keep = [], sink = 0;
function round() {
  for (let i = 0; i < 1000; i++) {
    const o = { a: i, b: [i, i + 1], s: 'k' + (i & 255) };
    sink += o.b.length;
    if ((i & 15) === 0) keep.push(o);
  }
  if (keep.length > 200000) keep = [];
}
for (let i = 0; i < 2000; i++) round();   // JIT warm-up before the measured part
process.stdout.write('READY\n');
process.on('SIGUSR2', () => {
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) round();
  const c = process.cpuUsage(c0), wall = Number(process.hrtime.bigint() - t0) / 1e3;
  process.stdout.write(`RESULT ${c.user + c.system} ${c.system} ${wall.toFixed(0)} ${sink > 0}\n`);
  process.exit(0);
});
setTimeout(() => {}, 120000);
EOF

start_bench() { # sets BENCH_PID; output in $WORK/out
	"$NODE" "${semi_flag[@]}" "$WORK/bench.js" "$ITERS" >"$WORK/out" 2>&1 &
	BENCH_PID=$!; PIDS+=("$BENCH_PID")
	for _ in $(seq 300); do grep -q READY "$WORK/out" && return 0; sleep 0.1; done
	return 1
}
result() { sed -n 's/^RESULT \([0-9]*\) \([0-9]*\) \([0-9]*\).*/\1 \2 \3/p' "$WORK/out"; }

: >"$WORK/without"; : >"$WORK/with"; gcs=()
for r in $(seq "$ROUNDS"); do
	start_bench || exit 1
	kill -USR2 "$BENCH_PID"; wait "$BENCH_PID" 2>/dev/null
	result >>"$WORK/without"
	start_bench || exit 1
	json=$(timeout 300 "$CHECK" -s 12 -t 280 "$BENCH_PID") || { echo "gc_probe_check failed: $json"; exit 1; }
	wait "$BENCH_PID" 2>/dev/null
	result >>"$WORK/with"
	gcs+=("$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(s["gc_minor"]+s["gc_major"])' "$json")")
	echo "round $r (cpu_us sys_us wall_us): without $(tail -1 "$WORK/without")  with $(tail -1 "$WORK/with")  GCs ${gcs[-1]}"
done
cost=$("$BUILD/e2e/uprobe_cost" 200000)
echo "probe hit cost: $cost"
up=$(sed -n 's/.*uprobe +\([0-9]*\) ns, .*/\1/p' <<<"$cost"); uret=$(sed -n 's/.*uretprobe +\([0-9]*\) ns.*/\1/p' <<<"$cost")
python3 - "$WORK/without" "$WORK/with" "${gcs[*]}" "$up" "$uret" <<'EOF'
import statistics as st, sys
rows = lambda f: [[int(x) for x in l.split()] for l in open(f) if l.strip()]
wo, wi = rows(sys.argv[1]), rows(sys.argv[2])
g = st.median(int(x) for x in sys.argv[3].split())
med = lambda r, i: st.median(x[i] for x in r)
for name, i in (("cpu (user+sys)", 0), ("system", 1), ("wall", 2)):
    a, b = med(wo, i), med(wi, i)
    print(f"{name:15} without {a/1e3:9.1f} ms  with {b/1e3:9.1f} ms  ratio {b/a:.4f}")
print(f"GCs per run: {g:.0f}  ({g / (med(wi, 2) / 1e6):.0f} GCs/s wall)")
a, b = med(wo, 0), med(wi, 0)
print(f"throughput loss by CPU time (medians of {len(wo)} rounds): {100 * (1 - a / b):+.2f} %")
a, b = min(x[0] for x in wo), min(x[0] for x in wi)
print(f"throughput loss by CPU time (best round each): {100 * (1 - a / b):+.2f} %")
# Per GC: CollectGarbage entry (one trap serves the uprobe and the uretprobe) and return,
# one collector body, Heap::SizeOfObjects twice (entry + return each).
up, uret = float(sys.argv[4]), float(sys.argv[5])
ret = max(uret - up, 0)
per_gc = 4 * up + 3 * ret
print(f"estimated cost per GC: {per_gc/1e3:.1f} us (4 traps x {up/1e3:.1f} us + 3 returns x {ret/1e3:.1f} us)")
print(f"estimated loss: {100 * g * per_gc / med(wo, 0) / 1e3:.2f} % of the process's CPU "
      f"({g / (med(wo, 2) / 1e6):.0f} GCs/s)")
EOF
