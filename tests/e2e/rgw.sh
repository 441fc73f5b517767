# SPDX-License-Identifier: Apache-2.0
# A single-node Ceph cluster with a RADOS Gateway on loopback, for the S3 tests
# (sourced after lib.sh). One mon + one OSD (memstore: objects live in the OSD's RAM)
# + radosgw (beast on 127.0.0.1), no systemd, no cephx, everything under $T/ceph.
#   rgw_start PORT [TLS_PORT]   mon on PORT+1, gateway on PORT (and https on TLS_PORT with
#                    a self-signed certificate for 127.0.0.1, $RGW_D/cert.pem); sets
#                    S3_ENDPOINT (and S3_TLS_ENDPOINT), S3_ACCESS, S3_SECRET
#   rgw_stop_gateway / rgw_start_gateway   take only the gateway down and up again
#   s3curl ARGS      curl signed with the test user's keys (for the tests' own checks)
# Every wait is bounded; a start that stalls (seen about once in 13 starts on a loaded
# machine) is retried once from scratch.
RGW_D=$T/ceph
S3_ACCESS=HEAPSNAPTESTKEY0001
S3_SECRET=heapsnap-test-secret-0123456789abcdefgh
S3_BUCKET=heapsnap-test

rgw_ceph() { timeout 20 ceph -c "$RGW_D/ceph.conf" "$@"; }

rgw_write_conf() { # PORT
	local fsid
	fsid=$(cat /proc/sys/kernel/random/uuid)
	cat > "$RGW_D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$(($1 + 1))
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
paxos propose interval = 0.1
osd objectstore = memstore
memstore device bytes = 4294967296
rgw gc obj min wait = 0
rgw gc processor period = 10
run dir = $RGW_D/run
admin socket = $RGW_D/run/\$name.asok
log file = $RGW_D/\$name.log
keyring = $RGW_D/keyring
mon data = $RGW_D/mon
osd data = $RGW_D/osd
[client.rgw]
rgw frontends = beast tcp_nodelay=1 endpoint=127.0.0.1:$1${2:+ ssl_endpoint=127.0.0.1:$2 ssl_certificate=$RGW_D/cert.pem ssl_private_key=$RGW_D/key.pem}
rgw thread pool size = 16
CONF
}

rgw_start_gateway() {
	radosgw -f -c "$RGW_D/ceph.conf" -n client.rgw >>"$RGW_D/radosgw.out" 2>&1 &
	RGW_PID=$!
	PIDS+=("$RGW_PID")
	RGW_PIDS+=("$RGW_PID")
	wait_for 60 curl -s -o /dev/null "$S3_ENDPOINT/" || return 1
}

rgw_stop_gateway() {
	kill -TERM "$RGW_PID" 2>/dev/null
	local i
	for i in $(seq 100); do kill -0 "$RGW_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$RGW_PID" 2>/dev/null
	wait "$RGW_PID" 2>/dev/null
	return 0
}

rgw_try_start() { # PORT [TLS_PORT]
	rm -rf "$RGW_D"; mkdir -p "$RGW_D/run" "$RGW_D/mon" "$RGW_D/osd"
	rgw_write_conf "$1" "${2:-}"
	if [ -n "${2:-}" ]; then
		timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -keyout "$RGW_D/key.pem" -out "$RGW_D/cert.pem" \
			-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || return 1
		S3_TLS_ENDPOINT=https://127.0.0.1:$2
	fi
	S3_ENDPOINT=http://127.0.0.1:$1
	timeout 30 ceph-authtool --create-keyring "$RGW_D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null || return 1
	timeout 30 monmaptool --create --add a "v2:127.0.0.1:$(($1 + 1))" --fsid "$(sed -n 's/^fsid = //p' "$RGW_D/ceph.conf")" \
		"$RGW_D/monmap" >/dev/null || return 1
	timeout 30 ceph-mon -c "$RGW_D/ceph.conf" --mkfs -i a --monmap "$RGW_D/monmap" >/dev/null 2>&1 || return 1
	ceph-mon -f -c "$RGW_D/ceph.conf" -i a >>"$RGW_D/mon.out" 2>&1 &
	PIDS+=("$!")
	RGW_PIDS+=("$!")
	local uuid id
	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(rgw_ceph osd new "$uuid" 2>/dev/null) || return 1
	timeout 30 ceph-osd -c "$RGW_D/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" >/dev/null 2>&1 || return 1
	ceph-osd -f -c "$RGW_D/ceph.conf" -i "$id" >>"$RGW_D/osd.out" 2>&1 &
	PIDS+=("$!")
	RGW_PIDS+=("$!")
	wait_for 30 rgw_osd_up || return 1
	rgw_start_gateway || return 1
	timeout 30 radosgw-admin -c "$RGW_D/ceph.conf" user create --uid=heapsnap --display-name=heapsnap \
		--access-key="$S3_ACCESS" --secret-key="$S3_SECRET" >/dev/null 2>&1 || return 1
}

rgw_osd_up() { rgw_ceph osd stat 2>/dev/null | grep -q '1 up'; }

# rgw_kill_all: every daemon this script started (before a retry; lib.sh's cleanup
# kills them at the end), by pid.
RGW_PIDS=()
rgw_kill_all() {
	local p
	for p in "${RGW_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	RGW_PIDS=()
}

rgw_start() { # PORT [TLS_PORT]
	command -v radosgw >/dev/null && command -v ceph-osd >/dev/null ||
		fail "Ceph RGW is not installed (make deps installs radosgw ceph-mon ceph-osd ceph-common)"
	local t0=$SECONDS
	if ! rgw_try_start "$1" "${2:-}"; then
		echo "rgw: start stalled after $((SECONDS - t0)) s, retrying once"
		rgw_kill_all
		rgw_try_start "$1" "${2:-}" || { tail -n 20 "$RGW_D"/*.log; fail "Ceph RGW did not start on 127.0.0.1:$1"; }
	fi
	echo "rgw: up on $S3_ENDPOINT in $((SECONDS - t0)) s"
	s3curl -X PUT "$S3_ENDPOINT/$S3_BUCKET" -o /dev/null || fail "cannot create bucket $S3_BUCKET"
}

# s3curl ARGS: curl signed as the test user (x-amz-content-sha256 for curl 7.88, see FIELD-NOTES).
s3curl() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS:$S3_SECRET" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# s3_creds_file FILE [SECRET]: an AWS shared-credentials file for the test user, 0600.
s3_creds_file() {
	( umask 077; printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$S3_ACCESS" "${2:-$S3_SECRET}" > "$1" )
}

# upload_keys: the [upload] keys of write_config for this server and $T/creds.
upload_keys() {
	echo "upload.endpoint=$S3_ENDPOINT" "upload.bucket=$S3_BUCKET" "upload.credentials_file=$T/creds" \
		"upload.retry_max_s=2"
}

# s3_keys [PREFIX]: the object keys in the bucket, one a line.
s3_keys() {
	local p=${1:-}
	s3curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=${p//\//%2F}" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

# s3_uploads: in-progress multipart uploads in the bucket (keys), one a line.
s3_uploads() {
	s3curl "$S3_ENDPOINT/$S3_BUCKET?uploads=" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}
