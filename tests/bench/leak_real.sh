#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The leak heuristic on real Node (not a test: takes SECONDS, default 420): a process that
# leaks ~13 MB/min and one with the same churn and a bounded cache, both watched by
# gc_probe_check -l (major GC events -> agent/decide/leak.c with the default thresholds).
# Prints each major GC with the verdict; the leaking one should fire, the other never.
# Root. Usage: leak_real.sh [seconds] [node]
# lib.sh: $T (scratch, removed at exit), PIDS (killed at exit), need_root, $ROOT, $BUILD.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$ROOT"
need_root
SECONDS_RUN=${1:-420}
NODE=${2:-node}
WORK=$T

CHECK=$BUILD/e2e/gc_probe_check
make -s -j2 BUILD="$BUILD" "$CHECK" >/dev/null || exit 1

cat >"$WORK/app.js" <<'EOF'
// leak: ~13 MB/min of number arrays retained; steady: same churn, bounded cache (~7 MB)
const mode = process.argv[2], ms = +process.argv[3];
process.stdout.write('READY\n');
process.on('SIGUSR2', () => {
  const kept = []; let n = 0;
  setInterval(() => {
    let sink = 0;
    for (let i = 0; i < 2000; i++) { const o = { id: i, body: 'y' + i }; sink += o.body.length; }
    kept.push(new Array(300).fill(++n));
    if (mode === 'steady' && kept.length > 3000) kept.shift();
  }, 10);
  setTimeout(() => process.exit(0), ms);
});
setTimeout(() => {}, ms + 60000);
EOF

for mode in leak steady; do
	"$NODE" "$WORK/app.js" "$mode" $((SECONDS_RUN * 1000)) >"$WORK/$mode.out" 2>&1 &
	pid=$!; PIDS+=("$pid")
	for _ in $(seq 100); do grep -q READY "$WORK/$mode.out" && break; sleep 0.1; done
	timeout $((SECONDS_RUN + 60)) "$CHECK" -l -s 12 -t $((SECONDS_RUN + 30)) "$pid" \
		>"$WORK/$mode.json" 2>"$WORK/$mode.leak" &
	PIDS+=("$!")
done
wait
for mode in leak steady; do
	echo "== $mode"
	cat "$WORK/$mode.leak"
	fire=$(grep -m1 'verdict 2' "$WORK/$mode.leak" | sed 's/leak: +\([0-9]*\) s.*/\1/')
	echo "$mode: ${fire:+fired at +$fire s}${fire:-never fired}"
done
