#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package: `make deb` builds build/heapsnap_VERSION_amd64.deb
# (Depends = the shared libraries the binaries link, all present on this host; the
# ini a conffile; /var/lib/heapsnap 0700); it installs into a scratch root with
# `dpkg --root` (maintainer scripts run chrootless with DPKG_ROOT: no systemd there,
# so nothing is enabled or started); the installed agent runs as
# `heapsnapd -c /etc/heapsnap/heapsnap.ini` (in a private mount namespace where the
# scratch root's /etc/heapsnap and /var/lib/heapsnap are bind-mounted, the conffile
# edited as an operator would: this test's nodes only, a test port) and stores a
# capture; `dpkg -r` removes the binaries and leaves the store and the conffile.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet.sh"
need_root
need_cmd dpkg-deb

make -s -C "$ROOT" BUILD="$BUILD" deb >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make deb"; }
VERSION=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
DEB=$BUILD/heapsnap_${VERSION}_amd64.deb
[ -f "$DEB" ] || fail "no $DEB"
dpkg-deb -f "$DEB" Depends > "$T/depends"
for lib in libbpf1 libc6 libcurl4 libelf1 libinih1 libjansson4 libmicrohttpd12 zlib1g; do
	grep -q "\b$lib\b" "$T/depends" || fail "Depends lacks $lib: $(cat "$T/depends")"
done
for p in $(tr ',' '\n' < "$T/depends" | sed 's/(.*//; s/|.*//; s/ //g'); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || fail "dependency $p is not installed here"
done
[ "$(dpkg-deb -I "$DEB" conffiles)" = /etc/heapsnap/heapsnap.ini ] || fail "conffiles: $(dpkg-deb -I "$DEB" conffiles)"
dpkg-deb -c "$DEB" | grep -q '^drwx------ root/root .* \./var/lib/heapsnap/$' || fail "/var/lib/heapsnap is not 0700 root"
pass "package built: Depends $(cat "$T/depends")"

# lintian: no error and one warning only, on purpose: the store is 0700 (snapshots hold
# process memory, secrets included). The manual pages, the copyright file (DEP-5) and
# the maintainer (a role address) are checked by the absence of any other warning.
need_cmd lintian
lintian --tag-display-limit 0 "$DEB" > "$T/lintian.txt" 2>/dev/null
cat "$T/lintian.txt"
grep -q '^E:' "$T/lintian.txt" && fail "lintian reports errors"
grep '^W:' "$T/lintian.txt" | grep -v ': non-standard-dir-perm 0700 != 0755 \[var/lib/heapsnap/\]' &&
	fail "lintian reports an unexplained warning"
dpkg-deb -c "$DEB" > "$T/contents"
for page in man1/heapsnap.1.gz man5/heapsnap.ini.5.gz man8/heapsnapd.8.gz; do
	grep -q "^-rw-r--r-- root/root .* \./usr/share/man/$page\$" "$T/contents" || fail "no $page in the package"
done
grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$ROOT/pkg/deb/copyright" ||
	fail "pkg/deb/copyright is not machine-readable"
pass "lintian: no errors, only the 0700 store warning; manual pages shipped"

R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
touch "$R/var/lib/dpkg/status"
dpkg --root="$R" --force-depends --force-script-chrootless --log=/dev/null -i "$DEB" >"$T/dpkg.log" 2>&1 ||
	{ cat "$T/dpkg.log"; fail "dpkg -i into the scratch root"; }
[ "$(dpkg --root="$R" -s heapsnap | sed -n 's/^Status: //p')" = "install ok installed" ] || fail "not installed"
for f in usr/bin/heapsnapd usr/bin/heapsnap; do [ -x "$R/$f" ] || fail "$f missing"; done
for b in heapsnapd heapsnap; do
	"$R/usr/bin/$b" --version | grep -q "^$b $VERSION\$" || fail "$b --version: $("$R/usr/bin/$b" --version 2>&1)"
	"$R/usr/bin/$b" --version | grep -q '^libbpf: [0-9]*\.[0-9]*$' || fail "$b --version names no libbpf"
	"$R/usr/bin/$b" --help | grep -q -- '--version' || fail "$b --help lacks --version"
