#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two agents with different host names (each in its own UTS namespace, so
# the default prefix = host name differs) upload into one bucket; `heapsnap list
# --remote` from a third config shows both snapshots, with host and app, and filters
# by --host, --app, --container and --since. host-b has keep_local = off: its local
# copy is removed once the remote one is verified; host-a keeps its own.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rgw.sh"
need_root
command -v unshare >/dev/null || fail "unshare missing (util-linux)"
rgw_start 19208
s3_creds_file "$T/creds"

# agent_on HOST NAME: heapsnapd named HOST, watching nodes with HEAPSNAP_AGENT=NAME-$T.
agent_on() {
	write_config "$T/$2.ini" capture.method=signal agent.require_env="HEAPSNAP_AGENT=$2-$T" \
		store.dir="$T/store-$2" agent.lock_file="$T/$2.lock" agent.state_socket="$T/$2.sock" \
		agent.state_file="$T/$2.state" $(upload_keys) ${3:-}
	unshare --uts sh -c 'hostname "$0" && exec "$1" -c "$2"' "$1" "$HEAPSNAPD" "$T/$2.ini" \
		>"$T/$2.out" 2>"$T/$2.err" &
	PIDS+=("$!")
	wait_for 20 grep -q "started:" "$T/$2.err" || { cat "$T/$2.err"; fail "agent $1 did not start"; }
	grep -q "prefix $1 " "$T/$2.err" || fail "agent $1 does not default its prefix to the host name"
}
agent_on host-a a
agent_on host-b b upload.keep_local=off
mkdir -p "$T/a" "$T/srv/checkout"
cp "$APPS/leak.js" "$T/srv/checkout/index.js"
cd "$T/a" && HEAPSNAP_AGENT=a-$T start_node NA --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T/srv" && HEAPSNAP_AGENT=b-$T start_node NB --heapsnapshot-signal=SIGUSR2 "$T/srv/checkout/index.js"
cd "$T"
wait_for 60 grep -q "upload: [^ ]* uploaded to" "$T/a.err" || fail "agent host-a uploaded nothing"
wait_for 60 grep -q "upload: [^ ]* uploaded to" "$T/b.err" || fail "agent host-b uploaded nothing"
grep -q "\"pid\":$NB" "$T/a.out" && fail "agent host-a captured the other agent's process"
# keep_local = off on host-b: the local copy goes once the remote one is verified.
idb=$(sed -n 's/.*upload: \([^ ]*\) uploaded to.*/\1/p' "$T/b.err")
wait_for 10 grep -q "upload: $idb removed from the local store (keep_local = off)" "$T/b.err" || fail "keep_local = off kept it"
[ -e "$T/store-b/$idb.heapsnapshot.gz" ] || [ -e "$T/store-b/$idb.json" ] && fail "local copy of $idb still there"
ida=$(sed -n 's/.*upload: \([^ ]*\) uploaded to.*/\1/p' "$T/a.err")
[ -e "$T/store-a/$ida.heapsnapshot.gz" ] || fail "keep_local = on removed the local copy"

printf '[upload]\nendpoint = %s\nbucket = %s\ncredentials_file = %s\n' "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" > "$T/laptop.ini"
rl() { "$HEAPSNAP" -c "$T/laptop.ini" list --remote --json "$@" | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  console.log(l.map(s => s.host + ":" + s.app + ":" + s.key.split("/")[0]).join(" "))'; }
[ "$(rl)" = "host-a:leak:host-a host-b:checkout:host-b" ] || [ "$(rl)" = "host-b:checkout:host-b host-a:leak:host-a" ] ||
	fail "list --remote: $(rl)"
[ "$(rl --host host-b)" = "host-b:checkout:host-b" ] || fail "--host host-b: $(rl --host host-b)"
[ "$(rl --app leak)" = "host-a:leak:host-a" ] || fail "--app leak: $(rl --app leak)"
[ "$(rl --host host-a --app checkout)" = "" ] || fail "--host host-a --app checkout: $(rl --host host-a --app checkout)"
[ "$(rl --container 0123abcd)" = "" ] || fail "--container filter"
[ "$(rl --since 1h | wc -w)" = 2 ] || fail "--since 1h"
[ "$(rl --since 2099-01-01T00:00:00Z)" = "" ] || fail "--since in the future"
"$HEAPSNAP" -c "$T/laptop.ini" list --remote --since yesterday 2>&1 | grep -q "bad --since 'yesterday'" || fail "bad --since accepted"
"$HEAPSNAP" -c "$T/laptop.ini" list --remote | grep -q "host-b *checkout" || fail "table lacks host/app"
"$HEAPSNAP" -c "$T/laptop.ini" list --remote --json | grep -q '"machine_id": "[0-9a-f]\{32\}"' || fail "no machine_id label"
pass "two hosts in one bucket, listed and filtered by host, app and time"
