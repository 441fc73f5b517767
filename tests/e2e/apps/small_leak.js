// SPDX-License-Identifier: Apache-2.0
// A steady leak of small objects (the expensive kind to snapshot: cost tracks object
// count). After LEAK_DELAY_MS (default 5000: after the agent's settle time) it retains
// about RATE_MB (default 4) MB of {a, b} objects per second, in 10 steps a second,
// until the V8 heap in use reaches CAP_MB (0 = no cap); then it idles. HEAP_FILE, when
// set, gets heapUsed (bytes) every 100 ms, written atomically.
const fs = require('fs');
const DELAY = Number(process.env.LEAK_DELAY_MS || 5000);
const RATE = Number(process.env.RATE_MB || 4);
const CAP = Number(process.env.CAP_MB || 0) * 1048576;
const keep = [];
let i = 0;
function report() {
  if (!process.env.HEAP_FILE) return;
  fs.writeFileSync(process.env.HEAP_FILE + '.tmp', String(process.memoryUsage().heapUsed));
  fs.renameSync(process.env.HEAP_FILE + '.tmp', process.env.HEAP_FILE);
}
setTimeout(() => setInterval(() => {
  if (!CAP || process.memoryUsage().heapUsed < CAP) {
    const n = Math.floor(RATE * 1048576 / 10 / 48); // ~48 bytes per {a, b} and its slot
    const chunk = new Array(n);
    for (let k = 0; k < n; k++) chunk[k] = { a: i, b: i++ };
    keep.push(chunk);
  }
}, 100), DELAY);
setInterval(report, 100);
setInterval(() => {}, 1 << 30);
