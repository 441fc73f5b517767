#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small HTTP receiver for the fleet tests: every POST body is appended as one line
(path, status, Authorization header, body without newlines; tab separated) to the file argv[2]; it
answers 500 to the first FAIL_FIRST requests on /hook (to test retries), else 200.
Usage: receiver.py PORT LOGFILE"""
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]
fail_first = int(os.environ.get("FAIL_FIRST", "0"))
seen = {"hook": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace").replace("\n", " ")
        status = 200
        if self.path.startswith("/hook"):
            seen["hook"] += 1
            if seen["hook"] <= fail_first:
                status = 500
        with open(log, "a") as f:
            f.write("%s\t%d\t%s\t%s\n" % (self.path, status, self.headers.get("Authorization", "-"), body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
