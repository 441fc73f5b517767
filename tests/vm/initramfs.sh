#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# initramfs.sh BUILD OUT.cpio: an initramfs (uncompressed newc cpio: nothing for the
# emulated CPU to decompress) holding busybox, heapsnapd and heapsnap, Node and every
# library they link (ldd), tests/vm/checks.sh and an init that runs it and powers off.
set -eu
BUILD=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-/usr/bin/node}
BUSYBOX=${BUSYBOX:-/bin/busybox}
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
# A dynamically linked busybox would need its own libraries: busybox-static's is static.
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	{ echo "initramfs: $BUSYBOX is not static (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$R"/{bin,sbin,usr/bin,hs/bin,tests,proc,sys,dev,tmp,etc,run}
cp "$BUSYBOX" "$R/bin/busybox"
cp "$BUILD/heapsnapd" "$BUILD/heapsnap" "$R/hs/bin/"
cp "$NODE" "$R/usr/bin/node"
cp "$HERE/checks.sh" "$R/tests/"
for bin in "$BUILD/heapsnapd" "$BUILD/heapsnap" "$NODE"; do
	ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /run/cgroup2 && mount -t cgroup2 cgroup2 /run/cgroup2
echo "HSVM BOOTED $(uname -r)"
sh /tests/checks.sh /hs/bin /tmp/hs 2>&1
poweroff -f
INIT
chmod 755 "$R/init" "$R/tests/checks.sh"
(cd "$R" && find . | cpio -o -H newc --quiet) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
