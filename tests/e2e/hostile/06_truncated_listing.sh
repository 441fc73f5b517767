#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `heapsnap list --remote` pages through the bucket listing as long as the server says
# "truncated". A hostile (or broken) S3 server that always says so, with the same
# continuation token or a new one each time, used to keep the CLI looping forever.
# Now a repeated token stops it at once and endless new tokens stop it after 10000
# pages, with an error (status 1). A tiny fake S3 on loopback plays the server.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { [ "${CI:-}" = true ] && fail "python3 missing"; skip "no python3"; }
PORT=19141

cat > "$T/fake_s3.py" <<'PY'
import http.server, sys, socketserver
mode = sys.argv[2]
pages = 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        global pages
        pages += 1
        token = 'same' if mode == 'same' else 'tok%d' % pages
        body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name>'
                '<IsTruncated>true</IsTruncated><NextContinuationToken>%s</NextContinuationToken>'
                '<KeyCount>0</KeyCount></ListBucketResult>' % token).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with open(sys.argv[3], 'w') as f: f.write(str(pages))
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
write_config "$T/hs.ini" upload.endpoint=http://127.0.0.1:$PORT upload.bucket=snaps
export AWS_ACCESS_KEY_ID=AK AWS_SECRET_ACCESS_KEY=SK

for mode in same new; do
	spawn S3 python3 "$T/fake_s3.py" $PORT $mode "$T/pages.$mode"
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || fail "the fake S3 did not start"
	start=$SECONDS
	out=$(timeout 120 "$HEAPSNAP" -c "$T/hs.ini" list --remote 2>&1); rc=$?
	[ "$rc" = 124 ] && fail "list --remote ($mode token) still looping after 120 s ($(cat "$T/pages.$mode") pages)"
	[ "$rc" = 1 ] || fail "list --remote ($mode token) exited $rc: $out"
	case $mode in
	same) grep -q "same continuation token again" <<<"$out" || fail "list --remote said: $out"
	      [ "$(cat "$T/pages.$mode")" = 2 ] || fail "$(cat "$T/pages.$mode") pages asked for a repeated token";;
	new)  grep -q "past 10000 pages" <<<"$out" || fail "list --remote said: $out"
	      [ "$(cat "$T/pages.$mode")" = 10000 ] || fail "$(cat "$T/pages.$mode") pages asked";;
	esac
	echo "$mode token: stopped after $(cat "$T/pages.$mode") pages in $((SECONDS - start)) s"
	kill "$S3"; wait "$S3" 2>/dev/null
done
pass "an always-truncated listing ends with an error"
