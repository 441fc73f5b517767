#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The leak report parses the snapshot a watched process wrote: its memory grows with
# the snapshot. Above [report] max_mb the incident is stored without a report and its
# metadata says why; a gzip a few MB small that decompresses to 256 MiB is stopped
# after max_mb of it (heapsnap diff --report, the same report code, same limit).
source "$(dirname "$0")/lib.sh"

write_config "$T/hs.ini"
printf '[report]\nmax_mb = 1\n' >> "$T/hs.ini"
start_agent "$T/hs.ini"
mkdir -p "$T/app" && cd "$T/app"
start_node LEAKER --heapsnapshot-signal=SIGUSR2 "$APPS/leak.js"
cd "$T"
wait_for 90 event_for "$LEAKER" capture_done || fail "no capture of the leaking node"
wait_for 10 grep -q "no leak report for .*report.max_mb 1" "$T/agent.err" || fail "no log line about the skipped report"
"$HEAPSNAP" --store "$T/store" list --json > "$T/list.json" || fail "list --json"
nodetool -e '
  const l = JSON.parse(require("fs").readFileSync(process.argv[1])).filter(s => s.pid == process.argv[2]);
  const s = l[l.length - 1];
  if (!s || !s.report || s.report !== "skipped" || !/^snapshot \d+ MiB > report.max_mb 1$/.test(s.report_error) || s.top_growth) {
    console.error(JSON.stringify(s)); process.exit(1); }' "$T/list.json" "$LEAKER" || fail "metadata does not say the report was skipped"
stored_snapshot_ok "$LEAKER" || fail "the snapshot itself is not stored whole"
kill -KILL "$LEAKER"; wait "$LEAKER" 2>/dev/null

# A decompression bomb: '{', 256 MiB of blanks (valid JSON whitespace), '}'.
{ printf "{"; head -c $((256 << 20)) /dev/zero | tr '\0' ' '; printf '}'; } | gzip -1 > "$T/bomb.heapsnapshot.gz"
[ "$(stat -c %s "$T/bomb.heapsnapshot.gz")" -lt $((4 << 20)) ] || fail "the bomb is not small"
write_config "$T/cli.ini"
printf '[report]\nmax_mb = 64\n' >> "$T/cli.ini"
start=$(date +%s%N)
out=$("$HEAPSNAP" -c "$T/cli.ini" diff "$T/bomb.heapsnapshot.gz" "$T/bomb.heapsnapshot.gz" --report 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 1 ] || fail "diff --report of the bomb exited $rc: $out"
grep -q "snapshot larger than 64 MiB decompressed (report.max_mb)" <<<"$out" || fail "diff --report said: $out"
echo "bomb refused after ${ms} ms"

assert_agent_unharmed
pass "a snapshot over report.max_mb gets no report; a decompression bomb is stopped at the limit"
