#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Faults: (1) a wrong secret: one clear error naming the endpoint and the
# bucket (no secret printed), the local snapshot kept, uploaded once the agent is
# restarted with the right key (the queue survives the restart); (2) the gateway
# stopped before a capture and started later: retried with backoff, uploaded once;
# (3) a missing bucket: the agent retries (snapshot kept), the CLI says so, naming it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rgw.sh"
need_root
rgw_start 19206
WRONG=not-the-secret-4242
s3_creds_file "$T/creds" "$WRONG"

write_config "$T/hs.ini" capture.method=signal upload.prefix=faults $(upload_keys)
start_agent "$T/hs.ini"
mkdir -p "$T/app1" && cd "$T/app1" && start_node APP1 --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$APP1" capture_done || fail "no capture"
id1=$(sed -n 's/.*"snapshot_id":"\([^"]*\)".*/\1/p' "$T/agent.out" | head -1)
wait_for 20 grep -q "upload: $id1 failed" "$T/agent.err" || fail "no upload failure with a wrong secret"
msg=$(grep "upload: $id1 failed" "$T/agent.err" | head -1)
echo "$msg"
[[ $msg = *"$S3_ENDPOINT"* && $msg = *"bucket $S3_BUCKET"* && $msg = *SignatureDoesNotMatch* && $msg = *"snapshot kept"* ]] ||
	fail "the error does not name endpoint, bucket and cause"
grep -q -e "$WRONG" -e "$S3_SECRET" "$T/agent.err" "$T/agent.out" && fail "a secret was logged"
[ "$(grep -c "upload: $id1 failed:" "$T/agent.err")" = 1 ] || fail "the same error was logged more than once at warn level"
wait_for 10 grep -q "upload: $id1 failed again" "$T/agent.err" || fail "no retry"
[ -f "$T/store/$id1.heapsnapshot.gz" ] && "$HEAPSNAP" --store "$T/store" list | grep -q "^$id1 " || fail "local snapshot not kept"
grep -q '"state":"queued"' "$T/store/$id1.upload" || fail "ID.upload does not record the queued state"
[ -z "$(s3_keys faults/)" ] || fail "objects uploaded with a wrong secret"
stop_agent

s3_creds_file "$T/creds"
mv "$T/agent.err" "$T/agent1.err"
start_agent "$T/hs.ini"
wait_for 30 grep -q "upload: $id1 uploaded" "$T/agent.err" || fail "not uploaded after the restart with the right key"
grep -q "upload: $id1 queued (found in the store at start)" "$T/agent.err" || fail "not resumed from the store"

# The gateway down while a snapshot is taken.
rgw_stop_gateway
mkdir -p "$T/app2" && cd "$T/app2" && start_node APP2 --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$APP2" capture_done || fail "no capture of the second process"
id2=$(sed -n 's/.*"snapshot_id":"\([^"]*\)".*/\1/p' "$T/agent.out" | tail -1)
[ "$id2" != "$id1" ] || fail "no second snapshot id"
wait_for 20 grep -q "upload: $id2 failed again" "$T/agent.err" || fail "no retries while the gateway is down"
grep "upload: $id2 failed:" "$T/agent.err" | grep -q "$S3_ENDPOINT" || fail "the network error does not name the endpoint"
rgw_start_gateway || fail "gateway did not come back"
wait_for 30 grep -q "upload: $id2 uploaded" "$T/agent.err" || fail "not uploaded once the gateway was back"
sleep 3
[ "$(grep -c "upload: $id2 uploaded" "$T/agent.err")" = 1 ] || fail "uploaded more than once"
[ "$(s3_keys faults/ | grep -c "$id2")" = 2 ] || fail "not exactly one object + metadata for $id2"
grep -q "retried=[1-9]" "$T/agent.err" || fail "retries not counted"
stop_agent

# The bucket missing, seen by the agent: a failure retried like any other (a 404 is
# not "the snapshot is gone"), the snapshot kept.
rm "$T/store/$id1.upload"
write_config "$T/nob.ini" capture.method=signal upload.prefix=faults $(upload_keys) upload.bucket=no-such-bucket
mv "$T/agent.err" "$T/agent2.err"
start_agent "$T/nob.ini"
wait_for 20 grep -q "upload: $id1 failed again" "$T/agent.err" || fail "no retries with a missing bucket"
grep "upload: $id1 failed:" "$T/agent.err" | grep -q "bucket no-such-bucket: .*NoSuchBucket: the bucket does not exist" ||
	fail "agent's missing bucket message"
grep -q "no longer in the store" "$T/agent.err" && fail "a 404 dropped the snapshot from the queue"
[ -f "$T/store/$id1.heapsnapshot.gz" ] || fail "snapshot not kept"
stop_agent

printf '[upload]\nendpoint = %s\nbucket = no-such-bucket\ncredentials_file = %s\n' "$S3_ENDPOINT" "$T/creds" > "$T/laptop.ini"
"$HEAPSNAP" -c "$T/laptop.ini" list --remote 2>"$T/err" && fail "list of a missing bucket succeeded"
cat "$T/err"
grep -q "$S3_ENDPOINT bucket no-such-bucket.*NoSuchBucket" "$T/err" || fail "missing bucket message"
pass "wrong secret, gateway down, missing bucket: clear errors, snapshots kept and uploaded once"
