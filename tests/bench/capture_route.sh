#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The capture routes end to end, as the agent runs them (issue 23, P3): trigger ->
# verified and stored, per byte of raw snapshot, against the first
# v8.writeHeapSnapshot(file) of a fresh process with the same heap, per byte of its
# file, in the same round. Each round starts three nodes with RECORDS records
# {id, name, tags, score} (default 400 k): the anchor (outside the agent's scope: it
# times its own first snapshot), one with --heapsnapshot-signal (the signal route) and
# one without flags (the inspector route: SIGUSR1, guarded, FIFO, closed). The two
# watched nodes then allocate BALLAST_MB of Buffer (one snapshot node) to cross the
# RSS trigger; the agent's capture_done gives capture_ms (trigger -> stored) and
# raw_bytes. The inspector route's phases (the route's own log line) are printed per
# round. Not a test; root. ROUNDS=3 RECORDS=400000 by default.
source "$(dirname "$0")/../e2e/lib.sh"
need_root
ROUNDS=${ROUNDS:-3}
RECORDS=${RECORDS:-400000}
BALLAST_MB=${BALLAST_MB:-300}
# LEVEL: the store's capture.compress_level (default: the agent's, 6)

cat >"$T/heap.js" <<'JS'
'use strict';
// heap.js MODE: MODE "anchor" times its own first snapshot (and, by a worker thread
// watching the file's size, when V8 began writing it) and exits; "watched" waits 2 s
// (the agent settles on it), then crosses the RSS trigger in 8 MiB steps (its event
// loop turns between them, as a service's does) and idles.
const v8 = require('v8'), fs = require('fs'), { Worker } = require('worker_threads');
const n = Number(process.env.RECORDS), keep = [];
for (let i = 0; i < n; i++) keep.push({ id: i, name: 'user' + i, tags: ['a', 'b'], score: i + 0.5 });
global.keep = keep;
if (process.argv[2] === 'anchor') {
	const file = process.env.OUT, shared = new BigInt64Array(new SharedArrayBuffer(8));
	const w = new Worker(`const { workerData: { file, shared } } = require('worker_threads'), fs = require('fs');
		const look = () => { try { if (fs.statSync(file).size > 0) { shared[0] = process.hrtime.bigint(); return; } } catch {}
			setTimeout(look, 1); }; look();`, { eval: true, workerData: { file, shared } });
	setTimeout(() => {
		const t = process.hrtime.bigint();
		v8.writeHeapSnapshot(file);
		const end = process.hrtime.bigint();
		console.log('anchor_ms', Number(end - t) / 1e6, 'bytes', fs.statSync(file).size,
			'write_ms', shared[0] ? Number(end - shared[0]) / 1e6 : -1);
		fs.unlinkSync(file);
		process.exit(0);
	}, 200);
	return;
}
const grow = (left) => { if (left <= 0) return; (global.ballast ||= []).push(Buffer.alloc(8 << 20, 1)); setImmediate(grow, left - 8); };
setTimeout(grow, 2000, Number(process.env.BALLAST_MB));
setInterval(() => keep.length, 1000);
JS

write_config "$T/hs.ini" agent.log_level=info trigger.growth_mb=0 trigger.rss_mb=$((BALLAST_MB - 50)) \
	capture.method=auto capture.timeout_s=300 ${LEVEL:+capture.compress_level=$LEVEL}
start_agent "$T/hs.ini"
mkdir -p "$T/app"
cd "$T/app" || exit 1

field() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
declare -a sig_r=() insp_r=() write_r=() size_r=()
for r in $(seq "$ROUNDS"); do
	anchor=$(env -u HEAPSNAP_TEST RECORDS=$RECORDS OUT="$T/anchor.heapsnapshot" "$NODE" "$T/heap.js" anchor)
	a_ms=$(echo "$anchor" | awk '{print $2}') a_bytes=$(echo "$anchor" | awk '{print $4}') a_write=$(echo "$anchor" | awk '{print $6}')
	RECORDS=$RECORDS BALLAST_MB=$BALLAST_MB start_node SIGNODE --heapsnapshot-signal=SIGUSR2 "$T/heap.js" watched
	wait_for 300 event_for "$SIGNODE" capture_done || fail "round $r: the signal route's node not captured"
	kill "$SIGNODE"
	RECORDS=$RECORDS BALLAST_MB=$BALLAST_MB start_node INSPNODE "$T/heap.js" watched
	wait_for 300 event_for "$INSPNODE" capture_done || fail "round $r: the inspector route's node not captured"
	s_line=$(event_line "$SIGNODE" capture_done) i_line=$(event_line "$INSPNODE" capture_done)
	echo "$s_line" | grep -q '"method":"signal"' || fail "round $r: not the signal route: $s_line"
	echo "$i_line" | grep -q '"method":"inspector"' || fail "round $r: not the inspector route: $i_line"
	s_ms=$(field "$s_line" capture_ms) s_bytes=$(field "$s_line" raw_bytes)
	i_ms=$(field "$i_line" capture_ms) i_bytes=$(field "$i_line" raw_bytes)
	kill "$INSPNODE"
	sig=$(awk "BEGIN{printf \"%.3f\", ($s_ms / $s_bytes) / ($a_ms / $a_bytes)}")
	insp=$(awk "BEGIN{printf \"%.3f\", ($i_ms / $i_bytes) / ($a_ms / $a_bytes)}")
	sig_r+=("$sig") insp_r+=("$insp")
	printf 'round %d: anchor %.0f ms (writing %.0f ms) %d B; signal %d ms %d B = %s; inspector %d ms %d B = %s\n' "$r" "$a_ms" "$a_write" "$a_bytes" \
		"$s_ms" "$s_bytes" "$sig" "$i_ms" "$i_bytes" "$insp"
	phases=$(grep "pid $INSPNODE: inspector phases" "$T/agent.err")
	echo "  $phases"
	# each stored file's size over gzip -6 of its own raw bytes, and the blocks the store
	# compressed at level 1 because it was behind V8
	size_vs_g6() {
		local gz; gz=$(ls -t "$T/store/"*"-$1-"*.heapsnapshot.gz | head -1)
		awk "BEGIN{printf \"%.3f\", $(stat -c %s "$gz") / $(zcat "$gz" | gzip -6 | wc -c)}"
	}
	g6_sig=$(size_vs_g6 "$SIGNODE") g6_insp=$(size_vs_g6 "$INSPNODE")
	printf '  size / gzip -6 of the same bytes: signal %s, inspector %s\n' "$g6_sig" "$g6_insp"
	size_r+=("$g6_sig" "$g6_insp")
	grep -E "pid ($SIGNODE|$INSPNODE): snapshot .* blocks at level 1" "$T/agent.err" | sed 's/^/  /' || true
	# V8 writing into the FIFO (first to last byte) over the anchor's writing into its file
	first=$(echo "$phases" | grep -o 'first byte [0-9]*' | grep -o '[0-9]*$')
	last=$(echo "$phases" | grep -o 'last byte [0-9]*' | grep -o '[0-9]*$')
	[ -n "$first" ] && [ -n "$last" ] && awk -v w="$a_write" 'BEGIN{exit !(w > 0)}' &&
		write_r+=("$(awk "BEGIN{printf \"%.2f\", ($last - $first) / $a_write}")")
done
stop_agent
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.3f", s / NR}'; }
printf 'FIGURE trigger->stored per byte / writeHeapSnapshot per byte (%d rounds, %d records): signal %s (%s), inspector %s (%s)\n' \
	"$ROUNDS" "$RECORDS" "$(mean "${sig_r[@]}")" "${sig_r[*]}" "$(mean "${insp_r[@]}")" "${insp_r[*]}"
printf 'FIGURE stored .gz / gzip -6 of the same raw bytes (both routes, every round): %s (%s)\n' \
	"$(mean "${size_r[@]}")" "${size_r[*]}"
if [ ${#write_r[@]} -gt 0 ]; then
	printf 'FIGURE inspector route: V8 writing into the FIFO / the anchor writing its file: %s (%s)\n' \
		"$(mean "${write_r[@]}")" "${write_r[*]}"
fi
