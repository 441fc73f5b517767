// SPDX-License-Identifier: Apache-2.0
// A leak that happens inside one long synchronous JS task (a CPU-bound request, a big
// JSON parse): LEAK_DELAY_MS (default 5000) after start, the main thread runs for
// BUSY_MS (default 10000) without returning to the event loop, retaining STEP_KB
// (default 2048) of Buffers every TICK_MS (default 100). Then it writes DONE_FILE (when
// set) and idles until killed; HEARTBEAT_FILE, when set, gets the time every 200 ms
// while the event loop turns (a witness that it turned after the task).
const fs = require('fs');
const DELAY = Number(process.env.LEAK_DELAY_MS || 5000);
const BUSY = Number(process.env.BUSY_MS || 10000);
const STEP_KB = Number(process.env.STEP_KB || 2048);
const TICK_MS = Number(process.env.TICK_MS || 100);
const retained = [];
setTimeout(() => {
  const end = Date.now() + BUSY;
  let next = Date.now();
  while (Date.now() < end) {
    if (Date.now() >= next) { retained.push(Buffer.alloc(STEP_KB * 1024, 1)); next += TICK_MS; }
  }
  if (process.env.DONE_FILE) fs.writeFileSync(process.env.DONE_FILE, String(Date.now()));
}, DELAY);
setInterval(() => {}, 1 << 30);
if (process.env.HEARTBEAT_FILE)
  setInterval(() => fs.writeFileSync(process.env.HEARTBEAT_FILE, String(Date.now())), 200);
