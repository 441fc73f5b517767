#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The [upload] credentials file decides where snapshots (heap contents: secrets) go.
# One owned by another user — who could rewrite it to send them to their own bucket —
# or readable by group or others is refused, by the agent at start (exit status 1,
# nothing watched) and by the CLI, with a message that says which rule it broke.
source "$(dirname "$0")/lib.sh"

creds=$H/credentials
printf '[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n' > "$creds"
chown "$HOSTILE_UID:$HOSTILE_GID" "$creds"
chmod 600 "$creds"
write_config "$T/hs.ini" upload.endpoint=http://127.0.0.1:19142 upload.bucket=snaps upload.credentials_file=$creds
out=$(timeout 20 "$HEAPSNAPD" -c "$T/hs.ini" 2>&1); rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "the agent ran (status $rc) with a credentials file owned by uid $HOSTILE_UID: $out"
grep -q "credentials_file $creds: owned by uid $HOSTILE_UID, not by root" <<<"$out" || fail "the agent said: $out"
out=$(timeout 20 "$HEAPSNAP" -c "$T/hs.ini" list --remote 2>&1) && fail "list --remote used it: $out"
grep -q "owned by uid $HOSTILE_UID" <<<"$out" || fail "the CLI said: $out"

chown 0:0 "$creds"
chmod 620 "$creds"
out=$(timeout 20 "$HEAPSNAPD" -c "$T/hs.ini" 2>&1) && fail "the agent ran with a group-writable credentials file"
grep -q "permissions 0620 let its group write it" <<<"$out" || fail "the agent said: $out"
chmod 604 "$creds"
out=$(timeout 20 "$HEAPSNAP" -c "$T/hs.ini" list --remote 2>&1) && fail "list --remote used a world-readable file"
grep -q "permissions 0604 let others read it" <<<"$out" || fail "the CLI said: $out"

# root's own 0600 file is accepted (the agent starts; nothing listens at the endpoint,
# which only matters once a snapshot is uploaded)
chmod 600 "$creds"
start_agent "$T/hs.ini"
assert_agent_unharmed
pass "a credentials file owned by another user or open to others is refused, saying why"
