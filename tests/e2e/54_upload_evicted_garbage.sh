#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# More faults, no real S3 needed: (1) nothing listens at the endpoint and
# the store quota (max_count = 1) evicts a snapshot before it could be uploaded: the
# loss is logged and counted, never silent; (2) a server that answers every request
# with 200 and garbage (but a valid empty ListMultipartUploads): the PUT "succeeds",
# the HEAD check catches the lie, the agent never records the upload as done, keeps the snapshot, keeps retrying, does not crash; `list --remote` says the
# reply is unreadable, naming endpoint and bucket; SIGTERM mid-retry stops it at once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rgw.sh"
need_root
S3_ACCESS=AKGARBAGE S3_SECRET=garbage-secret s3_creds_file "$T/creds"

write_config "$T/hs.ini" capture.method=signal store.max_count=1 upload.endpoint=http://127.0.0.1:19219 \
	upload.bucket=nowhere upload.credentials_file="$T/creds" upload.retry_max_s=2
start_agent "$T/hs.ini"
mkdir -p "$T/a1" "$T/a2"
cd "$T/a1" && start_node N1 --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
wait_for 60 event_for "$N1" capture_done || fail "no first capture"
id1=$(sed -n 's/.*"snapshot_id":"\([^"]*\)".*/\1/p' "$T/agent.out" | head -1)
wait_for 20 grep -q "upload: $id1 failed: .*127.0.0.1:19219 bucket nowhere" "$T/agent.err" || fail "no connection failure named"
cd "$T/a2" && start_node N2 --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$N2" capture_done || fail "no second capture"
id2=$(sed -n 's/.*"snapshot_id":"\([^"]*\)".*/\1/p' "$T/agent.out" | tail -1)
wait_for 10 grep -q "upload: $id1 evicted by the store quota before it was uploaded (1 so far): it is lost" "$T/agent.err" ||
	fail "eviction before upload not logged"
wait_for 10 grep -q "evicted_before_upload=1" "$T/agent.err" || fail "eviction not counted"
[ -e "$T/store/$id1.upload" ] && fail "ID.upload of the evicted snapshot left behind"
stop_agent

# A server that says 200 to everything, with garbage.
cat > "$T/garbage.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        while n > 0:
            n -= len(self.rfile.read(min(n, 65536)))
        body = b"<ListBucketResult><Contents><Key>\x00\xff<<<&&&" * 3
        if self.command == "GET" and "uploads=" in self.path:  # a valid "no uploads in progress"
            body = b"<ListMultipartUploadsResult><Bucket>junk</Bucket></ListMultipartUploadsResult>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"garbage"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = reply
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$T/garbage.py" 19218 & PIDS+=("$!")
wait_for 10 curl -s -o /dev/null http://127.0.0.1:19218/ || fail "garbage server did not start"
write_config "$T/hs.ini" capture.method=signal upload.endpoint=http://127.0.0.1:19218 upload.bucket=junk \
	upload.credentials_file="$T/creds" upload.retry_max_s=1
mv "$T/agent.err" "$T/agent1.err"
start_agent "$T/hs.ini"
wait_for 20 grep -q "upload: .* failed again" "$T/agent.err" || fail "no retries against the garbage server"
grep "upload: .* failed:" "$T/agent.err" | head -3
grep -q "upload: $id2 failed: .*bucket junk: .*: remote copy is .* bytes, ETag garbage; expected" "$T/agent.err" ||
	fail "the HEAD verification did not catch the lying server"
grep -q "uploaded to" "$T/agent.err" && fail "an upload to the garbage server counted as done"
grep -q '"state":"done"' "$T/store/"*.upload && fail "ID.upload says done"
kill -0 "$AGENT" || fail "agent died"
"$HEAPSNAP" -c "$T/hs.ini" list --remote 2>"$T/err" && fail "list --remote of garbage succeeded"
cat "$T/err"
grep -q "127.0.0.1:19218 bucket junk.*unreadable listing" "$T/err" || fail "garbage listing message"
t0=$SECONDS
stop_agent
[ $((SECONDS - t0)) -le 5 ] || fail "stop took $((SECONDS - t0)) s"
grep -q "upload: $id2 failed" "$T/agent.err" || fail "the garbage server was not tried with $id2"
"$HEAPSNAP" --store "$T/store" list | grep -q "^$id2 " || fail "snapshot not kept locally"
pass "eviction before upload counted and logged; a garbage server never counts as uploaded"
