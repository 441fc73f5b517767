#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Alertmanager: a real Alertmanager 0.25 gets the pushed alerts. A leaking
# node (signal route) -> HeapsnapMemoryGrowth active there with host, pid, app,
# severity, and the snapshot_id once captured; the node exits -> the alert is resolved
# (gone from the API well before its endsAt, and Alertmanager notifies "resolved" to its
# own receiver). Alertmanager stopped while a second leaker is captured -> the agent
# keeps capturing, counts failed sends, and the alert arrives once Alertmanager is back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet.sh"
need_root

start_receiver
cat > "$T/am.yml" <<EOF
route: {receiver: hook, group_by: [alertname, pid], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:$PORT_HOOK/am", send_resolved: true}]
EOF
start_alertmanager
# resend_s = 5: endsAt is 20 s ahead, so an alert gone within 10 s was resolved by us.
# A second "Alertmanager" (the test receiver, /am2) must get every alert too.
write_config "$T/hs.ini" capture.method=signal metrics.listen=127.0.0.1:$PORT_AGENT \
	"alertmanager.url=http://127.0.0.1:$PORT_AM http://127.0.0.1:$PORT_HOOK/am2" alertmanager.resend_s=5
start_agent "$T/hs.ini"
grep -q "alertmanager: pushing alerts to http://127.0.0.1:$PORT_AM" "$T/agent.err" || fail "no start line for the push"

# am_has ACTIVE PID ALERTNAME [JQ-LIKE CHECK]: Alertmanager lists that alert (python check).
am_check() { # PID ALERTNAME PYTHON-CONDITION-ON-a
	am_alerts true "pid=$1" "alertname=$2" | python3 -c '
import json, sys
l = json.load(sys.stdin)
ok = [a for a in l if eval(sys.argv[1])]
sys.exit(0 if ok else 1)' "$3"
}
am_gone() { am_alerts true "pid=$1" "alertname=$2" | python3 -c 'import json,sys; sys.exit(1 if json.load(sys.stdin) else 0)'; }

mkdir -p "$T/app" && cd "$T/app" && start_node LEAK --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$LEAK" trigger || fail "no trigger"
HOST=$(hostname)
wait_for 20 am_check "$LEAK" HeapsnapMemoryGrowth \
	"a['labels'].get('host') == '$HOST' and a['labels'].get('app') == 'leak' and a['labels'].get('severity') == 'warning' and a['status']['state'] == 'active' and 'RSS' in a['annotations'].get('summary', '')" ||
	{ am_alerts true; fail "HeapsnapMemoryGrowth for pid $LEAK not active in Alertmanager with its labels"; }
wait_for 60 event_for "$LEAK" capture_done || fail "no capture_done"
id=$(grep '"event":"capture_done"' "$T/agent.out" | grep -o '"snapshot_id":"[^"]*"' | head -1 | cut -d'"' -f4)
wait_for 20 am_check "$LEAK" HeapsnapMemoryGrowth "a['annotations'].get('snapshot_id') == '$id'" ||
	{ am_alerts true; fail "the alert does not carry snapshot_id $id"; }
# One identity: the alert's app label is the stored snapshot's app, so
# `heapsnap list --app <label>` finds the snapshot the alert announced.
listed=$("$HEAPSNAP" --store "$T/store" list --json | nodetool -e '
	const l = JSON.parse(require("fs").readFileSync(0));
	console.log(l.filter((s) => s.app === process.argv[1]).map((s) => s.id).join(" "))' leak)
[[ " $listed " == *" $id "* ]] || fail "snapshot $id is not listed with app 'leak', the alert's label (listed: '$listed')"
pass "leaking process: HeapsnapMemoryGrowth active in Alertmanager with host, pid, app, severity, snapshot_id; the snapshot's app is the alert's"

# Re-sent every resend_s: Alertmanager's endsAt moves on (now + 4 x 5 s each time).
ends_of() { am_alerts true "pid=$LEAK" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["endsAt"])'; }
ends1=$(ends_of)
ends_moved() { [[ "$(ends_of)" > "$ends1" ]]; }
wait_for 15 ends_moved || fail "endsAt did not move on ($ends1): the alert is not re-sent"
grep -q "^/am2/api/v2/alerts	200	-	.*\"alertname\":\"HeapsnapMemoryGrowth\".*\"pid\":\"$LEAK\"" "$T/received" ||
	fail "the second Alertmanager did not get the alert"
pass "re-sent (endsAt $ends1 -> $(ends_of)), and sent to both Alertmanagers"

kill -TERM "$LEAK"
t0=$SECONDS
wait_for 10 am_gone "$LEAK" HeapsnapMemoryGrowth || { am_alerts true; fail "the alert is still active 10 s after the process exited"; }
wait_for 20 grep -q "^/am	200	.*\"status\":\"resolved\".*\"pid\":\"$LEAK\"" "$T/received" ||
	{ cat "$T/received"; fail "Alertmanager did not notify the resolution"; }
pass "process exited: alert resolved in Alertmanager after $((SECONDS - t0)) s (endsAt was 20 s ahead)"

# --- Alertmanager down while an alert is raised ---
stop_alertmanager
failed_before=$(curl -s http://127.0.0.1:$PORT_AGENT/metrics | sed -n 's/^heapsnap_alerts_failed_total{sink="alertmanager"} //p')
mkdir -p "$T/app2" && cd "$T/app2" && start_node LEAK2 --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$LEAK2" capture_done || fail "the agent did not capture while Alertmanager was down"
failed_after=$(curl -s http://127.0.0.1:$PORT_AGENT/metrics | sed -n 's/^heapsnap_alerts_failed_total{sink="alertmanager"} //p')
[ "$failed_after" -gt "$failed_before" ] || fail "failed sends not counted ($failed_before -> $failed_after)"
grep -q "alertmanager http://127.0.0.1:$PORT_AM/api/v2/alerts: .*retrying" "$T/agent.err" ||
	fail "the unreachable Alertmanager is not named in the log"
start_alertmanager
wait_for 40 am_check "$LEAK2" HeapsnapMemoryGrowth "a['status']['state'] == 'active'" ||
	{ am_alerts true; fail "the alert raised while Alertmanager was down did not arrive"; }
grep -q "alertmanager http://127.0.0.1:$PORT_AM/api/v2/alerts: delivering again" "$T/agent.err" ||
	fail "no recovery line in the log"
pass "Alertmanager down: capture went on, $((failed_after - failed_before)) failed sends counted, alert arrived once it was back"

# A capture that fails (method = signal, node without --heapsnapshot-signal) raises
# HeapsnapCaptureFailed with the reason in its description.
mkdir -p "$T/app3" && cd "$T/app3" && start_node NOFLAG "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$NOFLAG" capture_failed || fail "no capture_failed for the process without the flag"
wait_for 20 am_check "$NOFLAG" HeapsnapCaptureFailed "'no capture route' in a['annotations'].get('description', '')" ||
	{ am_alerts true; fail "HeapsnapCaptureFailed not active with the reason"; }
pass "a failed capture: HeapsnapCaptureFailed active with the reason"
stop_agent
