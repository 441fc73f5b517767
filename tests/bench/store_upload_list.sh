#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark (not a test): the stored file's size, the store writer's time, the upload's
# throughput and the fleet listing, each as a ratio against its anchor measured in the
# same run, "before" being an older build (OLD_BUILD: a build of main, default
# /tmp/hs-i23-main/build; missing = those columns are left out):
#   size      stored .gz / `gzip -6` of the same raw snapshot (new and old defaults)
#   compress  store writer alone on that raw file (no V8): new ms / old ms (what the
#             capture thread spends per snapshot besides waiting for V8)
#   upload    agent MB/s / `curl -T --aws-sigv4` MB/s of the same file to the same RGW
#   listing   `list --remote` by host, app and time over 10 000 snapshots of 100 hosts:
#             time and requests (counted in RGW's log), against the old CLI (by host)
# Rounds alternate old and new; the machine is shared, so each row gives every round.
#   OLD_BUILD=... ROUNDS=2 RECORDS=600000 UPLOAD_MB=100 HOSTS=100 PER_HOST=100 bash tests/bench/store_upload_list.sh
set -u
cd "$(dirname "$0")/../.."
export HEAPSNAP_ROOT=$PWD
source tests/e2e/lib.sh
source tests/e2e/rgw.sh
OLD_BUILD=${OLD_BUILD:-/tmp/hs-i23-main/build}
ROUNDS=${ROUNDS:-2}
RECORDS=${RECORDS:-600000}
UPLOAD_MB=${UPLOAD_MB:-100}
HOSTS=${HOSTS:-100}
PER_HOST=${PER_HOST:-100}
NEW_BUILD=$BUILD
have_old=false
[ -x "$OLD_BUILD/heapsnapd" ] && [ -x "$OLD_BUILD/heapsnap" ] && [ -f "$OLD_BUILD/libheapsnap.a" ] && have_old=true
$have_old || echo "bench: no old build at $OLD_BUILD (make one from main): only the anchors' columns"
make -s -j2 BUILD="$BUILD" "$BUILD/e2e/store_put" "$BUILD/e2e/s3_populate" >/dev/null || exit 1
if $have_old; then
	gcc -O2 -std=gnu11 -D_GNU_SOURCE -Iagent -o "$T/store_put_old" tests/bench/store_put.c "$OLD_BUILD/libheapsnap.a" \
		-lbpf -lelf -lz -linih -ljansson -lmicrohttpd -lcurl -lexpat -lcrypto -lpthread || exit 1
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; }
ROWS=()
row() { ROWS+=("$(printf 'FIGURE %-34s %-40s %s' "$1" "$2" "$3")"); }

# --- size and compression cost on one raw snapshot -----------------------------------
cat > "$T/records.js" <<'JS'
const v8 = require('v8'); const keep = globalThis.keep = [];
for (let i = 0; i < Number(process.argv[3]); i++) keep.push({ id: i, name: 'user' + i, tags: ['a', 'b'], score: i + 0.5 });
v8.writeHeapSnapshot(process.argv[2]);
JS
"$NODE" "$T/records.js" "$T/raw.heapsnapshot" "$RECORDS" || fail "cannot make the raw snapshot"
raw=$(stat -c %s "$T/raw.heapsnapshot")
g6=$(gzip -6 -c "$T/raw.heapsnapshot" | wc -c)
mkdir -m 700 "$T/s_new" "$T/s_old"
sizes="" times=""
for r in $(seq "$ROUNDS"); do
	read -r _ new_gz _ new_ms < <("$BUILD/e2e/store_put" "$T/s_new" "$T/raw.heapsnapshot" 6)
	times+=" new $new_ms ms"
	if $have_old; then
		read -r _ old_gz _ old_ms < <("$T/store_put_old" "$T/s_old" "$T/raw.heapsnapshot" 1)
		times+=" / old $old_ms ms = $(ratio "$new_ms" "$old_ms");"
	fi
done
row "stored size / gzip -6" "new (level 6, 2 threads) $(ratio "$new_gz" "$g6")" \
	"$($have_old && echo "old (level 1) $(ratio "$old_gz" "$g6")"); raw $((raw >> 20)) MB, gzip -6 $g6 B"
row "store writer time, new / old" "$RECORDS records, $((raw >> 20)) MB raw" "$times"

