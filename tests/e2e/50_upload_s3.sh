#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A captured snapshot (signal route) reaches a real S3 server (Ceph RGW on
# loopback): PREFIX/ID.heapsnapshot.gz and PREFIX/ID.json, ID.upload "done" beside the
# local copy; `heapsnap list/show/get --remote` from a config that has no store find
# it, and get --remote returns the same bytes as the local get; over https the
# certificate is verified (ca_file accepted, a self-signed one refused without it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rgw.sh"
need_root
rgw_start 19200 19211
s3_creds_file "$T/creds"

write_config "$T/hs.ini" capture.method=signal upload.prefix=host-a $(upload_keys)
start_agent "$T/hs.ini"
grep -q "upload: to $S3_ENDPOINT bucket $S3_BUCKET prefix host-a" "$T/agent.err" || fail "no upload start line"
mkdir -p "$T/app" && cd "$T/app" && start_node APP --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$APP" capture_done || fail "no capture"
id=$("$HEAPSNAP" --store "$T/store" list --json | nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(0))[0].id)')
[ -n "$id" ] || fail "no local snapshot"
wait_for 30 grep -q "upload: $id uploaded" "$T/agent.err" || fail "snapshot $id not uploaded"
grep -q '"state":"done"' "$T/store/$id.upload" || fail "ID.upload does not say done"
s3_keys host-a/ | sort > "$T/keys"
printf 'host-a/%s.heapsnapshot.gz\nhost-a/%s.json\n' "$id" "$id" | diff - "$T/keys" || fail "unexpected objects"
[ -z "$(s3_uploads)" ] || fail "multipart uploads left"
s3curl "$S3_ENDPOINT/$S3_BUCKET/host-a/$id.heapsnapshot.gz" -o "$T/remote.gz" || fail "cannot GET the object"
cmp "$T/remote.gz" "$T/store/$id.heapsnapshot.gz" || fail "object differs from the stored file"
s3curl "$S3_ENDPOINT/$S3_BUCKET/host-a/$id.json" | cmp - "$T/store/$id.json" || fail "metadata object differs"

# The CLI from a "laptop": no store, only [upload].
printf '[upload]\nendpoint = %s\nbucket = %s\ncredentials_file = %s\n' "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" > "$T/laptop.ini"
"$HEAPSNAP" -c "$T/laptop.ini" list --remote | tee "$T/rlist" | grep -q "^$id " || fail "list --remote lacks $id"
"$HEAPSNAP" -c "$T/laptop.ini" list --remote --json | nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(0));
  if (l.length !== 1 || l[0].id !== process.argv[1] || !l[0].host || !("app" in l[0]) || !l[0].raw_bytes) {
    console.error(JSON.stringify(l)); process.exit(1); }' "$id" || fail "list --remote --json"
"$HEAPSNAP" -c "$T/laptop.ini" show "${id:0:20}" --remote --json | grep -q "\"id\": \"$id\"" || fail "show --remote by prefix"
"$HEAPSNAP" -c "$T/laptop.ini" get "$id" --remote -o "$T/remote.heapsnapshot" || fail "get --remote"
"$HEAPSNAP" --store "$T/store" get "$id" -o "$T/local.heapsnapshot" || fail "local get"
cmp "$T/remote.heapsnapshot" "$T/local.heapsnapshot" || fail "get --remote differs from the local snapshot"
snapshot_ok "$T/remote.heapsnapshot" || fail "remote snapshot does not parse"
"$HEAPSNAP" -c "$T/laptop.ini" summary "$id" --remote --top 3 >/dev/null || fail "summary --remote"
"$HEAPSNAP" -c "$T/laptop.ini" diff "$id" "${id:0:22}" --remote --json >/dev/null || fail "diff --remote"
ls /tmp/heapsnap-remote-* 2>/dev/null && fail "temporary downloads left in /tmp"
"$HEAPSNAP" -c "$T/laptop.ini" get nosuchid --remote -o "$T/x" 2>"$T/err" && fail "get of a missing id succeeded"
grep -q "no snapshot 'nosuchid' in bucket $S3_BUCKET" "$T/err" || fail "missing id message: $(cat "$T/err")"
# A damaged object in the bucket (the first 100 KB of the real one, under another id):
# get --remote verifies like a local get and writes nothing.
bad=20261201T000000Z-1-dead
head -c 100000 "$T/store/$id.heapsnapshot.gz" > "$T/bad.gz"
sed "s/$id/$bad/" "$T/store/$id.json" > "$T/bad.json"
s3curl -T "$T/bad.gz" "$S3_ENDPOINT/$S3_BUCKET/host-a/$bad.heapsnapshot.gz" -o /dev/null || fail "PUT bad"
s3curl -T "$T/bad.json" "$S3_ENDPOINT/$S3_BUCKET/host-a/$bad.json" -o /dev/null || fail "PUT bad json"
"$HEAPSNAP" -c "$T/laptop.ini" get "$bad" --remote -o "$T/bad.heapsnapshot" 2>"$T/err" && fail "a damaged object was returned"
cat "$T/err"
grep -q "heapsnap-remote-$bad.* is damaged\|heapsnap-remote-$bad.* not a complete snapshot" "$T/err" || fail "damaged object message"
[ -e "$T/bad.heapsnapshot" ] && fail "output written for a damaged object"
s3curl -X DELETE "$S3_ENDPOINT/$S3_BUCKET/host-a/$bad.json" -o /dev/null

# Disk full while the download is staged (TMPDIR on a 64 KB tmpfs): a clear error,
# no output file, no temp file left.
mkdir -p "$T/small" && mount -t tmpfs -o size=64k tmpfs "$T/small" || fail "cannot mount a tmpfs"
TMPDIR=$T/small "$HEAPSNAP" -c "$T/laptop.ini" get "$id" --remote -o "$T/full.heapsnapshot" 2>"$T/err" &&
	{ umount "$T/small"; fail "get --remote into a full TMPDIR succeeded"; }
cat "$T/err"
left=$(ls -A "$T/small"); umount "$T/small"
grep -q "No space left on device" "$T/err" || fail "disk full message"
[ -e "$T/full.heapsnapshot" ] && fail "output file written although the download failed"
[ -z "$left" ] || fail "temporary download left: $left"

# TLS is verified: with ca_file the https endpoint works, without it the certificate is refused.
printf '[upload]\nendpoint = %s\nbucket = %s\ncredentials_file = %s\nca_file = %s\n' "$S3_TLS_ENDPOINT" "$S3_BUCKET" \
	"$T/creds" "$RGW_D/cert.pem" > "$T/tls.ini"
"$HEAPSNAP" -c "$T/tls.ini" list --remote | grep -q "^$id " || fail "list --remote over https with ca_file"
grep -v '^ca_file' "$T/tls.ini" > "$T/tls-noca.ini"
"$HEAPSNAP" -c "$T/tls-noca.ini" list --remote 2>"$T/err" && fail "a self-signed certificate was accepted without ca_file"
cat "$T/err"
grep -q "s3 $S3_TLS_ENDPOINT bucket $S3_BUCKET: .*[Cc]ertificate" "$T/err" || fail "TLS failure message"
stop_agent
grep -q "upload: queued=1 pending=0 uploaded=1 failed=0" "$T/agent.err" || fail "stats line"
pass "uploaded, verified, listed and fetched from the bucket byte for byte"
