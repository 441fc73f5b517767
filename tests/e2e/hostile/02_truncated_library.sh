#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A process named `node` maps (executable) a file named libnode.so.108 — a copy of the
# real node binary, so the agent scans its symbols and version — and truncates and
# rewrites it in a loop while the agent reads it. A mapping of the file in the agent
# (libelf ELF_C_READ_MMAP, as before) faults with SIGBUS and kills it; reads with pread
# fail cleanly. Several such processes are started one after the other (each exec is
# a new scan); the agent must survive them all and keep working.
source "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] || { [ "${CI:-}" = true ] && fail "/usr/bin/python3 missing"; skip "no /usr/bin/python3"; }

mkdir -p "$H/bin"
cp "$(readlink -f /usr/bin/python3)" "$H/bin/node"
cp "$NODE" "$H/image"
cat > "$H/flip.py" <<'PY'
import mmap, os, sys, time
path, image = sys.argv[1], open(sys.argv[2], 'rb').read()
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, image, 0)
m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)   # an r-xp line in maps
print('mapped', flush=True)
# cut off the last 12 MiB (node's .symtab, .strtab and section headers) and put them
# back, over and over: a reader that mapped the whole file faults in the gap
cut = (len(image) - (12 << 20)) & ~4095
tail = image[cut:]
while True:
    os.ftruncate(fd, cut)
    time.sleep(0.01)
    os.pwrite(fd, tail, cut)
    time.sleep(0.01)
PY
chown -R "$HOSTILE_UID:$HOSTILE_GID" "$H"

write_config "$T/hs.ini"
start_agent "$T/hs.ini"
for i in 1 2 3 4 5; do
	spawn_nobody FLIP "$H/bin/node" "$H/flip.py" "$H/libnode.so.10$i" "$H/image"
	wait_for 30 grep -q "pid $FLIP: no GC probes\|pid $FLIP: .*GC" "$T/agent.err" || {
		kill -0 "$AGENT" 2>/dev/null || { wait "$AGENT"; fail "the agent died (status $?) while reading a truncated library"; }
		fail "no GC probe verdict for the flipping process $FLIP"
	}
	kill -0 "$AGENT" 2>/dev/null || { wait "$AGENT"; fail "the agent died (status $?) while reading a truncated library"; }
	kill -KILL "$FLIP"
done
assert_agent_unharmed
pass "a library truncated while the agent reads it does not crash the agent"
