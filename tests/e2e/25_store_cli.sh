#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The heapsnap CLI on a store of real Node snapshots: list / list --json / show (id
# prefix, ambiguous, unknown) / get (stdout and -o: identical bytes that node can
# JSON.parse, 0600) / a damaged gzip (exit 1) / rm / a loose or unreadable store.
# The store is laid out by hand (gzip + metadata JSON) as store.c writes it, so
# this needs no agent. Needs node and root (for the non-root permission check).
set -u
cd "${HEAPSNAP_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
HS=$BUILD/heapsnap
NODE=${HEAPSNAP_NODE:-/usr/bin/node}
[ -x "$HS" ] || { echo "skip: $HS not built"; exit 77; }
[ -x "$NODE" ] || { echo "skip: no node at $NODE"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (runs a command as nobody)"; exit 77; }

work=$(mktemp -d /tmp/hs-e2e-store-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 711 "$work"
store=$work/store
mkdir -m 700 "$store"
fail() { echo "FAIL: $*"; exit 1; }

timeout 60 "$NODE" -e "require('v8').writeHeapSnapshot('$work/snap.heapsnapshot')" ||
	fail "node could not write a snapshot"
raw=$(stat -c %s "$work/snap.heapsnapshot")

add() { # id pid started_ms
	gzip -1 -c "$work/snap.heapsnapshot" > "$store/$1.heapsnapshot.gz"
	size=$(stat -c %s "$store/$1.heapsnapshot.gz")
	cat > "$store/$1.json" <<JSON
{"id":"$1","host":"h","pid":$2,"exe":"$NODE","node_version":"v20","cmdline":"node app.js",
 "cgroup":"/","reason":"growth","rss_bytes":314572800,"threshold_bytes":209715200,
 "method":"signal","triggered_at_ms":$3,"started_at_ms":$3,"ended_at_ms":$(($3 + 900)),
 "capture_ms":900,"raw_bytes":$raw,"size_bytes":$size,"node_count":1,"edge_count":1}
JSON
	chmod 600 "$store/$1.heapsnapshot.gz" "$store/$1.json"
}
a=20261127T081502Z-101-aaaa b=20261127T081502Z-102-bbbb
add "$a" 101 1795767302000
add "$b" 102 1795767302500

out=$("$HS" --store "$store" list) || fail "list exited $?"
echo "$out"
[ "$(echo "$out" | grep -c 20261127T081502Z)" = 2 ] || fail "list does not show both snapshots"
"$HS" --store "$store" list --json | "$NODE" -e '
	const a = JSON.parse(require("fs").readFileSync(0));
	for (const k of ["id","pid","method","reason","rss_bytes","raw_bytes","size_bytes","capture_ms","started_at"])
		if (!(k in a[0])) { console.error("missing " + k); process.exit(1); }
	if (a.length !== 2 || a[1].id !== process.argv[1]) process.exit(1);' "$b" ||
	fail "list --json is not the expected array"

"$HS" --store "$store" show 20261127T081502Z-101 | grep -q "$a" || fail "show by prefix"
"$HS" --store "$store" show "$a" --json | "$NODE" -e 'JSON.parse(require("fs").readFileSync(0))' ||
	fail "show --json is not JSON"
err=$("$HS" --store "$store" show 20261127T081502Z-10 2>&1); rc=$?
[ $rc = 1 ] && [[ $err == "heapsnap: "*"more than one"* ]] || fail "ambiguous prefix: rc=$rc $err"
err=$("$HS" --store "$store" show nope 2>&1); rc=$?
[ $rc = 1 ] && [[ $err == "heapsnap: "*"no snapshot"* ]] || fail "unknown id: rc=$rc $err"

"$HS" --store "$store" get "$a" > "$work/stdout.heapsnapshot" || fail "get to stdout"
cmp -s "$work/stdout.heapsnapshot" "$work/snap.heapsnapshot" || fail "get (stdout) bytes differ"
"$HS" --store "$store" get "${a:0:20}" -o "$work/out.heapsnapshot" || fail "get -o"
cmp -s "$work/out.heapsnapshot" "$work/snap.heapsnapshot" || fail "get -o bytes differ"
[ "$(stat -c %a "$work/out.heapsnapshot")" = 600 ] || fail "get -o file is not 0600"
"$NODE" -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
	if (s.nodes.length !== s.snapshot.node_count * s.snapshot.meta.node_fields.length) process.exit(1)' \
	"$work/out.heapsnapshot" || fail "the fetched snapshot does not parse"

head -c 20000 "$store/$b.heapsnapshot.gz" > "$work/cut.gz" && mv "$work/cut.gz" "$store/$b.heapsnapshot.gz"
err=$("$HS" --store "$store" get "$b" -o "$work/bad.heapsnapshot" 2>&1); rc=$?
[ $rc = 1 ] && [[ $err == "heapsnap: "* ]] || fail "damaged gzip: rc=$rc $err"
[ ! -e "$work/bad.heapsnapshot" ] || fail "a damaged get left a file"
echo "$err"

err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$HS" --store "$store" list 2>&1); rc=$?
[ $rc = 1 ] && [[ $err == "heapsnap: store $store: permission denied"* ]] || fail "non-root: rc=$rc $err"
echo "$err"
chmod 750 "$store"
err=$("$HS" --store "$store" list 2>&1); rc=$?
[ $rc = 1 ] && [[ $err == *"permissions 0750 are too open"* ]] || fail "loose store: rc=$rc $err"
chmod 700 "$store"

"$HS" --store "$store" rm "$b" || fail "rm"
[ ! -e "$store/$b.json" ] && [ ! -e "$store/$b.heapsnapshot.gz" ] || fail "rm left files"
[ "$("$HS" --store "$store" list | grep -c 20261127T)" = 1 ] || fail "list after rm"
echo "store CLI: ok"
