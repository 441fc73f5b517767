// SPDX-License-Identifier: Apache-2.0
// Many small objects: a heap whose snapshot is large and slow to write (cost tracks
// object count). OBJECTS (default 1500000) objects {i, s} are allocated DELAY_MS after
// start (default 5000: after the agent's 3 s settle, which its 1 s tick may stretch to
// 4 s), in batches of 10000 per event-loop turn (a trigger never lands inside one long
// JS task), then the process idles until killed. READY_FILE, when set, is written
// once they all exist; HEARTBEAT_FILE, when set, gets the time every 200 ms (the
// event loop still runs).
const fs = require('fs');
const COUNT = Number(process.env.OBJECTS || 1500000);
const DELAY = Number(process.env.DELAY_MS || 5000);
const BATCH = 10000;
const keep = [];
function allocate() {
  const end = Math.min(COUNT, keep.length + BATCH);
  for (let i = keep.length; i < end; i++) keep.push({ i, s: 'o' + i });
  if (keep.length < COUNT) setImmediate(allocate);
  else if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(keep.length));
}
setTimeout(allocate, DELAY);
if (process.env.HEARTBEAT_FILE)
  setInterval(() => fs.writeFileSync(process.env.HEARTBEAT_FILE, String(Date.now())), 200);
setInterval(() => {}, 1 << 30);
