# SPDX-License-Identifier: Apache-2.0
# Memory cgroups for the e2e tests (sourced; needs a skip function): a cgroup v2 with
# the memory controller, else one inside our own v1 memory cgroup (so a test stays
# inside whatever limits us). Skips the test when neither can be made. The caller's
# exit trap kills the processes in them, then calls memcg_remove_all.
CGROUPS=()
memcg_remove_all() {
	local d
	for d in "${CGROUPS[@]}"; do rmdir "$d" 2>/dev/null || echo "cleanup: cannot remove $d"; done
}

cg_ver=0 cg_parent=""
v2mnt=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
if [ -n "$v2mnt" ] && grep -qw memory "$v2mnt/cgroup.controllers" 2>/dev/null &&
	grep -qw memory "$v2mnt/cgroup.subtree_control" 2>/dev/null; then
	cg_ver=2 cg_parent=$v2mnt
elif [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
	cg_ver=1 cg_parent=/sys/fs/cgroup/memory${own%/}
fi
[ "$cg_ver" != 0 ] || skip "no writable memory cgroup (v2 memory controller or v1 memory hierarchy)"
make_cgroup() { # NAME LIMIT_BYTES -> $cg
	cg=$cg_parent/$1
	mkdir "$cg" || return 1
	CGROUPS+=("$cg")
	if [ "$cg_ver" = 2 ]; then
		echo "$2" >"$cg/memory.max" && { echo 0 >"$cg/memory.swap.max" 2>/dev/null; true; }
	else
		echo "$2" >"$cg/memory.limit_in_bytes"
	fi
}
oom_kills() {
	if [ "$cg_ver" = 2 ]; then awk '$1 == "oom_kill" {print $2}' "$1/memory.events"
	else awk '$1 == "oom_kill" {print $2}' "$1/memory.oom_control"; fi
}
start_in_cgroup() { # VAR CGROUP ARGS...: node in the cgroup (bash joins it, then execs node)
	local var=$1 dir=$2; shift 2
	bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$dir" "$NODE" "$@" >>"$T/node.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	printf -v "$var" '%s' "$pid"
}

