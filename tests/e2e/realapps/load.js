// SPDX-License-Identifier: Apache-2.0
'use strict';
// HTTP load for the real-library services: a new URL per request (/item/N), from
// CONNECTIONS connections for SECONDS, at most RATE requests/s in all (0 = as fast as the
// service answers). Usage: node load.js PORT SECONDS [CONNECTIONS=16] [RATE=0]
// Prints one JSON line: requests sent, non-2xx, errors, mean latency.
const autocannon = require('autocannon');
const [port, secs, conns, rate] = process.argv.slice(2).map(Number);
let n = 0;
const opts = {
	url: `http://127.0.0.1:${port}`, duration: secs, connections: conns || 16,
	requests: [{ setupRequest: (req) => { req.path = '/item/' + (n++).toString(36); return req; } }],
};
if (rate > 0) opts.overallRate = rate;
autocannon(opts, (err, r) => {
	if (err) { console.error(String(err)); process.exit(1); }
	console.log(JSON.stringify({ requests: r.requests.total, non2xx: r.non2xx, errors: r.errors,
		latency_ms: r.latency.average }));
});
