# SPDX-License-Identifier: Apache-2.0
# Helpers for the fleet tests (30-39), sourced after lib.sh: HTTP checks, a real
# Prometheus and a real Alertmanager on this worktree's loopback ports
# (19100-19199), each with its data in $T.
PORT_AGENT=19100
PORT_PROM=19101
PORT_AM=19102
PORT_AM_CLUSTER=19103
PORT_HOOK=19104
PORT_AGENT2=19105

# http_code URL [CURL ARGS...]: the status code ("000" when nothing answered).
http_code() { local u=$1; shift; curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "$u"; }

# code_is URL CODE [CURL ARGS...] / code_not URL CODE: for wait_for.
code_is() { local u=$1 c=$2; shift 2; [ "$(http_code "$u" "$@")" = "$c" ]; }
code_not() { [ "$(http_code "$1")" != "$2" ]; }

need_cmd() { command -v "$1" >/dev/null || fail "$1 missing: run 'make deps'"; }

# start_prometheus TARGET: scrapes TARGET every second as job "heapsnap", with the
# rules file loaded.
start_prometheus() {
	need_cmd prometheus
	cat > "$T/prometheus.yml" <<-EOF
	global: {scrape_interval: 1s, evaluation_interval: 1s}
	rule_files: ["$ROOT/conf/heapsnap.rules.yml"]
	scrape_configs:
	  - job_name: heapsnap
	    static_configs: [{targets: ["$1"]}]
	EOF
	mkdir -p "$T/prom"
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
		--web.listen-address=127.0.0.1:$PORT_PROM --log.level=warn >"$T/prom.log" 2>&1 &
	PROM=$!
	PIDS+=("$PROM")
	wait_for 30 code_is http://127.0.0.1:$PORT_PROM/-/ready 200 ||
		{ cat "$T/prom.log"; fail "Prometheus did not start"; }
}

# prom_value QUERY: the first sample's value of an instant query ("" when none).
prom_value() {
	curl -s -m 5 --get --data-urlencode "query=$1" "http://127.0.0.1:$PORT_PROM/api/v1/query" |
		python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
# prom_is QUERY VALUE: for wait_for. prom_some QUERY: the query has a sample.
prom_is() { [ "$(prom_value "$1")" = "$2" ]; }
prom_some() { [ -n "$(prom_value "$1")" ]; }

# start_alertmanager: one Alertmanager (no peers), its state in $T/am.
start_alertmanager() {
	need_cmd prometheus-alertmanager
	[ -f "$T/am.yml" ] || cat > "$T/am.yml" <<-EOF
	route: {receiver: none, group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
	receivers: [{name: none}]
	EOF
	mkdir -p "$T/am"
	prometheus-alertmanager --config.file="$T/am.yml" --storage.path="$T/am" \
		--web.listen-address=127.0.0.1:$PORT_AM --cluster.listen-address= \
		--log.level=warn >>"$T/am.log" 2>&1 &
	AM=$!
	PIDS+=("$AM")
	wait_for 30 code_is http://127.0.0.1:$PORT_AM/-/ready 200 ||
		{ cat "$T/am.log"; fail "Alertmanager did not start"; }
}

stop_alertmanager() {
	kill -TERM "$AM" 2>/dev/null
	local i
	for i in $(seq 100); do kill -0 "$AM" 2>/dev/null || break; sleep 0.1; done
	wait "$AM" 2>/dev/null
}

# am_alerts ACTIVE(true|false) [FILTER...]: Alertmanager's alerts as JSON.
am_alerts() {
	local active=$1; shift
	local args=(--get --data-urlencode "active=$active" --data-urlencode "silenced=false"
		--data-urlencode "inhibited=false" --data-urlencode "unprocessed=true")
	[ "$active" = false ] && args+=(--data-urlencode "active=false")
	local f
	for f in "$@"; do args+=(--data-urlencode "filter=$f"); done
	curl -s -m 5 "${args[@]}" "http://127.0.0.1:$PORT_AM/api/v2/alerts"
}

# start_receiver [FAIL_FIRST]: tests/e2e/apps/receiver.py on PORT_HOOK, lines in $T/received.
start_receiver() {
	: > "$T/received"
	FAIL_FIRST=${1:-0} python3 "$APPS/receiver.py" $PORT_HOOK "$T/received" >"$T/receiver.log" 2>&1 &
	PIDS+=($!)
	wait_for 10 code_not http://127.0.0.1:$PORT_HOOK/ 000 || fail "the test receiver did not start"
}
