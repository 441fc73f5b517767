#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `heapsnap ps --json` shows, for a watched node, its RSS, minor and major GC
# counts and the heap used after the last major GC (from the GC uprobes), checked
# against the process's own --trace-gc output — on /usr/bin/node, official 18/22/24/26
# and Debian's libnode-linked 18 (uprobes in libnode.so); a process whose binary has no V8
# symbols is watched on RSS alone and ps says why.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini"
start_agent "$T/hs.ini"
grep -q "GC tracking unavailable" "$T/agent.err" && fail "GC tracking did not load"
# The workload runs from SIGUSR2 (sent once the probes are attached) for 3 s.
cat > "$T/gc.js" <<'JS'
let keep = [];
process.on('SIGUSR2', () => {
  process.stdout.write('START\n');
  const churn = setInterval(() => {
    for (let i = 0; i < 20000; i++) keep.push({ i, s: 'x' + i });
    if (keep.length > 200000) keep = [];
  }, 10);
  const full = setInterval(() => gc(), 300);
  setTimeout(() => { clearInterval(churn); clearInterval(full); gc(); process.stdout.write('DONE\n'); }, 3000);
});
setInterval(() => {}, 1 << 30);
process.stdout.write('READY\n');
JS
# check_ps NODE_COMMAND...: run the workload on that node and compare ps with its trace.
check_ps() {
	local node=${*: -1} trace=$T/trace-$RANDOM.log
	"$@" --expose-gc --trace-gc "$T/gc.js" > "$trace" 2>&1 &
	local pid=$!; PIDS+=("$pid")
	wait_for 10 grep -q "watching pid $pid " "$T/agent.err" || fail "$node: not watched"
	wait_for 10 bash -c "'$HEAPSNAP' -c '$T/hs.ini' ps --json | grep -A30 '\"pid\": $pid,' | grep -q 'attached'" ||
		fail "$node: no GC probes attached"
	wait_for 10 grep -q READY "$trace" || fail "$node: workload not ready"
	# GCs before the probes attached (Debian's node 18 collects while it loads its
	# builtins from /usr/share) are in the trace only: compare what came after START.
	"$HEAPSNAP" -c "$T/hs.ini" ps --json > "$T/ps-before.json" || fail "heapsnap ps --json failed"
	kill -USR2 "$pid"
	wait_for 20 grep -q DONE "$trace" || fail "$node: workload did not finish"
	local work minor major last
	work=$(sed -n '/^START/,$p' "$trace")
	minor=$(grep -cE "Scavenge|Minor Mark" <<<"$work")
	major=$(( $(grep -cE "Mark-Compact|Mark-sweep|Mark-Sweep" <<<"$work") - $(grep -cE "Minor Mark-Sweep" <<<"$work") ))
	last=$(grep -E "Mark-Compact|Mark-sweep|Mark-Sweep" <<<"$work" | grep -v "Minor Mark" | tail -1 | sed -E 's/.*-> *([0-9.]+) \(.*/\1/')
	# The last GC events reach the agent shortly after DONE: ps is asked again until it
	# agrees with the trace (bounded), then once more with the reason shown.
	ps_agrees() {
	"$HEAPSNAP" -c "$T/hs.ini" ps --json > "$T/ps.json" || fail "heapsnap ps --json failed"
	nodetool -e '
	  const [before, file, pid, minor, major, last] = process.argv.slice(1);
	  const read = f => JSON.parse(require("fs").readFileSync(f)).find(x => x.pid == pid);
	  const b = read(before), p = read(file);
	  if (!b || !p) { console.error("pid not in ps"); process.exit(1); }
	  for (const k of ["pid", "rss_bytes", "heap_used_bytes", "gc_minor", "gc_major", "route", "gc_probes", "trend_mb_per_min"])
	    if (!(k in p)) { console.error("missing", k); process.exit(1); }
	  const heapMB = p.heap_used_bytes / 1048576;
	  const ok = p.gc_minor - b.gc_minor == minor && p.gc_major - b.gc_major == major &&
	    Math.abs(heapMB - last) <= 0.15 && p.rss_bytes > 0;
	  if (!ok) { console.error("ps before", JSON.stringify(b), "after", JSON.stringify(p), "trace after START: minor",
	    minor, "major", major, "heap", last); process.exit(1); }
	' "$T/ps-before.json" "$T/ps.json" "$pid" "$minor" "$major" "$last"
	}
	wait_for 5 ps_agrees 2>/dev/null || ps_agrees || fail "$node: ps numbers differ from --trace-gc"
	"$HEAPSNAP" -c "$T/hs.ini" ps > "$T/ps.txt" || fail "heapsnap ps failed"
	grep -q "^$pid " "$T/ps.txt" || fail "ps table lacks the pid"
	echo "$node $("$@" --version): ps matches --trace-gc (minor $minor, major $major, heap $last MB)"
	kill "$pid"
}

check_ps "$NODE"
for v in 18 22 24 26; do
	n=$(node_of $v)
	if [ -n "$n" ]; then check_ps "$n" || fail "Node $v: ps"; else not_covered "Node $v (not available from npm)"; fi
done
mapfile -t deb < <(debian_node18)
if [ "${#deb[@]}" -gt 0 ]; then check_ps "${deb[@]}" || fail "Debian's node 18: ps"; else not_covered "Debian's libnode node 18 (not available)"; fi

# A binary without symbols: watched on RSS alone, and ps says why. Node >= 24.11 has
# its V8 symbols in .symtab only, so a stripped copy has none (Node 20 exports them).
NODE24=$(node_of 24)
[ -n "$NODE24" ] || skip "first part passed; Node 24 not available from npm for the stripped-binary part"
mkdir -p "$T/stripped" && cp "$NODE24" "$T/stripped/node" && strip "$T/stripped/node" 2>/dev/null || skip "cannot strip a node copy"
"$T/stripped/node" -e 'setInterval(()=>{}, 1000)' &
STRIPPED=$!; PIDS+=("$STRIPPED")
wait_for 10 bash -c "'$HEAPSNAP' -c '$T/hs.ini' ps --json | grep -q '\"pid\": $STRIPPED'" || fail "stripped node not watched"
# The probes are looked up once the process has lived (AGENT_SETTLE_MS), not at exec.
gc_probes_of_stripped() {
	"$HEAPSNAP" -c "$T/hs.ini" ps --json | nodetool -e '
	  const p = JSON.parse(require("fs").readFileSync(0)).find(x => x.pid == process.argv[1]);
	  if (!/^none: .*(stripped|symbol)/.test(p.gc_probes)) { console.error(p.gc_probes); process.exit(1); }' "$STRIPPED"
}
wait_for 10 gc_probes_of_stripped 2>/dev/null || gc_probes_of_stripped ||
	fail "ps does not say why the stripped node has no GC probes"
stop_agent
pass "ps matches --trace-gc on every available version; stripped binary explained"
all_covered
