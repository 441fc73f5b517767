#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The container image (make image: a Debian 12 base from mmdebstrap, cached per set of
# Depends, and the package on top with podman build) run with podman, rootful, the
# way docs/container.md says: the host's PID namespace, a private cgroup namespace (as
# containerd gives every pod on cgroup v2: the agent must leave it), capabilities
# instead of --privileged, the host's store, /sys/kernel/btf, /sys/fs/cgroup and
# /sys/fs/bpf mounted. Two leaking Node processes on the host: one with
# --heapsnapshot-signal (the signal route: the file is read through /proc/PID/root),
# one flagless in a network namespace of its own (SIGUSR1, the inspector reached by
# setns from inside the container, the cgroup v2 connect guard attached from it). Both
# snapshots must land whole in the host-mounted store, then SIGTERM stops the container
# cleanly. Measures the image's size, the build and the agent's peak RSS.
# podman 4.3 here: runc and cgroupfs (crun has no hybrid cgroups), ulimits under this
# machine's hard limits. Requirements: root, podman, runc, mmdebstrap, the Debian
# mirror (first build). Under CI=true a missing piece fails the test.
# e2e-timeout: 600
source "$(dirname "$0")/lib.sh"
need_root
unavailable() { if [ "${CI:-}" = true ]; then fail "$*"; else skip "$*"; fi; }
for c in podman runc mmdebstrap; do command -v $c >/dev/null || unavailable "$c missing: run 'make test-deps'"; done
VERSION=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
IMAGE=heapsnap:$VERSION
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)

start=$SECONDS
make -s -C "$ROOT" BUILD="$BUILD" image >"$T/make.log" 2>&1 || { tail -30 "$T/make.log"; unavailable "make image failed"; }
grep '^image:' "$T/make.log"
"${PODMAN[@]}" image exists "$IMAGE" || fail "make image made no $IMAGE"
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
base_built=no; grep -q 'image: mmdebstrap' "$T/make.log" && base_built=yes
pass "make image: $IMAGE, $((size / 1000000)) MB, $((SECONDS - start)) s (base built: $base_built)"
"${PODMAN[@]}" run --rm --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 "$IMAGE" --version > "$T/version" 2>&1 ||
	{ cat "$T/version"; fail "the image does not run heapsnapd --version"; }
grep -q "^heapsnapd $VERSION\$" "$T/version" || fail "heapsnapd --version in the image: $(cat "$T/version")"

# The agent's config as an operator would mount it: this test's processes only.
write_config "$T/hs.ini" agent.state_socket=/run/heapsnap/heapsnapd.sock agent.state_file=/run/heapsnap/heapsnapd.state \
	agent.lock_file=/run/heapsnap/heapsnapd.lock store.dir=/var/lib/heapsnap trigger.growth_mb=60
chmod 644 "$T/hs.ini"
name=heapsnap-e2e-$$
CAPS=BPF,PERFMON,SYS_ADMIN,SYS_PTRACE,KILL,DAC_OVERRIDE,DAC_READ_SEARCH,CHOWN,FOWNER
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
[ -n "$cg2" ] || unavailable "no cgroup2 mount on this host (the connect guard needs one)"
"${PODMAN[@]}" run --rm --name "$name" --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
	--pid=host --cgroupns=private --cap-drop=all --cap-add=$CAPS \
	--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
	-v /sys/kernel/btf:/sys/kernel/btf:ro -v /sys/fs/bpf:/sys/fs/bpf -v "$cg2:$cg2:ro" \
	-v "$T/store:/var/lib/heapsnap" -v "$T/hs.ini:/etc/heapsnap/heapsnap.ini:ro" \
	"$IMAGE" -c /etc/heapsnap/heapsnap.ini >"$T/agent.out" 2>"$T/agent.err" &
PODMAN_PID=$!
trap '"${PODMAN[@]}" rm -f -t 2 "$name" >/dev/null 2>&1; cleanup' EXIT
wait_for 60 grep -q "started:" "$T/agent.err" || fail "the agent in the container did not start"
cat "$T/agent.err"
grep -q "cgroup namespace: entered the host's" "$T/agent.err" || fail "the agent stayed in the container's cgroup namespace"
grep -q "inspector connect guard: ready" "$T/agent.err" || fail "no connect guard in the container"
AGENT=$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$name")
pass "the agent runs in the container (host pid $AGENT), capabilities only, guard attached"

mkdir -p "$T/app" && cd "$T/app" && start_node SIG --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T" && start_node_netns INSP "$APPS/leak.js"
wait_for 90 event_for "$SIG" capture_done || fail "no capture of the signal-route process"
wait_for 90 event_for "$INSP" capture_done || fail "no capture of the flagless process in its network namespace"
event_line "$SIG" capture_done | grep -q '"method":"signal"' || fail "not the signal route: $(event_line "$SIG" capture_done)"
event_line "$INSP" capture_done | grep -q '"method":"inspector"' || fail "not the inspector: $(event_line "$INSP" capture_done)"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$AGENT/status")
for p in "$SIG" "$INSP"; do r=$(stored_snapshot_ok "$p") || fail "$r"; done
ls -l "$T/store"
[ -z "$(find "$T/store" -type f ! -perm 0600)" ] || fail "store files not 0600"
# The cgroup the metadata names is the host's path, not one relative to the
# container's cgroup namespace ("/../..").
grep -h -o '"cgroup": *"[^"]*"' "$T"/store/*.json | grep -q '/\.\.' && fail "a cgroup path seen from the container's namespace: $(grep -h -o '"cgroup": *"[^"]*"' "$T"/store/*.json)"
grep -h -o '"cgroup": *"[^"]*"' "$T"/store/*.json | head -1
pass "both captures stored whole in the host's store (signal, inspector via setns); agent peak RSS $((hwm / 1024)) MB"

kill "$SIG" "$INSP"
"${PODMAN[@]}" stop -t 20 "$name" >/dev/null || fail "podman stop"
wait "$PODMAN_PID"; rc=$?
[ "$rc" = 0 ] || fail "the container exited with $rc after SIGTERM"
grep -q "stopped" "$T/agent.err" || fail "no clean stop in the log"
pass "SIGTERM stops the container cleanly"
