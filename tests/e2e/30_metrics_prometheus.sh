#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Metrics: /-/ready is 503 while the BPF programs load (the agent's first
# bpf() call held back 3 s by strace's fault injection, no knob in the agent) and 200
# after; a garbage request gets a 4xx and the endpoint still serves; a real Prometheus
# 2.42 scrapes the agent (up == 1) and, after a real capture through the signal route,
# sees heapsnap_captures_total rise (asked through its query API); `promtool check
# metrics` passes on the live /metrics with a watched process; the rules file loads.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet.sh"
need_root
need_cmd strace
need_cmd promtool

LISTEN=127.0.0.1:$PORT_AGENT
write_config "$T/hs.ini" metrics.listen=$LISTEN capture.method=signal
promtool check rules "$ROOT/conf/heapsnap.rules.yml" || fail "promtool check rules"

# --- ready: 503 before the probes attach, 200 after ---
strace -f --seccomp-bpf -qq -o /dev/null -e trace=bpf -e inject=bpf:delay_enter=3000000:when=1 \
	"$HEAPSNAPD" -c "$T/hs.ini" >"$T/agent.out" 2>"$T/agent.err" &
TRACER=$!
PIDS+=("$TRACER")
wait_for 20 code_not http://$LISTEN/-/ready 000 || fail "the metrics endpoint did not come up"
AGENT=$(cat "$T/heapsnapd.lock")   # the host lock is taken before the endpoint starts
PIDS+=("$AGENT")                    # strace killed would leave it running
code=$(http_code http://$LISTEN/-/ready)
[ "$code" = 503 ] || fail "/-/ready answered $code while the probes were loading (want 503)"
grep -q "started:" "$T/agent.err" && fail "the agent was started already: the test proves nothing"
curl -s -m 5 http://$LISTEN/metrics | grep -q '^heapsnap_ready 0$' || fail "heapsnap_ready is not 0 while starting"
wait_for 30 grep -q "started:" "$T/agent.err" || fail "agent did not start"
code=$(http_code http://$LISTEN/-/ready)
[ "$code" = 200 ] || fail "/-/ready answered $code after the start (want 200)"
[ "$(http_code http://$LISTEN/-/healthy)" = 200 ] || fail "/-/healthy is not 200"
kill -TERM "$AGENT"
wait "$TRACER" || fail "the agent under strace did not exit cleanly"
pass "ready 503 before the probes, 200 after"

start_agent "$T/hs.ini"
# --- hostile clients: garbage, a wrong method, an unknown path, an idle connection ---
exec 3<>/dev/tcp/127.0.0.1/$PORT_AGENT
# (the server may close while we write: no SIGPIPE for the test's shell)
(trap '' PIPE; printf 'GARBAGE \001\002\377 HTTP/9\r\nno header here\r\n\r\n' >&3) 2>/dev/null
reply=$(timeout 5 head -c 200 <&3)
exec 3>&-
[[ $reply =~ ^HTTP/1\.[01]\ 4[0-9][0-9] ]] || fail "garbage request: reply was '$reply' (want a 4xx)"
exec 4<>/dev/tcp/127.0.0.1/$PORT_AGENT   # stays silent while the others are served
[ "$(http_code http://$LISTEN/metrics -X POST)" = 405 ] || fail "POST /metrics is not 405"
[ "$(http_code http://$LISTEN/nope)" = 404 ] || fail "unknown path is not 404"
[ "$(http_code http://$LISTEN/metrics)" = 200 ] || fail "/metrics does not serve after garbage"
exec 4>&-
pass "garbage gets a 4xx, the endpoint still serves"

# Silent clients up to the per-address limit: the next one is turned away, and once
# the idle timeout closes them (10 s) the endpoint serves again.
# First the server must have let go of the connections above (closed by the test, maybe
# not yet seen by the server: one still counted made the 8th silent one the one turned
# away, and the 9th was served — a CI failure).
wait_for 15 bash -c "! ss -Htn state established '( sport = :$PORT_AGENT )' | grep -q ." ||
	fail "the earlier connections to the endpoint were never closed"
fds=()
for i in 1 2 3 4 5 6 7 8; do exec {fd}<>/dev/tcp/127.0.0.1/$PORT_AGENT; fds+=("$fd"); done
# (until the server has accepted all 8, a 9th may still get in: bounded retries)
wait_for 5 code_is http://$LISTEN/metrics 000 ||
	{ ss -tn state established "( sport = :$PORT_AGENT )"; fail "a 9th connection from the same address is still served: no per-address limit"; }
t0=$SECONDS
wait_for 20 code_is http://$LISTEN/metrics 200 || fail "the endpoint did not recover after the idle timeout"
for fd in "${fds[@]}"; do exec {fd}>&-; done
pass "8 silent connections: the 9th turned away, served again after $((SECONDS - t0)) s (idle timeout)"

# --- Prometheus scrapes it ---
start_prometheus "$LISTEN"
wait_for 30 prom_is 'up{job="heapsnap"}' 1 || fail "Prometheus: up{job=\"heapsnap\"} is not 1"
before=$(prom_value 'sum(heapsnap_captures_total{result="done"})')
[ "$before" = 0 ] || fail "captures before any capture: '$before' (want 0)"

# The option's value as its own word: the app label is still the script's ("leak", not "SIGUSR2").
mkdir -p "$T/app" && cd "$T/app" && start_node LEAK --heapsnapshot-signal SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$LEAK" capture_done || fail "no capture_done"
wait_for 20 prom_is 'sum(heapsnap_captures_total{result="done",method="signal",reason="growth"})' 1 ||
	fail "Prometheus does not see the capture: heapsnap_captures_total = $(prom_value 'sum(heapsnap_captures_total{result="done"})')"
wait_for 20 prom_some "heapsnap_process_rss_bytes{pid=\"$LEAK\",app=\"leak\"}" ||
	fail "no heapsnap_process_rss_bytes for pid $LEAK with app=leak in Prometheus"
[ "$(prom_value 'heapsnap_capture_duration_seconds_count')" = 1 ] || fail "capture duration histogram count is not 1"
[ "$(prom_value 'heapsnap_store_snapshots')" -ge 1 ] || fail "heapsnap_store_snapshots is not >= 1"
pass "Prometheus: up == 1, captures_total rose from 0 to 1 after a signal capture"

# gc_untracked PID: the agent said why it cannot track PID's GCs (this host or this
# node binary): not covered here, rather than failed.
gc_untracked() {
	local why
	why=$(grep -m1 -E "GC tracking unavailable|pid $1: no GC probes" "$T/agent.err") || return 1
	not_covered "GC series ($why)"
}
gc_series() {
	curl -s -m 5 http://$LISTEN/metrics > "$T/metrics.txt" || fail "GET /metrics"
	grep -q "^heapsnap_process_gcs_total{pid=\"$LEAK\",app=\"leak\",container=\"\",kind=\"major\"} " "$T/metrics.txt"
}
wait_for 10 gc_series || gc_untracked "$LEAK" || fail "no GC series for pid $LEAK, and the agent gave no reason it cannot track its GCs"
promtool check metrics < "$T/metrics.txt" || { cat "$T/metrics.txt"; fail "promtool check metrics"; }
grep -q 'HeapsnapAgentDown' <(curl -s -m 5 http://127.0.0.1:$PORT_PROM/api/v1/rules) || fail "rules not loaded by Prometheus"
stop_agent
pass "promtool check metrics clean on the live endpoint"
all_covered
