#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end: a flagged leaking node started before the agent and one started
# after are both captured through --heapsnapshot-signal; the stable one is not; stored
# files are gzip 0600 in a 0700 store, verified, and `heapsnap get` returns a snapshot
# that parses; the raw Heap.* file is gone from the app's directory.
source "$(dirname "$0")/lib.sh"
need_root

write_config "$T/hs.ini"
mkdir -p "$T/app-before" "$T/app-after" "$T/app-stable"

cd "$T/app-before" && start_node BEFORE --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T/app-stable" && start_node STABLE --heapsnapshot-signal=SIGUSR2 "$APPS/stable.js"
cd "$T"
sleep 0.3
start_agent "$T/hs.ini"
grep -q "watching pid $BEFORE " "$T/agent.err" || fail "pid $BEFORE found by the /proc scan"
cd "$T/app-after" && NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2 start_node AFTER "$APPS/leak.js"
cd "$T"

wait_for 60 event_for "$BEFORE" capture_done || fail "no capture_done for the process started before the agent"
wait_for 60 event_for "$AFTER" capture_done || fail "no capture_done for the process started after the agent"
event_for "$BEFORE" trigger || fail "no trigger event before the capture"
event_for "$STABLE" trigger && fail "the stable process triggered"

kill -0 "$BEFORE" && kill -0 "$AFTER" || fail "a captured process died"
ls "$T"/app-*/Heap.*.heapsnapshot 2>/dev/null && fail "raw Heap.* files left in the app directories"

"$HEAPSNAP" --store "$T/store" list --json > "$T/list.json" || fail "heapsnap list --json failed"
nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const want = process.argv.slice(2).map(Number);
  for (const pid of want) {
    const s = l.find(x => x.pid === pid);
    if (!s) { console.error("no snapshot for", pid); process.exit(1); }
    for (const k of ["id","pid","method","reason","rss_bytes","raw_bytes","size_bytes","capture_ms","started_at"])
      if (!(k in s)) { console.error("missing key", k); process.exit(1); }
    if (s.method !== "signal" || s.reason !== "growth" || !(s.raw_bytes > s.size_bytes) || s.size_bytes <= 0) {
      console.error("bad entry", JSON.stringify(s)); process.exit(1); }
  }
  if (l.length !== want.length) { console.error("expected", want.length, "snapshots, got", l.length); process.exit(1); }
' "$T/list.json" "$BEFORE" "$AFTER" || fail "list --json content"

[ "$(stat -c %a "$T/store")" = 700 ] || fail "store is not 0700"
for f in "$T"/store/*; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
done
id=$(nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].id)' "$T/list.json")
gzip -t "$T/store/$id.heapsnapshot.gz" || fail "stored file is not gzip"
"$HEAPSNAP" --store "$T/store" get "$id" -o "$T/got.heapsnapshot" || fail "heapsnap get failed"
snapshot_ok "$T/got.heapsnapshot" || fail "the fetched snapshot does not parse"
"$HEAPSNAP" --store "$T/store" show "$id" --json | grep -q '"method"' || fail "show --json"
blocks=$(nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).compress_blocks)' "$T/store/$id.json")
"$HEAPSNAP" --store "$T/store" show "$id" | grep -q "^compression: *$blocks blocks, [0-9]* of them at level 1" ||
	fail "show does not print the compression blocks ($blocks in ID.json)"

stop_agent
[ -z "$(ls "$T/store" | grep '\.tmp$')" ] || fail "temp files left after stop"
pass "before/after captured, stable not, store verified"
