// SPDX-License-Identifier: Apache-2.0
// Leaking programs for the diff/report golden test: node diff_leak.js SHAPE DIR [N]
// writes DIR/base.heapsnapshot, leaks N units of SHAPE, then DIR/new.heapsnapshot.
// The leaking constructor of each shape is printed on stdout.
'use strict';
const v8 = require('v8');
const path = require('path');
const { EventEmitter } = require('events');

const [shape, dir, nArg] = process.argv.slice(2);
const n = Number(nArg || 3000);

class Session {            // map_cache: values of an unbounded Map
  constructor(i) { this.id = i; this.user = 'user' + i; this.history = new Array(40).fill(i); }
}
class Subscriber {         // listeners: each registers a listener and is never removed
  constructor(bus, i) {
    this.i = i;
    this.buffer = new Array(60).fill(i);
    bus.on('tick', () => this.onTick());
  }
  onTick() { return this.i; }
}
class Order {              // orders: records holding arrays of small plain objects
  constructor(i) {
    this.no = i;
    this.items = [];
    for (let k = 0; k < 12; k++) this.items.push({ sku: 'sku' + k, qty: k + i });
  }
}

const cache = new Map();
const bus = new EventEmitter();
bus.setMaxListeners(0);
const registry = { orders: [] };
let churn = [];
for (let i = 0; i < 2000; i++) churn.push({ tmp: i, s: 'churn' + i });

const leaks = {
  map_cache: ['Session', (i) => cache.set('k' + i, new Session(i))],
  listeners: ['Subscriber', (i) => new Subscriber(bus, i)],
  orders: ['Order', (i) => registry.orders.push(new Order(i))],
};
if (!leaks[shape]) { console.error('unknown shape ' + shape); process.exit(2); }
const [leaker, leakOne] = leaks[shape];

// The agent's baseline is taken once a process already looks suspicious: the
// leak has begun (and its container exists) before BASE.
const before = Math.floor(n / 4);
for (let i = 0; i < before; i++) leakOne(i);
v8.writeHeapSnapshot(path.join(dir, 'base.heapsnapshot'));
churn = null;  // freed between the snapshots: gives "deleted" rows
for (let i = before; i < n; i++) leakOne(i);
v8.writeHeapSnapshot(path.join(dir, 'new.heapsnapshot'));
console.log(leaker);
