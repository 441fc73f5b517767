#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures the memory a V8 heap snapshot costs: for each heap shape and size, a fresh
# node process builds the heap, runs a full GC, resets its peak-RSS counter
# (echo 5 > /proc/self/clear_refs), calls v8.writeHeapSnapshot, and reports
#   extra = VmHWM after the snapshot - VmRSS just before it
# next to heapUsed, the snapshot's node_count/edge_count, duration and file size.
# Not a test: it prints a table (TSV) that sets the guard's default cost model.
#   NODE=/usr/bin/node SHAPES="small medium strings numbers records tiny_arrays linked arrays" SIZES_MB="20 50 100 200" bash tests/bench/snapshot_cost.sh
# ROUTE=inspector measures HeapProfiler.takeHeapSnapshot instead, taken by an outside
# client that reads the chunks as fast as it can (CLIENT_NODE: a Node >= 22, which has
# a WebSocket client; the peak is reset from outside through /proc/PID/clear_refs).
set -u
NODE=${NODE:-/usr/bin/node}
SHAPES=${SHAPES:-"small medium strings numbers records tiny_arrays linked arrays"}
SIZES_MB=${SIZES_MB:-"20 50 100 200"}
ROUTE=${ROUTE:-write}
CLIENT_NODE=${CLIENT_NODE:-}
work=$(mktemp -d /tmp/hs-snapcost.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/measure.js" <<'JS'
'use strict';
const fs = require('fs'), v8 = require('v8');
const [shape, mbStr, dir] = process.argv.slice(2);
const target = Number(mbStr) * 1024 * 1024;
const keep = [];
const builders = {
	// ~2-property objects: the most nodes per heap byte
	small: (i) => ({ a: i, b: i + 1 }),
	// 16 properties and a distinct 40-char string
	medium: (i) => {
		const o = { s: 'medium-object-' + String(i).padStart(26, '0') };
		for (let k = 0; k < 16; k++) o['p' + k] = i + k;
		return o;
	},
	// distinct short strings
	strings: (i) => 'str' + i,
	// boxed doubles (HeapNumbers, 16 bytes each) in generic arrays: the fewest bytes per node
	numbers: (i) => i + 0.5,
	// a typical JSON record: object, distinct string, small array, boxed double
	records: (i) => ({ id: i, name: 'user' + i, tags: ['a', 'b'], score: i + 0.5 }),
	// one-element arrays (a JSArray and its backing store: two nodes)
	tiny_arrays: (i) => [i],
	// a linked list of {v, next}: no array slot per object
	linked: (() => { let head = null; return (i) => (head = { v: i, next: head }); })(),
	// 100k-element arrays of small integers (one node, ~800 KB each)
	arrays: (i) => { const a = new Array(100000); for (let k = 0; k < a.length; k++) a[k] = (i + k) & 0xffff; return a; },
};
const make = builders[shape];
if (!make) throw new Error('unknown shape ' + shape);
const newChunk = () => [null]; // null first: generic elements, doubles stay boxed
let i = 0, chunk = newChunk();
while (true) {
	chunk.push(make(i++));
	if (chunk.length === 10000 || shape === 'arrays') { keep.push(chunk); chunk = newChunk(); }
	if ((i & 0x3fff) === 0 || shape === 'arrays') {
		if (process.memoryUsage().heapUsed >= target) break;
	}
}
keep.push(chunk);
global.gc(); global.gc();
const status = () => {
	const o = {};
	for (const l of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
		const m = /^(VmHWM|VmRSS):\s+(\d+) kB/.exec(l);
		if (m) o[m[1]] = Number(m[2]) * 1024;
	}
	return o;
};
const mu = process.memoryUsage();
if (process.env.ROUTE === 'inspector') {
	// hand over to the outside client: say we are ready, keep the heap, wait for SIGTERM
	require('inspector').open(0, '127.0.0.1');
	fs.writeFileSync(dir + '/ready', JSON.stringify({ url: require('inspector').url(), heapUsed: mu.heapUsed }));
	setInterval(() => keep.length, 1000);
	return;
}
fs.writeFileSync('/proc/self/clear_refs', '5');
const before = status();
const t0 = process.hrtime.bigint();
const file = v8.writeHeapSnapshot(dir + '/s.heapsnapshot');
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const after = status();
const head = Buffer.alloc(4096);
const fd = fs.openSync(file, 'r'); fs.readSync(fd, head, 0, 4096, 0); fs.closeSync(fd);
const num = (k) => Number((new RegExp('"' + k + '":(\\d+)')).exec(head.toString())[1]);
const size = fs.statSync(file).size;
fs.unlinkSync(file);
const MB = (b) => (b / 1048576).toFixed(1);
const extra = after.VmHWM - before.VmRSS;
console.log([shape, MB(mu.heapUsed), MB(before.VmRSS), MB(after.VmHWM), MB(extra),
	(extra / mu.heapUsed).toFixed(2), num('node_count'), num('edge_count'),
	(extra / num('node_count')).toFixed(0), secs.toFixed(2), MB(size)].join('\t'));
keep.length; // keep the heap alive until here
JS

cat >"$work/client.js" <<'JS'
'use strict';
// client.js PID DIR SHAPE: takes a snapshot of PID over its inspector, prints the row.
const fs = require('fs');
const [pid, dir, shape] = process.argv.slice(2);
const ready = JSON.parse(fs.readFileSync(dir + '/ready', 'utf8'));
const status = () => {
	const o = {};
	for (const l of fs.readFileSync('/proc/' + pid + '/status', 'utf8').split('\n')) {
		const m = /^(VmHWM|VmRSS):\s+(\d+) kB/.exec(l);
		if (m) o[m[1]] = Number(m[2]) * 1024;
	}
	return o;
};
const ws = new WebSocket(ready.url);
let bytes = 0, t0, before, head = '';
ws.onopen = () => {
	fs.writeFileSync('/proc/' + pid + '/clear_refs', '5');
	before = status();
	t0 = process.hrtime.bigint();
	ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
};
ws.onmessage = (ev) => {
	const msg = JSON.parse(ev.data);
	if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') {
		if (head.length < 4096) head += msg.params.chunk.slice(0, 4096);
		bytes += msg.params.chunk.length;
		return;
	}
	if (msg.id !== 1) return;
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	const after = status();
	const num = (k) => Number((new RegExp('"' + k + '":(\\d+)')).exec(head)[1]);
	const MB = (b) => (b / 1048576).toFixed(1);
	const extra = after.VmHWM - before.VmRSS;
	console.log([shape + '/insp', MB(ready.heapUsed), MB(before.VmRSS), MB(after.VmHWM), MB(extra),
		(extra / ready.heapUsed).toFixed(2), num('node_count'), num('edge_count'),
		(extra / num('node_count')).toFixed(0), secs.toFixed(2), MB(bytes)].join('\t'));
	ws.close();
	process.exit(0);
};
ws.onerror = (e) => { console.error('client:', e.message); process.exit(1); };
JS

measure_inspector() { # $1 shape, $2 MB
	rm -f "$work/ready"
	ROUTE=inspector "$NODE" --expose-gc --max-old-space-size=8192 "$work/measure.js" "$1" "$2" "$work" &
	local pid=$! i
	for i in $(seq 600); do [ -s "$work/ready" ] && break; sleep 0.5; done
	timeout 600 "$CLIENT_NODE" "$work/client.js" "$pid" "$work" "$1" || echo "$1/insp	$2	(failed)"
	kill "$pid"; wait "$pid" 2>/dev/null
}

printf 'shape\theap_used_mb\trss_before_mb\tpeak_rss_mb\textra_mb\textra/heap\tnodes\tedges\textra_B/node\tsecs\tfile_mb\n'
for shape in $SHAPES; do
	for mb in $SIZES_MB; do
		if [ "$ROUTE" = inspector ]; then measure_inspector "$shape" "$mb"; continue; fi
		timeout 600 "$NODE" --expose-gc --max-old-space-size=8192 "$work/measure.js" "$shape" "$mb" "$work" ||
			echo "$shape	$mb	(failed rc=$?)"
	done
done
