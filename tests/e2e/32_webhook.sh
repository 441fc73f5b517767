#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Webhook and auth: every event line the agent prints is POSTed to
# [alert] webhook once per attempt; the receiver answers the first request 500 and the
# agent retries it (counted in heapsnap_alerts_failed_total), so each event is received
# exactly once with 200. The Alertmanager push carries the bearer token from its 0600
# file (the token never in the log); a token file others can read stops the agent with
# a message naming the file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet.sh"
need_root

start_receiver 1
printf 's3cret-token\n' > "$T/token" && chmod 644 "$T/token"
write_config "$T/hs.ini" capture.method=signal metrics.listen=127.0.0.1:$PORT_AGENT \
	alert.webhook=http://127.0.0.1:$PORT_HOOK/hook \
	alertmanager.url=http://127.0.0.1:$PORT_HOOK/fakeam alertmanager.resend_s=5 \
	alertmanager.bearer_token_file=$T/token
"$HEAPSNAPD" -c "$T/hs.ini" >"$T/agent.out" 2>"$T/agent.err" && fail "the agent started with a 0644 token file"
grep -q "bearer_token_file $T/token: group or others can access it (mode 0644): chmod 600 it" "$T/agent.err" ||
	fail "no clear message for the unsafe token file"
grep -q s3cret "$T/agent.err" && fail "the token was printed"
chmod 600 "$T/token"

start_agent "$T/hs.ini"
mkdir -p "$T/app" && cd "$T/app" && start_node LEAK --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$LEAK" capture_done || fail "no capture_done"
n_events=$(grep -c '"event":' "$T/agent.out")
hook_ok() { [ "$(grep -c '^/hook	200	' "$T/received")" -ge "$n_events" ]; }
wait_for 30 hook_ok || { cat "$T/received"; fail "the webhook did not get all $n_events events"; }
python3 - "$T/agent.out" "$T/received" <<'PY' || fail "webhook deliveries do not match the events"
import json, sys
events = [l.strip() for l in open(sys.argv[1]) if l.startswith('{"event"') or '"event":' in l]
rows = [l.rstrip("\n").split("\t", 3) for l in open(sys.argv[2]) if l.startswith("/hook")]
ok = [r[3] for r in rows if r[1] == "200"]
failed = [r[3] for r in rows if r[1] == "500"]
for e in events:
    json.loads(e)
    if ok.count(e) != 1:
        sys.exit("event %s received %d times with 200" % (e, ok.count(e)))
if len(failed) != 1 or failed[0] not in ok:
    sys.exit("want exactly one 500, then the same body again: %r" % failed)
if len(ok) != len(events):
    sys.exit("%d deliveries for %d events" % (len(ok), len(events)))
print("webhook: %d events, each once with 200, the first retried after a 500" % len(events))
PY
metrics=$(curl -s http://127.0.0.1:$PORT_AGENT/metrics)
grep -q '^heapsnap_alerts_failed_total{sink="webhook"} 1$' <<<"$metrics" || fail "webhook failure not counted"
grep -q "^heapsnap_alerts_sent_total{sink=\"webhook\"} $n_events\$" <<<"$metrics" || fail "webhook sends not counted"
grep -q "webhook http://127.0.0.1:$PORT_HOOK/\.\.\.: HTTP 500, retrying" "$T/agent.err" || fail "the 500 is not logged"
grep -q "/hook" "$T/agent.err" && fail "the webhook's path (often its secret) is in the log"
pass "webhook: each event once per attempt, retried after a 500"

wait_for 10 grep -q "^/fakeam/api/v2/alerts	200	Bearer s3cret-token	\[{\"labels\":{\"alertname\":\"HeapsnapMemoryGrowth\"" "$T/received" ||
	{ grep fakeam "$T/received" | head -3; fail "the Alertmanager push lacks the bearer token"; }
grep -q s3cret "$T/agent.err" "$T/agent.out" && fail "the token was printed"
stop_agent
pass "bearer token from a 0600 file sent, never printed; a 0644 one refused"

# Basic auth: username + password_file.
printf 'pa55word\n' > "$T/password" && chmod 600 "$T/password"
write_config "$T/basic.ini" capture.method=signal \
	alertmanager.url=http://127.0.0.1:$PORT_HOOK/basicam alertmanager.resend_s=5 \
	alertmanager.username=heapsnap alertmanager.password_file=$T/password
start_agent "$T/basic.ini"
mkdir -p "$T/app2" && cd "$T/app2" && start_node LEAK2 --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
want="Basic $(printf 'heapsnap:pa55word' | base64)"
wait_for 60 grep -q "^/basicam/api/v2/alerts	200	$want	.*\"pid\":\"$LEAK2\"" "$T/received" ||
	{ grep basicam "$T/received" | head -3; fail "no basic-auth push for pid $LEAK2"; }
grep -q pa55word "$T/agent.err" "$T/agent.out" && fail "the password was printed"
stop_agent
pass "basic auth from username + a 0600 password_file"