done
grep -q '^ExecStart=/usr/bin/heapsnapd -c /etc/heapsnap/heapsnap.ini$' "$R/lib/systemd/system/heapsnapd.service" ||
	fail "the unit does not start /usr/bin/heapsnapd"
[ "$(stat -c %a "$R/var/lib/heapsnap")" = 700 ] || fail "the store is not 0700 after postinst"
grep -q '^dir = /var/lib/heapsnap$' "$R/etc/heapsnap/heapsnap.ini" || fail "the packaged ini does not use /var/lib/heapsnap"
[ -f "$R/usr/share/heapsnap/heapsnap.rules.yml" ] || fail "rules file not shipped"
[ -e "$R/etc/systemd/system/multi-user.target.wants/heapsnapd.service" ] && fail "enabled although no systemd runs"
pass "installed into a scratch root"

# The operator's edits of the conffile: this test's processes only, a test port.
sed -i -e "s|^require_env =.*|require_env = HEAPSNAP_TEST=$T|" -e "s|^listen =.*|listen = 127.0.0.1:$PORT_AGENT2|" \
	-e 's|^growth_mb = .*|growth_mb = 100|' -e 's|^min_free_mb = .*|min_free_mb = 16|' "$R/etc/heapsnap/heapsnap.ini"
made=()
for d in /etc/heapsnap /var/lib/heapsnap /run/heapsnap; do [ -e "$d" ] || { mkdir -p "$d"; made+=("$d"); }; done
rmdir_made() { local d; for d in "${made[@]}"; do rmdir "$d" 2>/dev/null; done; }
trap 'rmdir_made; cleanup' EXIT
unshare -m --propagation private sh -c '
	mount --bind "$1/etc/heapsnap" /etc/heapsnap &&
	mount --bind "$1/var/lib/heapsnap" /var/lib/heapsnap &&
	mount -t tmpfs -o mode=0700 tmpfs /run/heapsnap &&
	exec "$1/usr/bin/heapsnapd" -c /etc/heapsnap/heapsnap.ini' sh "$R" >"$T/agent.out" 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_for 20 grep -q "started:" "$T/agent.err" || fail "the installed agent did not start"
wait_for 10 code_is http://127.0.0.1:$PORT_AGENT2/-/ready 200 || fail "the installed agent is not ready"
mkdir -p "$T/app" && cd "$T/app" && start_node LEAK --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 60 event_for "$LEAK" capture_done || fail "the installed agent did not capture"
kill "$LEAK"
stop_agent
ls "$R"/var/lib/heapsnap/*.heapsnapshot.gz >/dev/null 2>&1 || fail "no snapshot in the package's store"
pass "the installed heapsnapd -c /etc/heapsnap/heapsnap.ini ran and stored a snapshot"

dpkg --root="$R" --force-script-chrootless --log=/dev/null -r heapsnap >"$T/dpkg-r.log" 2>&1 ||
	{ cat "$T/dpkg-r.log"; fail "dpkg -r"; }
[ -e "$R/usr/bin/heapsnapd" ] && fail "binaries left after dpkg -r"
[ -e "$R/lib/systemd/system/heapsnapd.service" ] && fail "unit left after dpkg -r"
ls "$R"/var/lib/heapsnap/*.heapsnapshot.gz >/dev/null 2>&1 || fail "dpkg -r removed the store's snapshots"
grep -q "^require_env = HEAPSNAP_TEST=$T" "$R/etc/heapsnap/heapsnap.ini" || fail "the edited conffile is gone after dpkg -r"
dpkg --root="$R" --force-script-chrootless --log=/dev/null -P heapsnap >>"$T/dpkg-r.log" 2>&1 || fail "dpkg -P"
[ -e "$R/etc/heapsnap/heapsnap.ini" ] && fail "conffile left after purge"
ls "$R"/var/lib/heapsnap/*.heapsnapshot.gz >/dev/null 2>&1 || fail "purge removed the snapshots"
pass "dpkg -r removes the package, keeps the store and the conffile; purge keeps the store"
