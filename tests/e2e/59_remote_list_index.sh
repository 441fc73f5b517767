#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fleet listing through the bucket index (upload/s3index.h): a bucket with 10 000
# snapshots of 100 hosts uploaded with the index; `list --remote` filtered by host, by
# app and by time each lists exactly what matches in under 3 s, with a number of
# requests that grows with what it lists, not with the bucket (counted by the CLI,
# --stats). Then 2 hosts more whose snapshots were uploaded the old way (no index, no
# completeness marker: agents older than the index): still listed, read the old way.
# show finds an id through the index and through the old layout. An agent started with
# an old host's prefix indexes what is there and marks the prefix complete.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rgw.sh"
need_root
rgw_start 19262
s3_creds_file "$T/creds"
POP=$BUILD/e2e/s3_populate
make -s -C "$ROOT" -j2 BUILD="$BUILD" "$POP" >/dev/null || fail "cannot build $POP"

t0=$(date +%s%N)
"$POP" "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" 0 100 100 100 || fail "populating the bucket"
echo "populated 10 000 snapshots of 100 hosts in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
printf '[upload]\nendpoint = %s\nbucket = %s\ncredentials_file = %s\n' "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" > "$T/cli.ini"

# list_case NAME EXPECTED MAX_REQUESTS ARGS...: the listing's count, time and requests.
list_case() {
	local name=$1 want=$2 max_req=$3; shift 3
	local t0 ms got req
	t0=$(date +%s%N)
	"$HEAPSNAP" -c "$T/cli.ini" list --remote --json --stats "$@" >"$T/$name.json" 2>"$T/$name.err" ||
		{ cat "$T/$name.err"; fail "$name: list --remote failed"; }
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	got=$(nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)' <"$T/$name.json")
	req=$(sed -n 's/.*, \([0-9]*\) requests .*/\1/p' "$T/$name.err")
	echo "$name: $got listed in $ms ms, $req requests ($(grep -o '([^)]*)' "$T/$name.err"))"
	[ "$got" = "$want" ] || fail "$name: listed $got, expected $want"
	[ -n "$req" ] && [ "$req" -le "$max_req" ] || fail "$name: $req requests, at most $max_req expected"
	[ "$name" = all ] || [ "$ms" -lt 3000 ] || fail "$name: took $ms ms (goal: under 3 s)"
}
# Requests: the index family's keys (1 per 1000), the markers, the top-level folders,
# then one GET per snapshot that can match.
list_case host 100 105 --host host-042.example
list_case app 1000 1006 --app app-3
list_case since 1000 1006 --since 2026-11-04T18:00:00Z
list_case host_since 6 10 --host host-007.example --since 2026-11-04T22:00:00Z
nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  for (const s of l) if (s.host !== "host-007.example" || Date.parse(s.started_at) < Date.parse("2026-11-04T22:00:00Z"))
    { console.error(JSON.stringify(s)); process.exit(1); }
  if (!l.every((s) => s.key === "host-007/" + s.id + ".json")) process.exit(1);' <"$T/host_since.json" ||
	fail "host_since: a listed snapshot does not match the filters, or has the wrong key"
# The table (no --json) is unchanged: header + one line per snapshot.
"$HEAPSNAP" -c "$T/cli.ini" list --remote --host host-042.example > "$T/table" || fail "table listing"
head -1 "$T/table" | grep -q '^ID  *HOST  *APP  *TIME (UTC)  *PID  *REASON  *RAW MiB  *GZ MiB$' || fail "table header changed"
[ "$(wc -l < "$T/table")" = 101 ] || fail "table: $(wc -l < "$T/table") lines"

# Two hosts of the old layout: listed; their folders are read the old way (one LIST and
# one GET per snapshot of theirs, except those --since skips by the id's time).
"$POP" "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" 100 102 100 100 || fail "adding the old-layout hosts"
list_case old_host 100 310 --host host-101.example
nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  if (!l.every((s) => s.host === "host-101.example" && s.app === "app-1" && s.key === "host-101/" + s.id + ".json"))
    process.exit(1);' <"$T/old_host.json" || fail "old_host: not the old host's snapshots"
list_case new_host 100 310 --host host-042.example
list_case old_since 1020 1030 --since 2026-11-04T18:00:00Z
list_case all 10200 10220
nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  if (new Set(l.map((s) => s.id)).size !== 10200) process.exit(1);' <"$T/all.json" || fail "all: duplicates"

# show by id prefix, through the index and through the old layout.
id=$(nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(0))[0].id)' <"$T/host.json")
"$HEAPSNAP" -c "$T/cli.ini" show "$id" --remote --json | grep -q "\"id\": \"$id\"" || fail "show --remote $id"
old=$(nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(0))[5].id)' <"$T/old_host.json")
"$HEAPSNAP" -c "$T/cli.ini" show "${old:0:24}" --remote --json | grep -q "\"id\": \"$old\"" ||
	fail "show --remote of an old-layout snapshot by id prefix"

# An agent whose prefix holds old-layout snapshots indexes them and marks the prefix.
write_config "$T/hs.ini" upload.prefix=host-100 $(upload_keys)
start_agent "$T/hs.ini"
wait_for 60 grep -q "upload: bucket index complete for prefix host-100 (100 snapshots already there)" "$T/agent.err" ||
	fail "the agent did not index its prefix's old snapshots"
stop_agent
s3_keys heapsnap-index/v1/complete/ | grep -qx 'heapsnap-index/v1/complete/host-100' || fail "no completeness marker"
list_case backfilled 100 210 --host host-100.example
grep -q ", 1 prefixes read the old way" "$T/backfilled.err" || fail "host-100 still read the old way"
pass "10 000 snapshots of 100 hosts: filtered listings under 3 s, requests growing with the result; old layout listed"
