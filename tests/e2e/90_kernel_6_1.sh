#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent on Debian 12's own kernel (6.1: struct mm_rss_stat, the rss_stat tracepoint
# with its count argument), booted under QEMU (TCG), and on the host's kernel:
#   1. every BPF object loads with each obtainable kernel's BTF as the CO-RE target
#      (6.1 and 6.12 from Debian's registry, and the host's)
#   2. tests/vm/checks.sh on the host: --check, RSS trigger, capture stored and
#      parsed, GC uprobes in both per-thread modes
#   3. the same checks inside the booted 6.1 kernel
# Needs root, qemu-system-x86, busybox-static, cpio, lz4 (make test-deps) and apt access
# to download the kernel once (cached in $BUILD/vm/cache). Without the kernel package it
# skips by hand and fails under CI=true.
source "$(dirname "$0")/lib.sh"
need_root
PKG=${KERNEL_61:-linux-image-6.1.0-57-cloud-amd64}
OTHER_BTF=${KERNEL_BTF_ONLY:-linux-image-6.12.118+deb12-cloud-amd64}
missing() { if [ "${CI:-}" = true ]; then fail "$*"; else skip "$*"; fi; }
for t in qemu-system-x86_64 cpio lz4 /bin/busybox; do
	command -v "$t" >/dev/null || missing "$t is not installed (make test-deps)"
done
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/e2e/btf_load_check" >/dev/null || fail "cannot build btf_load_check"

mkdir -p "$BUILD/vm/cache"
kdir=$(bash "$ROOT/tests/vm/kernel.sh" "$PKG" "$BUILD/vm/cache") || missing "cannot download $PKG"
btfs=("$kdir/vmlinux" /sys/kernel/btf/vmlinux)
if odir=$(bash "$ROOT/tests/vm/kernel.sh" "$OTHER_BTF" "$BUILD/vm/cache"); then
	btfs+=("$odir/vmlinux")
else
	missing "cannot download $OTHER_BTF"
fi
for btf in "${btfs[@]}"; do
	echo "== BPF objects against $btf"
	"$BUILD/e2e/btf_load_check" "$btf" 2>"$T/load.err" || { cat "$T/load.err"; fail "a BPF object does not load against $btf"; }
done

echo "== the checks on the host's kernel ($(uname -r))"
sh "$ROOT/tests/vm/checks.sh" "$BUILD" "$T/host" | tee "$T/host.txt"
grep -q '^HSVM DONE 0' "$T/host.txt" || fail "checks failed on the host's kernel"

echo "== the checks in $PKG under QEMU"
bash "$ROOT/tests/vm/boot.sh" "$BUILD" "$PKG"
case $? in
0) ;;
2) missing "cannot download $PKG";;
*) fail "checks failed in $PKG";;
esac
grep -aq 'rss_layout *ok *struct mm_rss_stat' "$BUILD/vm/console-$PKG.log.txt" || fail "--check in $PKG did not report the pre-6.2 RSS layout"
pass "6.1 (booted), 6.12 and the host's kernel (BTF), the host's kernel (run): the agent loads and captures a leak"
