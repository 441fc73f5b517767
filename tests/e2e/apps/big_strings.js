// SPDX-License-Identifier: Apache-2.0
// A process whose heap snapshot is big (STRINGS_MB of distinct strings, ~1 KB each,
// hex so it compresses ~2x only) and quick to take (few objects). Allocates it all
// in one synchronous task after START_MS, then idles until killed.
const crypto = require('crypto');
const MB = Number(process.env.STRINGS_MB || 220);
const kept = [];
setTimeout(() => {
  const n = MB * 1024;
  for (let i = 0; i < n; i++) kept.push(crypto.randomBytes(500).toString('hex'));
}, Number(process.env.START_MS || 500));
setInterval(() => {}, 1 << 30);
