// SPDX-License-Identifier: Apache-2.0
// The intruder of the inspector-door tests (run as nobody): GET /json/list on
// 127.0.0.1:PORT; an answer naming a debugger session is appended to OUT. Every 50 ms
// until killed, or once ("once" as the third argument: exit 0 when it answered).
const http = require('http');
const fs = require('fs');
const [port, out, mode] = process.argv.slice(2);
function probe(done) {
  const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/json/list', timeout: 1000 }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => done(body.includes('webSocketDebuggerUrl') ? body : null));
  });
  req.on('error', () => done(null));
  req.on('timeout', () => { req.destroy(); });
}
if (mode === 'once') {
  probe((body) => process.exit(body ? 0 : 1));
} else {
  const loop = () => probe((body) => {
    if (body) fs.appendFileSync(out, new Date().toISOString() + ' ' + body.replace(/\s+/g, ' ') + '\n');
    setTimeout(loop, 50);
  });
  loop();
}