# --- upload and listing: one RGW ---------------------------------------------------------
rgw_start 19290
s3_creds_file "$T/creds"
cat > "$T/strings.js" <<'JS'
const v8 = require('v8'), crypto = require('crypto'); const keep = globalThis.keep = [];
for (let i = 0; i < Number(process.argv[3]) * 1024; i++) keep.push(crypto.randomBytes(512).toString('base64'));
v8.writeHeapSnapshot(process.argv[2]);
JS
"$NODE" "$T/strings.js" "$T/big.heapsnapshot" "$UPLOAD_MB" || fail "cannot make the upload snapshot"
rm -rf "$T/store"; mkdir -m 700 "$T/store"
read -r up_id up_gz _ < <("$BUILD/e2e/store_put" "$T/store" "$T/big.heapsnapshot" 6)
rm -f "$T/big.heapsnapshot"
upload_once() { # BUILD_DIR -> MB/s the agent logged
	local b=$1 line
	rm -f "$T/store/$up_id.upload"
	write_config "$T/up.ini" upload.prefix=bench $(upload_keys)
	HEAPSNAPD=$b/heapsnapd start_agent "$T/up.ini"
	wait_for 300 grep -q "upload: $up_id uploaded" "$T/agent.err" || { stop_agent; return 1; }
	line=$(grep "upload: $up_id uploaded" "$T/agent.err")
	stop_agent
	echo "$line" | sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p'
}
curl_once() {
	local t0 t1
	t0=$(date +%s%N)
	s3curl -T "$T/store/$up_id.heapsnapshot.gz" "$S3_ENDPOINT/$S3_BUCKET/bench/curl.gz" -o /dev/null || return 1
	t1=$(date +%s%N)
	awk -v b="$up_gz" -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }'
}
ups=""
for r in $(seq "$ROUNDS"); do
	c=$(curl_once); n=$(upload_once "$NEW_BUILD")
	ups+=" curl $c, new $n = $(ratio "$n" "$c")"
	if $have_old; then
		o=$(upload_once "$OLD_BUILD"); c2=$(curl_once)
		ups+=", old $o = $(ratio "$o" "$c2") (curl $c2)"
	fi
	ups+=";"
done
row "upload MB/s / curl -T MB/s" "$((up_gz >> 20)) MB gzip, part_mb 16" "$ups"

t0=$(date +%s%N)
"$BUILD/e2e/s3_populate" "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" 0 "$HOSTS" "$PER_HOST" "$HOSTS" || fail "populate"
echo "bench: populated $((HOSTS * PER_HOST)) snapshots of $HOSTS hosts in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
printf '[upload]\nendpoint = %s\nbucket = %s\ncredentials_file = %s\n' "$S3_ENDPOINT" "$S3_BUCKET" "$T/creds" > "$T/cli.ini"
rgw_requests() { cat "$RGW_D"/*rgw*.log 2>/dev/null | grep -c "req done"; }
list_once() { # CLI ARGS... -> "ms requests count"
	local cli=$1 t0 ms r0 r1 n; shift
	r0=$(rgw_requests); t0=$(date +%s%N)
	n=$("$cli" -c "$T/cli.ini" list --remote --json "$@" 2>/dev/null | nodetool -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')
	ms=$(( ($(date +%s%N) - t0) / 1000000 )); r1=$(rgw_requests)
	echo "$ms $((r1 - r0)) $n"
}
for filter in "--host host-042.example" "--app app-3" "--since 2026-11-04T18:00:00Z"; do
	# shellcheck disable=SC2086
	read -r nms nreq nn < <(list_once "$NEW_BUILD/heapsnap" $filter)
	text="new ${nms} ms, $nreq requests, $nn listed"
	# the old CLI reads every snapshot's metadata whatever the filter: timed once
	if $have_old && [ "$filter" = "--host host-042.example" ]; then
		# shellcheck disable=SC2086
		read -r oms oreq on < <(list_once "$OLD_BUILD/heapsnap" $filter)
		text+="; old ${oms} ms, $oreq requests, $on listed; time new/old $(ratio "$nms" "$oms"), requests $(ratio "$nreq" "$oreq")"
	fi
	row "list --remote $filter" "$((HOSTS * PER_HOST)) snapshots, $HOSTS hosts" "$text; requests/listed $(ratio "$nreq" "$nn")"
done

echo
printf '%-41s %-40s %s\n' "" "SETUP" "RATIOS (every round)"
for r in "${ROWS[@]}"; do echo "$r"; done
