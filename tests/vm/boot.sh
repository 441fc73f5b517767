#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# boot.sh BUILD PACKAGE: boot a Debian kernel package's image under QEMU (TCG: no KVM
# needed) with the initramfs of initramfs.sh, whose init runs checks.sh; echo its
# "HSVM" lines. Exit 0 if it booted and every check passed, 1 otherwise, 2 when the
# kernel package cannot be had (the caller decides: skip by hand, fail in CI).
# The kernel is cached under BUILD/vm/cache, the console kept in BUILD/vm/console-PACKAGE.log.
set -u
BUILD=$1 PKG=$2
HERE=$(cd "$(dirname "$0")" && pwd)
VM=$BUILD/vm
mkdir -p "$VM/cache"
kdir=$(bash "$HERE/kernel.sh" "$PKG" "$VM/cache") || { echo "boot: cannot get $PKG"; exit 2; }
initrd=$VM/initrd.cpio
# Rebuilt when an input changed (12 s, most of it copying Node).
if [ ! -s "$initrd" ] || [ -n "$(find "$BUILD/heapsnapd" "$BUILD/heapsnap" "$HERE/checks.sh" "$HERE/initramfs.sh" \
	${NODE:-/usr/bin/node} -newer "$initrd" 2>/dev/null)" ]; then
	bash "$HERE/initramfs.sh" "$BUILD" "$initrd" || { echo "boot: initramfs failed"; exit 1; }
fi
console=$VM/console-$PKG.log
start=$SECONDS
# -cpu max: TCG's default qemu64 lacks instructions Node's build uses. panic=-1 and
# -no-reboot: a kernel panic ends QEMU instead of hanging until the timeout.
timeout -k 5 "${VM_TIMEOUT:-240}" qemu-system-x86_64 -cpu max -m 2048 -smp 2 -nographic -no-reboot \
	-kernel "$kdir/vmlinuz" -initrd "$initrd" -append "console=ttyS0 panic=-1 quiet" \
	</dev/null >"$console" 2>&1
rc=$?
echo "boot: $PKG: qemu exit $rc after $((SECONDS - start)) s (console: $console)"
# The serial console carries the terminal resets QEMU's firmware writes: drop them.
sed 's/\x1bc//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\r$//' "$console" > "$console.txt"
grep -a '^HSVM\|^  ' "$console.txt"
grep -aq '^HSVM BOOTED' "$console.txt" || { echo "boot: $PKG did not reach init"; tail -20 "$console.txt"; exit 1; }
grep -aq '^HSVM DONE 0' "$console.txt" || { echo "boot: $PKG: checks failed or did not finish"; exit 1; }
exit 0
