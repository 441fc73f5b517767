#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The peer side of tests/bench/diff.sh: the same Comparison and Summary views as
// heapsnap diff/summary --json, computed on memlab's own snapshot loader
// (@memlab/heap-analysis getFullHeapFromFile: parse, dominators, retained sizes).
//   MEMLAB_DIR=... node memlab_diff.js diff BASE NEW | summary FILE
'use strict';
const dir = (process.env.MEMLAB_DIR || '/var/cache/heapsnap-test/memlab') + '/node_modules/';
const { getFullHeapFromFile } = require(dir + '@memlab/heap-analysis');

const cls = (n) => n.type === 'hidden' ? '(system)'
  : (n.type === 'object' || n.type === 'native') ? n.name
  : n.type === 'code' ? '(compiled code)' : '(' + n.type + ')';
const counted = (n) => n.self_size > 0 || n.type === 'native';
const cmp = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

async function diff(basePath, newPath) {
  const rows = new Map();
  const row = (c) => rows.get(c) || rows.set(c, { class: c, new_count: 0, deleted_count: 0,
    delta_count: 0, alloc_bytes: 0, freed_bytes: 0, delta_bytes: 0 }).get(c);
  const base = await getFullHeapFromFile(basePath);
  const baseIds = new Set();
  base.nodes.forEach((n) => { baseIds.add(n.id); });
  const cur = await getFullHeapFromFile(newPath);
  const curIds = new Set();
  cur.nodes.forEach((n) => {
    curIds.add(n.id);
    if (!counted(n) || baseIds.has(n.id)) return;
    const r = row(cls(n)); r.new_count++; r.alloc_bytes += n.self_size;
  });
  base.nodes.forEach((n) => {
    if (!counted(n) || curIds.has(n.id)) return;
    const r = row(cls(n)); r.deleted_count++; r.freed_bytes += n.self_size;
  });
  const out = [...rows.values()];
  for (const r of out) { r.delta_count = r.new_count - r.deleted_count; r.delta_bytes = r.alloc_bytes - r.freed_bytes; }
  return out.sort((a, b) => (b.delta_bytes - a.delta_bytes) || cmp(a.class, b.class));
}

async function summary(path) {
  const heap = await getFullHeapFromFile(path);
  const kids = new Map(), rows = new Map();
  let root = null;
  heap.nodes.forEach((n) => {
    const d = n.dominatorNode;
    if (!d || d.id === n.id) { root = root || n; return; }
    (kids.get(d.id) || kids.set(d.id, []).get(d.id)).push(n);
  });
  const depth = new Map();
  const visit = (n, enter) => {
    if (!counted(n)) return;
    const c = cls(n);
    if (!enter) { depth.set(c, depth.get(c) - 1); return; }
    const r = rows.get(c) || rows.set(c, { class: c, count: 0, shallow_bytes: 0, retained_bytes: 0 }).get(c);
    r.count++; r.shallow_bytes += n.self_size;
    if (!depth.get(c)) r.retained_bytes += n.retainedSize;
    depth.set(c, (depth.get(c) || 0) + 1);
  };
  const stack = [[root, 0]];
  visit(root, true);
  while (stack.length) {
    const top = stack[stack.length - 1], list = kids.get(top[0].id) || [];
    if (top[1] === list.length) { visit(top[0], false); stack.pop(); continue; }
    const c = list[top[1]++];
    visit(c, true);
    stack.push([c, 0]);
  }
  return [...rows.values()].sort((a, b) => (b.retained_bytes - a.retained_bytes) || cmp(a.class, b.class));
}

(async () => {
  const [cmd, a, b] = process.argv.slice(2);
  const out = cmd === 'diff' ? await diff(a, b) : cmd === 'summary' ? await summary(a) : null;
  if (!out) { console.error('usage: memlab_diff.js diff BASE NEW | summary FILE'); process.exit(2); }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
