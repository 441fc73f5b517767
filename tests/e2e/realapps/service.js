// SPDX-License-Identifier: Apache-2.0
'use strict';
// A web service whose memory is held (or not) by a real npm library's internals, for the
// leak / no-leak tests. Nothing here is a class of the test's own: what grows is what the
// library keeps. Usage: node service.js MODE LEAK PORT [PAD_BYTES]
//   MODE     metrics | cache | session | schema | logger (real libraries), or
//            listeners | timers | closure | linked (the leak shapes, no library)
//   LEAK     1: the library used the way that leaks (one entry per distinct URL / request)
//            0: the same library used correctly (bounded) — the no-leak control
//   PAD      bytes of payload each kept entry carries (default 200): varies the leak's rate
// Prints "listening PORT" once it accepts connections, "first request MS" (epoch ms) at the first.
const http = require('http');
const express = require('express');
const [mode, leakArg, portArg, padArg] = process.argv.slice(2);
const leak = leakArg === '1';
const pad = 'x'.repeat(Number(padArg || 200));
const app = express();

function metricsRoutes() {
	const client = require('prom-client');
	const seen = new client.Counter({
		name: 'http_requests_total', help: 'requests', labelNames: ['path', 'note'],
	});
	// The leak: the raw URL as a label value, one series per distinct URL. The control:
	// the route template, a handful of series whatever the URLs.
	app.get('/item/:id', (req, res) => {
		seen.inc({ path: leak ? req.url + pad : '/item/:id', note: leak ? String(Date.now()) : 'x' });
		res.send('ok');
	});
	app.get('/metrics', async (req, res) => res.send(await client.register.metrics()));
}

function cacheRoutes() {
	const { LRUCache } = require('lru-cache');
	// The leak: a TTL-only cache (no max), so every distinct key stays for an hour.
	// The control: the same cache with a bound on its entries.
	const cache = leak ? new LRUCache({ ttl: 3600e3, ttlAutopurge: false })
		: new LRUCache({ max: 500 });
	app.get('/item/:id', (req, res) => {
		let v = cache.get(req.params.id);
		if (!v) { v = { id: req.params.id, body: JSON.stringify({ id: req.params.id, pad }), at: Date.now() }; cache.set(req.params.id, v); }
		res.send(String(v.at));
	});
}

function sessionRoutes() {
	const session = require('express-session');
	// The leak: the default MemoryStore with saveUninitialized and clients that never send
	// the cookie back: one stored session per request, never pruned. The control: sessions
	// only stored when the handler writes to them (it does not).
	app.use(session({
		secret: 'heapsnap-test', resave: false, saveUninitialized: leak,
		cookie: { maxAge: 3600e3 },
	}));
	app.get('/item/:id', (req, res) => {
		if (leak) req.session.last = req.params.id + pad;
		res.send('ok');
	});
}

function schemaRoutes() {
	const Ajv = require('ajv');
	const ajv = new Ajv();
	const fixed = ajv.compile({ type: 'object', properties: { id: { type: 'string' } } });
	// The leak: a schema literal built inside the handler: Ajv caches each compiled
	// schema object it is given, a new one per request. The control: compiled once.
	app.get('/item/:id', (req, res) => {
		const validate = leak ? ajv.compile({
			$comment: pad, type: 'object',
			properties: { id: { type: 'string', maxLength: req.params.id.length + 1 } },
		}) : fixed;
		res.send(String(validate({ id: req.params.id })));
	});
}

function loggerRoutes() {
	const winston = require('winston');
	const make = () => winston.createLogger({
		transports: [new winston.transports.Stream({ stream: devNull() })],
		exceptionHandlers: [new winston.transports.Stream({ stream: devNull() })],
		defaultMeta: { pad },
	});
	const shared = make();
	// The leak: a logger per request with an exception handler: each one adds a process
	// 'uncaughtException' listener that keeps it alive. The control: one logger.
	app.get('/item/:id', (req, res) => {
		const log = leak ? make() : shared;
		log.info('request', { id: req.params.id });
		res.send('ok');
	});
}

// The leak shapes without a library, each kept the way services keep them by mistake,
// one plain object per request (the control: nothing kept). Bodies are serialised (a
// flat string: `id + pad` would be a rope pointing at pad, a few bytes each).
function listenerRoutes() {
	// a process listener per request, never removed
	app.get('/item/:id', (req, res) => {
		const ctx = { url: req.url, body: JSON.stringify({ id: req.params.id, pad }) };
		if (leak) process.on('beforeExit', () => console.log(ctx.url));
		res.send('ok');
	});
}

function timerRoutes() {
	// an interval per request, never cleared
	app.get('/item/:id', (req, res) => {
		const job = { url: req.url, body: JSON.stringify({ id: req.params.id, pad }), polls: 0 };
		if (leak) setInterval(() => { job.polls++; }, 3600e3);
		res.send('ok');
	});
}

function closureRoutes() {
	// a memo kept in a closure's scope, one key per URL
	const remember = (() => {
		const seen = {};
		return (key, value) => { seen[key] = value; };
	})();
	app.get('/item/:id', (req, res) => {
		if (leak) remember(req.url, { body: JSON.stringify({ id: req.params.id, pad }), at: Date.now() });
		res.send('ok');
	});
}

function linkedRoutes() {
	// an audit trail as a linked list: each request's record points at the previous one
	const trail = { last: null };
	app.get('/item/:id', (req, res) => {
		if (leak) trail.last = { prev: trail.last, url: req.url, body: JSON.stringify({ id: req.params.id, pad }) };
		res.send('ok');
	});
}

function devNull() {
	const { Writable } = require('stream');
	return new Writable({ write(chunk, enc, cb) { cb(); }, objectMode: true });
}

const routes = { metrics: metricsRoutes, cache: cacheRoutes, session: sessionRoutes,
	schema: schemaRoutes, logger: loggerRoutes, listeners: listenerRoutes, timers: timerRoutes,
	closure: closureRoutes, linked: linkedRoutes }[mode];
if (!routes) { console.error('unknown mode ' + mode); process.exit(2); }
process.setMaxListeners(0);
routes();
const server = http.createServer(app);
server.keepAliveTimeout = 60e3;
// when the load really began (a load client may take seconds to start on a busy host)
server.once('request', () => console.log('first request ' + Date.now()));
server.listen(Number(portArg || 0), '127.0.0.1', () => console.log('listening ' + server.address().port));
