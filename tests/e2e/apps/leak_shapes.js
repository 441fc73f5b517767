// SPDX-License-Identifier: Apache-2.0
// Leaks of several shapes, for the report and trigger tests. SHAPE picks what the
// application keeps, each held the way real services hold such things:
//   map        Session objects in a module-level Map cache that is never evicted
//   listeners  a Subscription captured by each listener added to a long-lived EventEmitter
//   timers     a PollJob captured by each setInterval callback (intervals never cleared)
//   records    Entry objects pushed onto a Ledger instance's array
// Every TICK_MS (default 100) it makes PER_TICK (default 200) of them, each with a
// distinct PAYLOAD-byte string (default 200), after LEAK_DELAY_MS (default 4000), and
// stops after STOP_MB of leaked payload (0 = never). It also allocates garbage all the
// time (GARBAGE per tick, default 2000 small objects) so the heap has a sawtooth.
// HEAP_FILE, when set, gets heapUsed (bytes) every 100 ms, written atomically.
// PREFILL retains that many small {i, s} objects at start (a heap slow to snapshot);
// GO_FILE, when set, holds the leak back until that file exists.
const fs = require('fs');
const { EventEmitter } = require('events');
const SHAPE = process.env.SHAPE || 'map';
const TICK_MS = Number(process.env.TICK_MS || 100);
const PER_TICK = Number(process.env.PER_TICK || 200);
const PAYLOAD = Number(process.env.PAYLOAD || 200);
const DELAY = Number(process.env.LEAK_DELAY_MS || 4000);
const STOP = Number(process.env.STOP_MB || 0) * 1048576;
const GARBAGE = Number(process.env.GARBAGE || 2000);

class Session { constructor(id, p) { this.id = id; this.user = 'user-' + id; this.token = p; this.created = Date.now(); } }
class Subscription { constructor(id, p) { this.id = id; this.topic = p; this.seen = 0; } }
class PollJob { constructor(id, p) { this.id = id; this.url = p; this.polls = 0; } poll() { this.polls++; } }
class Entry { constructor(id, p) { this.id = id; this.memo = p; this.amount = id * 3; } }
class Ledger { constructor() { this.entries = []; } }

const sessions = new Map();
const bus = new EventEmitter();
bus.setMaxListeners(0);
const ledger = new Ledger();
globalThis.keepAlive = { sessions, bus, ledger };

let id = 0, leaked = 0;
function payload(n) { return Buffer.alloc(PAYLOAD, 97 + n % 26).toString('latin1'); } // flat, one per object
function leakOne() {
  const p = payload(id);
  switch (SHAPE) {
  case 'map': sessions.set('s' + id, new Session(id, p)); break;
  case 'listeners': { const sub = new Subscription(id, p); bus.on('tick', () => { sub.seen++; }); break; }
  case 'timers': { const job = new PollJob(id, p); setInterval(() => job.poll(), 1e9); break; }
  case 'records': ledger.entries.push(new Entry(id, p)); break;
  default: throw new Error('unknown SHAPE ' + SHAPE);
  }
  id++;
  leaked += PAYLOAD;
}
const prefill = [];
for (let i = 0; i < Number(process.env.PREFILL || 0); i++) prefill.push({ i, s: 'p' + i });
globalThis.keepAlive.prefill = prefill;
let sink;
setTimeout(() => setInterval(() => {
  if (process.env.GO_FILE && !fs.existsSync(process.env.GO_FILE)) return;
  if (!STOP || leaked < STOP)
    for (let k = 0; k < PER_TICK; k++) leakOne();
}, TICK_MS), DELAY);
setInterval(() => {
  const g = [];
  for (let i = 0; i < GARBAGE; i++) g.push({ i, s: 'g' + i });
  sink = g;
}, TICK_MS);
if (process.env.HEAP_FILE)
  setInterval(() => {
    fs.writeFileSync(process.env.HEAP_FILE + '.tmp', String(process.memoryUsage().heapUsed));
    fs.renameSync(process.env.HEAP_FILE + '.tmp', process.env.HEAP_FILE);
  }, 100);
setInterval(() => {}, 1 << 30);
