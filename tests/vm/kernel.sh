#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kernel.sh PACKAGE CACHE_DIR: download a Debian kernel image package (never installed),
# extract it and its vmlinux (the bzImage's compressed payload, which carries .BTF) into
# CACHE_DIR/PACKAGE/. Prints that directory. Reruns reuse the cache.
#   CACHE_DIR/PACKAGE/vmlinuz   the bootable image
#   CACHE_DIR/PACKAGE/vmlinux   the uncompressed kernel (ELF with .BTF), for btf_custom_path
set -eu
pkg=$1 cache=$2
dir=$cache/$pkg
if [ -s "$dir/vmlinux" ] && [ -s "$dir/vmlinuz" ]; then echo "$dir"; exit 0; fi
mkdir -p "$dir"
deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	# One exact package name: apt-get takes a name it does not know as a regex and
	# would download every kernel that matches, so the name is checked first.
	known() { apt-cache pkgnames "$pkg" | grep -qxF "$pkg"; }
	known || { apt-get update -qq >&2 && known; } || { echo "kernel.sh: no package $pkg" >&2; exit 1; }
	(cd "$cache" && apt-get download "$pkg" >&2) || exit 1
	deb=$(ls "$cache"/"${pkg}"_*.deb | head -1)
fi
rm -rf "$dir/root" && dpkg-deb -x "$deb" "$dir/root"
cp "$(ls "$dir"/root/boot/vmlinuz-* | head -1)" "$dir/vmlinuz"
# The setup header: setup_sects at 0x1f1, payload_offset at 0x248 and payload_length
# at 0x24c, the offset counted from the end of the real-mode setup ((setup_sects+1)*512).
read -r setup_sects < <(od -An -tu1 -j $((0x1f1)) -N1 "$dir/vmlinuz")
read -r poff plen < <(od -An -tu4 -j $((0x248)) -N8 "$dir/vmlinuz")
start=$(( (setup_sects + 1) * 512 + poff ))
payload=$dir/payload
dd if="$dir/vmlinuz" of="$payload" bs=4M iflag=skip_bytes,count_bytes skip=$start count=$plen status=none
magic=$(od -An -tx1 -N4 "$payload" | tr -d ' ')
case $magic in
02214c18) lz4 -dc "$payload" > "$dir/vmlinux.tmp" 2>/dev/null || true;;   # LZ4 legacy frame
1f8b*) gzip -dc "$payload" > "$dir/vmlinux.tmp" 2>/dev/null || true;;
fd377a58) xz -dc "$payload" > "$dir/vmlinux.tmp" 2>/dev/null || true;;
28b52ffd) zstd -dc "$payload" > "$dir/vmlinux.tmp" 2>/dev/null || true;;
*) echo "kernel.sh: unknown payload compression ($magic) in $pkg" >&2; exit 1;;
esac
# Decompressors may complain about the padding after the stream; the ELF is what counts.
[ "$(od -An -c -N4 "$dir/vmlinux.tmp" | tr -d ' ')" = "177ELF" ] || { echo "kernel.sh: no ELF in $pkg's payload" >&2; exit 1; }
mv "$dir/vmlinux.tmp" "$dir/vmlinux"
rm -rf "$payload" "$dir/root"
echo "$dir"
