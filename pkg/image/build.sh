#!/usr/bin/env bash
# make image: the container image heapsnap:VERSION, built offline from Debian packages.
# mmdebstrap makes a minimal Debian 12 root file system (variant apt: the Essential
# packages and apt) with the built .deb and its Depends installed from the host's
# configured Debian mirror; `podman import` turns that tarball into an image (no base
# image, no registry). The root file system is cached under IMAGE_DIR keyed on the
# .deb's SHA-256: a rebuild with the same package costs only the import check.
#   build.sh DEB VERSION IMAGE_DIR
set -euo pipefail
# Debian's own tools only (mmdebstrap runs its filters with python3 from PATH).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
version=$2 dir=$3
tag=heapsnap:$version
mkdir -p "$dir"
# A copy: a rebuild of the package while this runs must not change it under us.
cp "$1" "$dir/$(basename "$1")"
deb=$(realpath "$dir/$(basename "$1")")
podman=(podman --runtime runc --cgroup-manager=cgroupfs)

sum=$(sha256sum "$deb" | cut -c1-16)
rootfs=$dir/rootfs-$sum.tar

# The host's Debian sources (deb822 or one-line), never a third-party repository.
sources=()
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	sources=(/etc/apt/sources.list.d/debian.sources)
elif grep -qs '^deb .*debian' /etc/apt/sources.list; then
	sources=("$(grep '^deb .*debian' /etc/apt/sources.list)")
else
	sources=(http://deb.debian.org/debian)
fi

if [ ! -s "$rootfs" ]; then
	rm -f "$dir"/rootfs-*.tar
	echo "image: mmdebstrap bookworm + $(basename "$deb") -> $rootfs"
	# The package's Depends come from the mirror; the package itself is copied in and
	# installed with dpkg (apt would hand dpkg a path outside the chroot).
	# Documentation, locales, apt's lists and Recommends are left out: an agent image
	# needs none of them; ca-certificates for https uploads and Alertmanagers.
	depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | paste -sd,)
	mmdebstrap --variant=apt \
		--aptopt='APT::Install-Recommends "false"' \
		--include="ca-certificates,$depends" \
		--customize-hook="copy-in $deb /tmp" \
		--customize-hook="chroot \"\$1\" dpkg -i /tmp/$(basename "$deb")" \
		--customize-hook="rm -f \"\$1\"/tmp/$(basename "$deb")" \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
		--customize-hook='mkdir -p -m 0700 "$1"/run/heapsnap' \
		bookworm "$dir/rootfs-$sum.tmp.tar" "${sources[@]}" </dev/null
	mv "$dir/rootfs-$sum.tmp.tar" "$rootfs"
fi

# Re-import only when the tagged image is not this root file system.
if [ "$("${podman[@]}" image inspect --format '{{index .Labels "org.heapsnap.rootfs"}}' "$tag" 2>/dev/null)" != "$sum" ]; then
	"${podman[@]}" import \
		--change 'ENTRYPOINT ["/usr/bin/heapsnapd"]' \
		--change 'CMD ["-c", "/etc/heapsnap/heapsnap.ini"]' \
		--change "LABEL org.heapsnap.rootfs=$sum" \
		--change "LABEL org.opencontainers.image.version=$version" \
		--change 'LABEL org.opencontainers.image.licenses=Apache-2.0 AND (BSD-2-Clause OR GPL-2.0-only)' \
		--change 'LABEL org.opencontainers.image.title=heapsnap' \
		"$rootfs" "$tag" >/dev/null
fi
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
echo "image: $tag ($((size / 1000000)) MB, rootfs $sum)"
