#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file names its licence in an SPDX header, on its first line (after the
# #! line of a script): the programs are Apache-2.0; bpf/ (the eBPF programs and the
# types they share with user space, loaded as "Dual BSD/GPL") is GPL-2.0-only OR
# BSD-2-Clause. Files: *.c *.h *.js *.mjs *.py *.sh and Makefile, outside build/,
# var/, node_modules/ and the fuzz corpora.
#   spdx.sh [ROOT]          check (default: this checkout); names each file that is wrong
#   spdx.sh --fix [ROOT]    insert the missing headers, correct the wrong ones
#   spdx.sh --self-test     check that a missing or wrong header is caught and --fix mends it
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
APACHE="Apache-2.0"
DUAL="GPL-2.0-only OR BSD-2-Clause"

sources() { # $1 root: the files that need a header, relative, one per line
	(cd "$1" && find . \( -path ./build -o -path ./var -o -path ./.git -o -name node_modules \
		-o -path ./tests/fuzz/corpus -o -path ./tests/fixtures \) -prune -o -type f \
		\( -name '*.c' -o -name '*.h' -o -name '*.js' -o -name '*.mjs' -o -name '*.py' \
		-o -name '*.sh' -o -name Makefile \) -print | sed 's|^\./||' | sort)
}

expected() { # $1 relative path: the header line it must carry
	local id=$APACHE
	[[ $1 == bpf/* ]] && id=$DUAL
	case $1 in
	*.c | *.h | *.js | *.mjs) echo "// SPDX-License-Identifier: $id";;
	*) echo "# SPDX-License-Identifier: $id";;
	esac
}

# The line number the header belongs on: 2 after a #! line, else 1.
header_line() { if head -c2 "$1" | grep -q '^#!'; then echo 2; else echo 1; fi; }

check() { # $1 root; prints each wrong file, returns 1 if any
	local root=$1 bad=0 rel want n have
	while IFS= read -r rel; do
		want=$(expected "$rel")
		n=$(header_line "$root/$rel")
		have=$(sed -n "${n}p" "$root/$rel")
		if [[ $have != *SPDX-License-Identifier:* ]]; then
			echo "$rel: no SPDX header on line $n (want '$want')"; bad=1
		elif [[ $have != "$want" ]]; then
			echo "$rel: line $n is '$have', want '$want'"; bad=1
		fi
	done < <(sources "$root")
	return $bad
}

fix() { # $1 root
	local root=$1 rel want n have changed=0
	while IFS= read -r rel; do
		want=$(expected "$rel")
		n=$(header_line "$root/$rel")
		have=$(sed -n "${n}p" "$root/$rel")
		[[ $have == "$want" ]] && continue
		if [[ $have == *SPDX-License-Identifier:* ]]; then
			WANT=$want awk -v n="$n" 'NR == n { print ENVIRON["WANT"]; next } { print }' "$root/$rel" > "$root/$rel.spdx"
		elif [ "$n" = 1 ]; then
			{ echo "$want"; cat "$root/$rel"; } > "$root/$rel.spdx"
		else
			WANT=$want awk 'NR == 1 { print; print ENVIRON["WANT"]; next } { print }' "$root/$rel" > "$root/$rel.spdx"
		fi
		chmod --reference="$root/$rel" "$root/$rel.spdx" && mv "$root/$rel.spdx" "$root/$rel"
		echo "fixed $rel"; changed=$((changed + 1))
	done < <(sources "$root")
	echo "spdx: $changed file(s) fixed"
}

self_test() {
	local t ok=0
	t=$(mktemp -d)
	trap 'rm -rf "$t"' RETURN
	mkdir -p "$t/agent/base" "$t/bpf" "$t/tests/e2e" "$t/build" "$t/tests/fuzz/corpus/x"
	printf '// SPDX-License-Identifier: Apache-2.0\nint a;\n' > "$t/agent/base/a.c"
	printf '#!/usr/bin/env bash\n# SPDX-License-Identifier: Apache-2.0\necho hi\n' > "$t/tests/e2e/10_x.sh"
	printf '// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause\nchar LICENSE[] = "Dual BSD/GPL";\n' > "$t/bpf/p.bpf.c"
	printf '# SPDX-License-Identifier: Apache-2.0\nall:\n' > "$t/Makefile"
	printf 'int generated;\n' > "$t/build/skip.c"          # build output: not checked
	printf 'raw\n' > "$t/tests/fuzz/corpus/x/seed.c"        # corpus: not checked
	check "$t" >/dev/null || { echo "self-test: a good tree was refused:"; check "$t"; ok=1; }

	printf 'int b;\n' > "$t/agent/base/b.h"                                          # missing
	printf '#!/bin/sh\necho no header\n' > "$t/tests/e2e/11_y.sh"                    # missing after #!
	printf '// SPDX-License-Identifier: GPL-2.0\nint p;\n' > "$t/bpf/q.bpf.c"        # wrong licence
	printf '// SPDX-License-Identifier: Apache-2.0\nstruct s;\n' > "$t/bpf/types.h"   # bpf/ is dual
	out=$(check "$t") && { echo "self-test: missing and wrong headers passed"; ok=1; }
	for f in agent/base/b.h tests/e2e/11_y.sh bpf/q.bpf.c bpf/types.h; do
		grep -q "^$f: " <<<"$out" || { echo "self-test: $f not named: $out"; ok=1; }
	done
	[ "$(grep -c . <<<"$out")" = 4 ] || { echo "self-test: expected 4 findings: $out"; ok=1; }

	fix "$t" >/dev/null
	check "$t" >/dev/null || { echo "self-test: --fix left:"; check "$t"; ok=1; }
	[ "$(head -1 "$t/tests/e2e/11_y.sh")" = '#!/bin/sh' ] || { echo "self-test: --fix moved the #! line"; ok=1; }
	[ "$(sed -n 2p "$t/bpf/q.bpf.c")" = 'int p;' ] || { echo "self-test: --fix did not replace the wrong header"; ok=1; }
	[ "$(fix "$t" | tail -1)" = "spdx: 0 file(s) fixed" ] || { echo "self-test: --fix is not idempotent"; ok=1; }
	[ "$(cat "$t/build/skip.c")" = "int generated;" ] || { echo "self-test: --fix touched build/"; ok=1; }
	[ $ok = 0 ] && echo "spdx self-test: ok"
	return $ok
}

case ${1:-} in
--self-test) self_test;;
--fix) fix "${2:-$here}";;
*) if check "${1:-$here}"; then echo "spdx: ok"; else exit 1; fi;;
esac
