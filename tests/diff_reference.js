#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Independent implementation of `heapsnap diff --json` and `heapsnap summary --json`
// for golden comparison: reads the whole snapshot with JSON.parse (no shared code
// with the C parser), and computes dominators with the Cooper–Harvey–Kennedy
// iterative algorithm (the C side uses Lengauer–Tarjan).
//   node diff_reference.js diff BASE NEW      -> same JSON array as heapsnap diff --json
//   node diff_reference.js summary FILE       -> same JSON array as heapsnap summary --json
'use strict';
const fs = require('fs');
const zlib = require('zlib');

function load(path) {
  let buf = fs.readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  const j = JSON.parse(buf.toString('utf8'));
  const meta = j.snapshot.meta;
  const nf = meta.node_fields, ef = meta.edge_fields;
  const N = nf.length, E = ef.length;
  const f = (name) => nf.indexOf(name);
  const nodeTypes = meta.node_types[f('type')];
  const edgeTypes = meta.edge_types[ef.indexOf('type')];
  const count = j.nodes.length / N;
  const s = {
    count, strings: j.strings, nodeTypes, edgeTypes,
    type: new Array(count), name: new Array(count), id: new Array(count),
    size: new Array(count), firstEdge: new Array(count + 1),
    edgeType: [], edgeName: [], edgeTo: [],
  };
  let e = 0;
  for (let i = 0; i < count; i++) {
    s.type[i] = nodeTypes[j.nodes[i * N + f('type')]];
    s.name[i] = j.strings[j.nodes[i * N + f('name')]];
    s.id[i] = j.nodes[i * N + f('id')];
    s.size[i] = j.nodes[i * N + f('self_size')];
    s.firstEdge[i] = e;
    e += j.nodes[i * N + f('edge_count')];
  }
  s.firstEdge[count] = e;
  const ti = ef.indexOf('type'), ni = ef.indexOf('name_or_index'), to = ef.indexOf('to_node');
  for (let k = 0; k < j.edges.length; k += E) {
    s.edgeType.push(edgeTypes[j.edges[k + ti]]);
    s.edgeName.push(j.edges[k + ni]);
    s.edgeTo.push(j.edges[k + to] / N);
  }
  return s;
}

function className(s, i) {
  const t = s.type[i];
  if (t === 'hidden') return '(system)';
  if (t === 'object' || t === 'native') return s.name[i];
  if (t === 'code') return '(compiled code)';
  return '(' + t + ')';
}

const counted = (s, i) => s.size[i] > 0 || s.type[i] === 'native';

function cmpStr(a, b) { // byte order of the UTF-8 encodings, like strcmp in C
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function diff(base, cur) {
  const baseIds = new Set(base.id), curIds = new Set(cur.id);
  const by = new Map();
  const get = (c) => {
    if (!by.has(c)) by.set(c, { class: c, new_count: 0, deleted_count: 0, delta_count: 0,
      alloc_bytes: 0, freed_bytes: 0, delta_bytes: 0 });
    return by.get(c);
  };
  for (let i = 0; i < cur.count; i++) {
    if (!counted(cur, i) || baseIds.has(cur.id[i])) continue;
    const c = get(className(cur, i));
    c.new_count++; c.alloc_bytes += cur.size[i];
  }
  for (let i = 0; i < base.count; i++) {
    if (!counted(base, i) || curIds.has(base.id[i])) continue;
    const c = get(className(base, i));
    c.deleted_count++; c.freed_bytes += base.size[i];
  }
  const out = [...by.values()];
  for (const c of out) {
    c.delta_count = c.new_count - c.deleted_count;
    c.delta_bytes = c.alloc_bytes - c.freed_bytes;
  }
  out.sort((a, b) => (b.delta_bytes - a.delta_bytes) || cmpStr(a.class, b.class));
  return out;
}

const essential = (s, from, e) =>
  s.edgeType[e] !== 'weak' && (s.edgeType[e] !== 'shortcut' || from === 0);

// Post order of the graph plus virtual root edges to whatever the root cannot reach.
function postOrder(s) {
  const visited = new Uint8Array(s.count), order = [], virt = [];
  const dfs = (start) => {
    const stack = [[start, s.firstEdge[start]]];
    visited[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const u = top[0];
      let pushed = false;
      while (top[1] < s.firstEdge[u + 1]) {
        const e = top[1]++;
        const v = s.edgeTo[e];
        if (!essential(s, u, e) || visited[v]) continue;
        visited[v] = 1;
        stack.push([v, s.firstEdge[v]]);
        pushed = true;
        break;
      }
      if (!pushed) { order.push(u); stack.pop(); }
    }
  };
  dfs(0);
  order.pop(); // root goes last, after its virtual children
  for (let v = 1; v < s.count; v++) if (!visited[v]) { virt.push(v); dfs(v); }
  order.push(0);
  return { order, virt };
}

function dominators(s) {
  const { order, virt } = postOrder(s);
  const po = new Int32Array(s.count);
  order.forEach((v, i) => { po[v] = i; });
  const preds = Array.from({ length: s.count }, () => []);
  for (let u = 0; u < s.count; u++)
    for (let e = s.firstEdge[u]; e < s.firstEdge[u + 1]; e++)
      if (essential(s, u, e)) preds[s.edgeTo[e]].push(u);
  for (const v of virt) preds[v].push(0);
  const idom = new Int32Array(s.count).fill(-1);
  idom[0] = 0;
  const intersect = (a, b) => {
    while (a !== b) {
      while (po[a] < po[b]) a = idom[a];
      while (po[b] < po[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let k = order.length - 2; k >= 0; k--) {
      const v = order[k];
      let d = -1;
      for (const p of preds[v]) {
        if (idom[p] === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== idom[v]) { idom[v] = d; changed = true; }
    }
  }
  const retained = s.size.slice();
  for (let k = 0; k < order.length - 1; k++) { // post order: children before parents
    const v = order[k];
    retained[idom[v]] += retained[v];
  }
  return { idom, retained };
}

function summary(s) {
  const { idom, retained } = dominators(s);
  const kids = Array.from({ length: s.count }, () => []);
  for (let v = 1; v < s.count; v++) kids[idom[v]].push(v);
  const by = new Map();
  const get = (c) => {
    if (!by.has(c)) by.set(c, { class: c, count: 0, shallow_bytes: 0, retained_bytes: 0 });
    return by.get(c);
  };
  const depth = new Map();
  const walk = [[0, 0]];
  const enter = (v) => {
    if (!counted(s, v)) return;
    const c = className(s, v), e = get(c), d = depth.get(c) || 0;
    e.count++; e.shallow_bytes += s.size[v];
    if (d === 0) e.retained_bytes += retained[v];
    depth.set(c, d + 1);
  };
  enter(0);
  while (walk.length) {
    const top = walk[walk.length - 1], v = top[0];
    if (top[1] === kids[v].length) {
      if (counted(s, v)) depth.set(className(s, v), depth.get(className(s, v)) - 1);
      walk.pop();
      continue;
    }
    const c = kids[v][top[1]++];
    enter(c);
    walk.push([c, 0]);
  }
  const out = [...by.values()];
  out.sort((a, b) => (b.retained_bytes - a.retained_bytes) || cmpStr(a.class, b.class));
  return out;
}

function main() {
  const [cmd, a, b] = process.argv.slice(2);
  let out;
  if (cmd === 'diff' && a && b) out = diff(load(a), load(b));
  else if (cmd === 'summary' && a) out = summary(load(a));
  else {
    process.stderr.write('usage: diff_reference.js diff BASE NEW | summary FILE\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main();
