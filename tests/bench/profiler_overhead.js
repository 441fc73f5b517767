// SPDX-License-Identifier: Apache-2.0
'use strict';
// The cost of the in-process sampling heap profiler, measured inside one target process
// (run by profiler_overhead.sh; see there for why this shape).
//   node --expose-gc profiler_overhead.js "session 128 512 1024 4096" PAIRS ARM_MS
// The unit of work is one request of an allocation-heavy handler without its HTTP
// framing (build ~100 small objects and strings, serialise them, keep the last 20 000
// results in a bounded Map): the framing allocates little, so leaving it out makes the
// profiler's share of the work larger, not smaller. An arm runs a fixed number of units
// (calibrated to ARM_MS of CPU) and costs the process's CPU time (process.cpuUsage: user
// + system of every thread, GC helpers included). A pair is one arm with the profiler
// off and one with it on at one interval, in alternating order (off-on, then on-off);
// its ratio is CPU off / CPU on, which is throughput on / off for a CPU-bound service.
// Rounds go over every interval in a rotating order, so all intervals see the same
// machine. The interval "session" is the control: the in-process session connected,
// no sampling; its ratio shows the measurement's own bias. Prints one JSON line per
// interval.
const inspector = require('inspector');

const SESSION = -1;
const intervalsKb = process.argv[2].split(/\s+/).filter(Boolean).map((v) => (v === 'session' ? SESSION : Number(v)));
const pairs = Number(process.argv[3]);
const armMs = Number(process.argv[4]);
const KEY = Symbol.for('heapsnap.profiler');

// profiler.c's START_JS, the way the agent starts it (kb = SESSION: connect only);
// stop is the reverse.
function start(kb) {
	const s = new inspector.Session(); s.connect(); let err = null;
	if (kb !== SESSION) s.post('HeapProfiler.startSampling', { samplingInterval: kb * 1024 }, (e) => { err = e; });
	if (err) { s.disconnect(); throw err; }
	Object.defineProperty(globalThis, KEY, { value: s, enumerable: false, configurable: true });
}
function stop(kb) {
	const s = globalThis[KEY]; let err = null;
	if (kb !== SESSION) s.post('HeapProfiler.stopSampling', (e) => { err = e; });
	if (err) throw err;
	s.disconnect();
	delete globalThis[KEY];
}

const recent = new Map();
let seq = 0;
function request(id) {
	const url = '/item/' + id + '?q=' + (seq & 1023);
	const items = [];
	for (let i = 0; i < 100; i++)
		items.push({ id: id + '-' + i, name: 'item ' + i + ' of ' + url, tags: ['a', 'b', String(i)], score: i * 0.5 });
	const body = JSON.stringify({ items, at: Date.now() });
	recent.set(seq++, { url, size: body.length, first: items[0] });
	if (recent.size > 20000) recent.delete(recent.keys().next().value);
	return body.length;
}

let sink = 0;
function work(units) {
	for (let i = 0; i < units; i++) sink += request(i);
}
function cpuUs() {
	const u = process.cpuUsage();
	return u.user + u.system;
}
function arm(units, kb) {
	gc(); // every arm starts from a collected heap: a major GC lands in none or in both
	if (kb) start(kb);
	const c0 = cpuUs();
	work(units);
	const used = cpuUs() - c0;
	if (kb) stop(kb);
	return used;
}

// warm up (JIT, the Map full) and calibrate the arm to armMs of CPU, profiler off
let units = 200;
work(30000);
for (;;) {
	const used = arm(units, 0);
	if (used >= armMs * 1000 * 0.5) { units = Math.max(1, Math.round(units * armMs * 1000 / used)); break; }
	units *= 2;
}
for (const kb of intervalsKb) arm(units, kb); // each interval once before counting

const ratios = new Map(intervalsKb.map((kb) => [kb, []]));
const sums = new Map(intervalsKb.map((kb) => [kb, { off: 0, on: 0 }]));
for (let r = 0; r < pairs; r++) {
	const k = r % intervalsKb.length;
	for (const kb of intervalsKb.slice(k).concat(intervalsKb.slice(0, k))) {
		let off, on;
		if (r % 2 === 0) { off = arm(units, 0); on = arm(units, kb); } else { on = arm(units, kb); off = arm(units, 0); }
		ratios.get(kb).push(off / on);
		sums.get(kb).off += off; sums.get(kb).on += on;
	}
}

// the median with a ~95 % interval from order statistics (binomial: ranks n/2 ± 0.98 √n)
function summary(xs) {
	const s = xs.slice().sort((a, b) => a - b), n = s.length;
	const at = (q) => s[Math.min(n - 1, Math.max(0, Math.round(q * (n - 1))))];
	const h = 0.98 * Math.sqrt(n);
	return {
		median: at(0.5), p25: at(0.25), p75: at(0.75), min: s[0], max: s[n - 1],
		ci_lo: s[Math.max(0, Math.floor(n / 2 - h))], ci_hi: s[Math.min(n - 1, Math.ceil(n / 2 + h))],
	};
}
for (const kb of intervalsKb) {
	const sm = summary(ratios.get(kb));
	const t = sums.get(kb);
	console.log(JSON.stringify({ interval_kb: kb === SESSION ? 'session' : kb, pairs, units_per_arm: units,
		cpu_ms_per_arm_off: t.off / pairs / 1000, total_ratio: t.off / t.on, ...sm }));
}
