// SPDX-License-Identifier: Apache-2.0
// The leak shapes of e2e/57, one per process, each kept the way services keep such
// things by mistake, fed by a timer. SHAPE picks one:
//   listeners  a process.on('beforeExit') listener per job, never removed; its closure
//              keeps the job's context
//   timers     a setInterval per job, never cleared; its callback keeps the job
//   closure    jobs pushed onto an array only a closure's scope holds (record().history)
//   linked     an audit trail as a linked list of Node objects (AuditTrail.head -> next)
// Every TICK_MS (default 50) after LEAK_DELAY_MS (default 2000) the shape's function
// leaks PER_TICK (default 50) jobs, each with its own flat PAYLOAD-byte string (default
// 2000). The function is the timer's callback itself and makes the jobs in its own body:
// V8's sampling heap profile names a frame by its function's first line and does not
// show functions inlined into an optimized caller, so the line the test expects as the
// top allocation stack is `function leakListeners() {` (a helper called per job would be
// inlined into the loop and never be named).
const SHAPE = process.env.SHAPE || 'listeners';
const TICK_MS = Number(process.env.TICK_MS || 50);
const PER_TICK = Number(process.env.PER_TICK || 50);
const PAYLOAD = Number(process.env.PAYLOAD || 2000);
const DELAY = Number(process.env.LEAK_DELAY_MS || 2000);
const pad = 'x'.repeat(PAYLOAD);

process.setMaxListeners(0);

// Each job's body is a flat string of its own (`id + pad` would be a rope pointing at pad).
let id = 0;
function leakListeners() {
	for (let k = 0; k < PER_TICK; k++, id++) {
		const ctx = { id, body: JSON.stringify({ id, pad }), seen: 0 };
		process.on('beforeExit', () => { ctx.seen++; });
	}
}

function leakTimers() {
	for (let k = 0; k < PER_TICK; k++, id++) {
		const job = { id, body: JSON.stringify({ id, pad }), polls: 0 };
		setInterval(() => { job.polls++; }, 3600e3);
	}
}

function makeRecorder() {
	const history = [];
	return function record(entry) { history.push(entry); };
}
const record = makeRecorder();
function leakClosure() {
	for (let k = 0; k < PER_TICK; k++, id++)
		record({ id, body: JSON.stringify({ id, pad }), at: Date.now() });
}

class Node { constructor(value, next) { this.value = value; this.next = next; } }
class AuditTrail { constructor() { this.head = null; this.length = 0; } }
const trail = new AuditTrail();
function leakLinked() {
	for (let k = 0; k < PER_TICK; k++, id++) {
		trail.head = new Node({ id, body: JSON.stringify({ id, pad }) }, trail.head);
		trail.length++;
	}
}

const shapes = { listeners: leakListeners, timers: leakTimers, closure: leakClosure, linked: leakLinked };
const leak = shapes[SHAPE];
if (!leak) throw new Error('unknown SHAPE ' + SHAPE);
setTimeout(() => setInterval(leak, TICK_MS), DELAY);
setInterval(() => {}, 1 << 30);
