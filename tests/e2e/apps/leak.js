// SPDX-License-Identifier: Apache-2.0
// A leaking service: every TICK_MS it retains STEP_KB of memory in LeakRecord objects
// held by a long-lived array (Buffers: RSS grows fast while the heap snapshot stays
// small and quick). Runs until killed. LEAK_DELAY_MS postpones the leak; HEARTBEAT_FILE,
// when set, gets the time every 200 ms while the event loop turns.
const STEP_KB = Number(process.env.STEP_KB || 2048);
const TICK_MS = Number(process.env.TICK_MS || 100);
const DELAY = Number(process.env.LEAK_DELAY_MS || 0);
class LeakRecord {
  constructor(n) { this.n = n; this.payload = Buffer.alloc(STEP_KB * 1024, n & 0xff); this.tags = [n, 'leak-' + n]; }
}
const retained = [];
let n = 0;
setTimeout(() => setInterval(() => { retained.push(new LeakRecord(n++)); }, TICK_MS), DELAY);
setInterval(() => {}, 1 << 30);
if (process.env.HEARTBEAT_FILE)
  setInterval(() => require('fs').writeFileSync(process.env.HEARTBEAT_FILE, String(Date.now())), 200);
