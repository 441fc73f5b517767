#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A 200 MB+ (raw) snapshot goes up as a multipart upload streamed from the
# store file, Content-MD5 per part; the agent is SIGKILLed mid-upload, restarted, and
# the bucket ends with one whole object (size and ETag checked, bytes compared), the
# metadata, and no multipart upload left. The agent's peak RSS (VmHWM) during the
# upload stays within 16 MB of an agent that uploads nothing. Prints the upload
# throughput next to a plain `curl -T` of the same file (closing-note numbers).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rgw.sh"
need_root
rgw_start 19204
s3_creds_file "$T/creds"
hwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

write_config "$T/hs.ini" capture.method=signal capture.guard=off upload.prefix=big upload.part_mb=5 $(upload_keys)
# The first agent uploads at 20 MB/s at most (upload.max_mbps), so the kill lands
# mid-upload whatever the machine's speed (uncapped, 24 parts took ~1.3 s: a CI run
# finished before the kill); the restarted agents are uncapped.
cp "$T/hs.ini" "$T/capped.ini"
sed -i 's/^\[upload\]$/[upload]\nmax_mbps = 20/' "$T/capped.ini"
grep -q '^max_mbps = 20$' "$T/capped.ini" || fail "no upload cap in the first agent's config"
start_agent "$T/capped.ini"
mkdir -p "$T/app" && cd "$T/app" && STRINGS_MB=200 START_MS=4000 start_node APP --heapsnapshot-signal=SIGUSR2 "$APPS/big_strings.js"
cd "$T"
wait_for 90 event_for "$APP" capture_done || fail "no capture of the big process"
id=$("$HEAPSNAP" --store "$T/store" list --json | nodetool -e 'const l = JSON.parse(require("fs").readFileSync(0)); console.log(l[0].id, l[0].raw_bytes)')
raw=${id#* }; id=${id% *}
[ "$raw" -gt $((200 * 1024 * 1024)) ] || fail "snapshot only $raw bytes raw: not 200 MB+"
gz=$(stat -c %s "$T/store/$id.heapsnapshot.gz")
echo "snapshot $id: $((raw >> 20)) MB raw, $((gz >> 20)) MB gzip"
wait_for 60 grep -q "part 3/" "$T/agent.err" || fail "multipart upload did not start"
kill -KILL "$AGENT"; wait "$AGENT" 2>/dev/null
grep -q "upload: $id uploaded" "$T/agent.err" && fail "upload finished before the kill: the test proves nothing"
s3_uploads | grep -qx "big/$id.heapsnapshot.gz" || fail "no multipart upload in progress after the kill"
s3_keys big/ | grep -q '\.json$' && fail "metadata uploaded before its snapshot"

# An agent that uploads nothing, for the peak RSS comparison.
write_config "$T/idle.ini" capture.method=signal capture.guard=off
start_agent "$T/idle.ini"; sleep 1; idle_hwm=$(hwm_kb "$AGENT"); stop_agent

mv "$T/agent.err" "$T/agent1.err"
start_agent "$T/hs.ini"
wait_for 120 grep -q "upload: $id uploaded" "$T/agent.err" || fail "not uploaded after the restart"
up_hwm=$(hwm_kb "$AGENT")
grep -q "upload: aborted multipart upload .* of big/$id.heapsnapshot.gz left by an earlier attempt" "$T/agent.err" ||
	fail "the leftover multipart upload was not aborted"
grep -q '"event":"capture_start"' "$T/agent.out" && fail "the restarted agent captured again"
s3_keys big/ | sort > "$T/keys"
printf 'big/%s.heapsnapshot.gz\nbig/%s.json\n' "$id" "$id" | diff - "$T/keys" || fail "not exactly one object + metadata"
[ -z "$(s3_uploads)" ] || fail "multipart uploads left: $(s3_uploads)"
s3curl "$S3_ENDPOINT/$S3_BUCKET/big/$id.heapsnapshot.gz" -o "$T/remote.gz" || fail "GET failed"
cmp "$T/remote.gz" "$T/store/$id.heapsnapshot.gz" || fail "remote object differs from the store file"
etag=$(s3curl -I "$S3_ENDPOINT/$S3_BUCKET/big/$id.heapsnapshot.gz" | tr -d '\r"' | sed -n 's/^[Ee][Tt]ag: //p')
[[ $etag = *-$(( (gz + 5242879) / 5242880 )) ]] || fail "ETag $etag is not a multipart one with the expected part count"
echo "agent VmHWM: $((up_hwm / 1024)) MB during a $((gz >> 20)) MB multipart upload, $((idle_hwm / 1024)) MB without upload"
[ $((up_hwm - idle_hwm)) -lt $((16 * 1024)) ] || fail "peak RSS grew by $(((up_hwm - idle_hwm) / 1024)) MB with the upload"
stop_agent

# Throughput next to curl -T of the same file to the same server: the restart above
# also aborted a leftover upload, so time a clean one (state reset: the same objects are
# written again, still one of each).
rm "$T/store/$id.upload"
mv "$T/agent.err" "$T/agent2.err"
start_agent "$T/hs.ini"
wait_for 120 grep -q "upload: $id uploaded" "$T/agent.err" || fail "not uploaded again"
stop_agent
[ "$(s3_keys big/ | wc -l)" = 2 ] || fail "a repeated upload made more objects"
line=$(grep "upload: $id uploaded" "$T/agent.err")
t0=$(date +%s%N)
s3curl -T "$T/store/$id.heapsnapshot.gz" "$S3_ENDPOINT/$S3_BUCKET/bench/curl.gz" -o /dev/null || fail "curl -T failed"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 + 1 ))
echo "agent: ${line#*bytes in } | curl -T: $ms ms, $(( gz * 1000 / ms / 1048576 )) MB/s"
s3curl -X DELETE "$S3_ENDPOINT/$S3_BUCKET/bench/curl.gz" -o /dev/null
pass "multipart upload survived a SIGKILL: one whole object, no leftover upload, bounded memory"
