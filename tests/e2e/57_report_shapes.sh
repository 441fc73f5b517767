#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The report names the code to fix, for the leak shapes (issue 20; e2e/56 does the
# real libraries): four small services of the test's own (apps/report_shapes.js), one
# per shape, each leaking on a timer through its shape: listeners on process, intervals
# never cleared, an array only a closure's scope holds, a linked list. One agent
# watches all four (each in a network namespace of its own, so their inspectors do not
# share a port), takes each one's baseline halfway, starts V8's sampling heap profiler
# inside it then, and at its incident the report's first place names the holder and
# property of the shape, and its top allocation stack the service's own function that
# feeds it (report_shapes.js, the line V8 gives: the function's first line).
# SHAPES (default: all four) picks shapes by name.
source "$(dirname "$0")/lib.sh"
need_root
SVC=$APPS/report_shapes.js

# shape | place (regex on places[0].place) | regex of the line the top stack names |
# regex on the retainer path ("Class -edge-> Class ..."): it leads into the place (the
# inspector route renumbers V8's ids, so no instance is known to be new: the path goes to
# an instance inside the first place; a leaked Timeout is in the 3600000 ms list, or
# deep in it, never the service's own 50 ms tick)
CASES=(
	"listeners|^process\._events\.beforeExit$|^function leakListeners\(|-beforeExit-> Array -\[[0-9]+\]-> \(closure\)"
	"timers|^TimersList\._idleNext$|^function leakTimers\(|\[3600000\]-> TimersList|Timeout -_idle(Next|Prev)-> .*Timeout$"
	"closure|^record\(\)\.history$|^function leakClosure\(|-history-> Array -\[[0-9]+\]-> Object$"
	"linked|^AuditTrail\.head$|^function leakLinked\(|AuditTrail -head-> Node"
)
want=" ${SHAPES:-listeners timers closure linked} "

line_of() { grep -nE "$1" "$SVC" | head -1 | cut -d: -f1; }
capture_of() { grep "\"event\":\"capture_done\".*\"pid\":$1,.*\"baseline\":$2" "$T/agent.out"; }

# The four grow at ~2 MB/s each, started 3 s apart so that their baselines (halfway to
# growth_mb = 40) do not all queue at once: a baseline that would finish after the
# incident level is skipped (the profiler then starts alone, but the report has no
# baseline to rank growth against).
write_config "$T/hs.ini" trigger.growth_mb=40 trigger.baseline_pct=50 capture.profile_interval_kb=64
start_agent "$T/hs.ini"
mkdir -p "$T/app"; cd "$T/app" || fail "no app dir"
started=$SECONDS
declare -A PID
delay=1000
for c in "${CASES[@]}"; do
	IFS='|' read -r shape _ <<<"$c"
	[[ $want == *" $shape "* ]] || continue
	SHAPE=$shape LEAK_DELAY_MS=$delay start_node_netns p "$SVC"
	PID[$shape]=$p
	delay=$((delay + 3000))
done
[ ${#PID[@]} -gt 0 ] || fail "no shape in SHAPES=$SHAPES"

for shape in "${!PID[@]}"; do
	p=${PID[$shape]}
	wait_for 60 capture_of "$p" true >/dev/null || fail "$shape: no baseline capture"
	wait_for 30 grep -q "pid $p: sampling heap profiler started" "$T/agent.err" || fail "$shape: profiler not started"
	wait_for 10 bash -c "! grep -q ':$(printf %04X 9229) .* 0A ' /proc/$p/net/tcp" ||
		fail "$shape: an inspector port stays open while the profiler samples"
done
for shape in "${!PID[@]}"; do
	wait_for 90 capture_of "${PID[$shape]}" false >/dev/null || fail "$shape: no incident capture"
	kill "${PID[$shape]}" 2>/dev/null
done
echo "all incidents captured after $((SECONDS - started)) s"

for c in "${CASES[@]}"; do
	IFS='|' read -r shape place_re line_re path_re <<<"$c"
	[ -n "${PID[$shape]:-}" ] || continue
	done_line=$(capture_of "${PID[$shape]}" false)
	id=$(nodetool -e 'console.log(JSON.parse(process.argv[1]).snapshot_id)' "$done_line")
	"$HEAPSNAP" --store "$T/store" show "$id" --json >"$T/show-$shape.json" || fail "$shape: show --json"
	"$HEAPSNAP" --store "$T/store" show "$id" >"$T/show-$shape.txt" || fail "$shape: show"
	[ -s "$T/store/$id.heapprofile" ] || fail "$shape: no $id.heapprofile beside the snapshot"
	line=$(line_of "$line_re")
	[ -n "$line" ] || fail "$shape: no line matching $line_re in $SVC"
	echo "$shape:"
	nodetool -e '
	  const [showf, done, placeRe, line, pathRe] = process.argv.slice(1);
	  const r = JSON.parse(require("fs").readFileSync(showf)), d = JSON.parse(done);
	  const p = r.places && r.places[0], s = r.stacks && r.stacks[0];
	  console.log("  first place:", p && p.text);
	  console.log("  top stack:  ", s && s.text);
	  if (r.report !== "done") { console.error("report", r.report, r.report_error || r.profile_error); process.exit(1); }
	  if (!p || !new RegExp(placeRe).test(p.place)) { console.error("first place", p && p.place, "not", placeRe, JSON.stringify((r.places || []).slice(0, 3))); process.exit(2); }
	  if (!(p.new_bytes >= 2 * 1048576)) { console.error("first place grew only", p.new_bytes, "bytes"); process.exit(3); }
	  if (!s) { console.error("no stacks:", r.profile_error); process.exit(4); }
	  if (!s.url.endsWith("/report_shapes.js") || s.line !== Number(line)) {
	    console.error("top stack at", s.url + ":" + s.line, "not report_shapes.js:" + line, JSON.stringify(r.stacks.slice(0, 3).map(x => x.text)));
	    process.exit(5);
	  }
	  if (d.top_place !== p.text || d.top_stack !== s.text) { console.error("capture_done lines", d.top_place, "/", d.top_stack); process.exit(6); }
	  const path = (r.retainer_path || []).map(e => e.node.replace(/ @[0-9]+$/, "") + (e.edge ? " -" + e.edge + "->" : "")).join(" ");
	  console.log("  path:       ", path, "(ids " + r.ids + ")");
	  if (!new RegExp(pathRe).test(path)) { console.error("retainer path does not lead into the place:", pathRe); process.exit(7); }
	' "$T/show-$shape.json" "$done_line" "$place_re" "$line" "$path_re" || fail "$shape: report (rc $?), see $T/show-$shape.json"
	grep -q "^where it accumulates" "$T/show-$shape.txt" && grep -q "^allocated at" "$T/show-$shape.txt" ||
		fail "$shape: show does not render the report: $(cat "$T/show-$shape.txt")"
done
stop_agent
pass "each shape's first place names holder.property, its top stack the service's own line ($((SECONDS - started)) s)"
