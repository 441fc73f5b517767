// SPDX-License-Identifier: Apache-2.0
// A leaking app that handles SIGUSR1 itself (as some apps and process managers do),
// which keeps Node from opening its inspector on that signal. Leaks STEP_KB every
// TICK_MS after LEAK_DELAY_MS (Buffers, as leak.js); every SIGUSR1 it receives adds a
// line to HANDLED_FILE.
const fs = require('fs');
const STEP_KB = Number(process.env.STEP_KB || 2048);
const TICK_MS = Number(process.env.TICK_MS || 100);
const DELAY = Number(process.env.LEAK_DELAY_MS || 5000);
process.on('SIGUSR1', () => {
  if (process.env.HANDLED_FILE) fs.appendFileSync(process.env.HANDLED_FILE, `SIGUSR1 ${Date.now()}\n`);
});
const retained = [];
setTimeout(() => setInterval(() => retained.push(Buffer.alloc(STEP_KB * 1024, 1)), TICK_MS), DELAY);
setInterval(() => {}, 1 << 30);
