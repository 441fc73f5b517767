#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent on Debian 12's other kernel line, 6.12 (bookworm's backported kernel, also
# Debian 13's and RHEL 10's line: percpu RSS counters, the rss_stat tracepoint without
# count), booted under QEMU (TCG): tests/vm/checks.sh inside it (--check, RSS trigger,
# capture stored and parsed, GC uprobes in both per-thread modes). Needs what
# 90_kernel_6_1.sh needs; skips by hand without the kernel package, fails under CI=true.
source "$(dirname "$0")/lib.sh"
need_root
PKG=${KERNEL_612:-linux-image-6.12.118+deb12-cloud-amd64}
missing() { if [ "${CI:-}" = true ]; then fail "$*"; else skip "$*"; fi; }
for t in qemu-system-x86_64 cpio lz4 /bin/busybox; do
	command -v "$t" >/dev/null || missing "$t is not installed (make test-deps)"
done
bash "$ROOT/tests/vm/boot.sh" "$BUILD" "$PKG"
case $? in
0) ;;
2) missing "cannot download $PKG";;
*) fail "checks failed in $PKG";;
esac
grep -aq 'rss_layout *ok *percpu_counter' "$BUILD/vm/console-$PKG.log.txt" || fail "--check in $PKG did not report the 6.2+ RSS layout"
pass "6.12 (booted): the agent loads and captures a leak"
