#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make image: the container image heapsnap:VERSION, built offline from Debian packages.
# Two steps, each cached:
#   1. the base: mmdebstrap makes a minimal Debian 12 root file system (variant apt: the
#      Essential packages and apt) with the package's Depends and ca-certificates from
#      the host's configured Debian mirror; `podman import` makes it heapsnap-base:KEY,
#      KEY = a hash of the Depends and this script (minutes; once per dependency set,
#      its tarball kept in IMAGE_DIR);
#   2. the package on top: `podman build` FROM that base, dpkg -i of the .deb (seconds;
#      redone only when the .deb's SHA-256 differs from the image's label).
# No base image from a registry, no network but the Debian mirror in step 1.
#   build.sh DEB VERSION IMAGE_DIR
set -euo pipefail
# Debian's own tools only (mmdebstrap runs its filters with python3 from PATH).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
version=$2 dir=$3
tag=heapsnap:$version
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
mkdir -p "$dir"
# A copy: a rebuild of the package while this runs must not change it under us.
ctx=$dir/context
rm -rf "$ctx" && mkdir -p "$ctx"
cp "$1" "$ctx/heapsnap.deb"
deb_sum=$(sha256sum "$ctx/heapsnap.deb" | cut -c1-16)

depends=$(dpkg-deb -f "$ctx/heapsnap.deb" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | sort | paste -sd,)
key=$( { echo "$depends"; cat "$0"; } | sha256sum | cut -c1-16)
base=heapsnap-base:$key
rootfs=$dir/base-$key.tar

# The host's Debian sources (deb822 or one-line), never a third-party repository.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	sources=(/etc/apt/sources.list.d/debian.sources)
elif grep -qs '^deb .*debian' /etc/apt/sources.list; then
	sources=("$(grep '^deb .*debian' /etc/apt/sources.list)")
else
	sources=(http://deb.debian.org/debian)
fi

if ! "${podman[@]}" image exists "$base"; then
	if [ ! -s "$rootfs" ]; then
		rm -f "$dir"/base-*.tar
		echo "image: mmdebstrap bookworm + $depends -> $rootfs"
		# Documentation, locales, apt's lists and Recommends are left out: an agent
		# image needs none of them; ca-certificates for https uploads and Alertmanagers.
		mmdebstrap --variant=apt --quiet \
			--aptopt='APT::Install-Recommends "false"' \
			--include="ca-certificates,$depends" \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
			bookworm "$dir/base-$key.tmp.tar" "${sources[@]}" </dev/null
		mv "$dir/base-$key.tmp.tar" "$rootfs"
	fi
	"${podman[@]}" import "$rootfs" "$base" >/dev/null
fi

if [ "$("${podman[@]}" image inspect --format '{{index .Labels "org.heapsnap.deb"}}' "$tag" 2>/dev/null)" != "$deb_sum" ]; then
	cat > "$ctx/Containerfile" <<EOC
FROM localhost/$base
COPY heapsnap.deb /tmp/heapsnap.deb
RUN dpkg -i /tmp/heapsnap.deb && rm /tmp/heapsnap.deb && mkdir -p -m 0700 /run/heapsnap
LABEL org.heapsnap.deb=$deb_sum org.opencontainers.image.title=heapsnap \\
      org.opencontainers.image.version=$version \\
      org.opencontainers.image.licenses="Apache-2.0 AND (GPL-2.0-only OR BSD-2-Clause)"
ENTRYPOINT ["/usr/bin/heapsnapd"]
CMD ["-c", "/etc/heapsnap/heapsnap.ini"]
EOC
	"${podman[@]}" build --quiet --network=none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
		-t "$tag" "$ctx" >/dev/null
	"${podman[@]}" image prune -f >/dev/null
fi
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
echo "image: $tag ($((size / 1000000)) MB; base $base, package $deb_sum)"
