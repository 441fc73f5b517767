#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reads every #include "…" line of agent/ and cli/ and fails, naming file and line, when
# one points against the layer order in agent/LAYERS (see there), when a source file
# sits outside a layer folder, or when a quoted include resolves to nothing.
#   include_order.sh [ROOT]      check the tree at ROOT (default: this checkout)
#   include_order.sh --self-test check that a bad tree is caught and a good one passes
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)

check() { # $1 root; prints violations, returns 1 if any
	local root=$1 bad=0 rank=0 name rest f rel layer line inc target tl
	declare -A ranks
	while read -r name rest; do
		[[ -z $name || $name == \#* ]] && continue
		ranks[$name]=$rank; rank=$((rank + 1))
	done < "$root/agent/LAYERS"
	ranks[cli]=$rank
	while IFS= read -r f; do
		rel=${f#"$root"/}
		case $rel in
		cli/*) layer=cli;;
		agent/*/*) layer=${rel#agent/}; layer=${layer%%/*};;
		*) echo "$rel: source file outside a layer folder (agent/LAYERS)"; bad=1; continue;;
		esac
		if [[ -z ${ranks[$layer]:-} ]]; then echo "$rel: folder '$layer' is not in agent/LAYERS"; bad=1; continue; fi
		while IFS=: read -r line inc; do
			inc=${inc#*\"}; inc=${inc%%\"*}
			if [[ -f $(dirname "$f")/$inc ]]; then target=$(cd "$(dirname "$f")" && realpath -m "$inc"); target=${target#"$root"/}
			elif [[ -f $root/agent/$inc ]]; then target=agent/$inc
			elif [[ -f $root/cli/$inc ]]; then target=cli/$inc
			elif [[ -f $root/bpf/$inc || $inc == *.skel.h ]]; then continue
			else echo "$rel:$line: #include \"$inc\" resolves to no file in agent/, cli/ or bpf/"; bad=1; continue
			fi
			case $target in
			cli/*) tl=cli;;
			agent/*/*) tl=${target#agent/}; tl=${tl%%/*};;
			bpf/*) continue;;
			*) echo "$rel:$line: #include \"$inc\" is outside the layer folders"; bad=1; continue;;
			esac
			if [[ -z ${ranks[$tl]:-} ]]; then echo "$rel:$line: #include \"$inc\": folder '$tl' is not in agent/LAYERS"; bad=1
			elif (( ranks[$tl] > ranks[$layer] )); then
				echo "$rel:$line: #include \"$inc\" points up: $layer may not include $tl (agent/LAYERS)"; bad=1
			fi
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
	done < <(find "$root/agent" "$root/cli" -type f \( -name '*.c' -o -name '*.h' \) | sort)
	return $bad
}

self_test() {
	local t; t=$(mktemp -d); trap 'rm -rf "$t"' RETURN
	mkdir -p "$t/agent/base" "$t/agent/store" "$t/cli" "$t/bpf"
	printf 'base x\nstore y\n' > "$t/agent/LAYERS"
	printf '#include "base/log.h"\n#include "k.h"\n' > "$t/agent/store/store.c"
	: > "$t/agent/base/log.h"; : > "$t/bpf/k.h"; : > "$t/agent/store/store.h"
	printf '#include "store/store.h"\n' > "$t/cli/main.c"
	check "$t" >/dev/null || { echo "self-test: a good tree was refused"; check "$t"; return 1; }
	printf '#include "store/store.h"\n' > "$t/agent/base/log.c"
	local out; out=$(check "$t")
	[[ $out == *"agent/base/log.c:1: #include \"store/store.h\" points up"* ]] || { echo "self-test: an upward include was not caught: $out"; return 1; }
	printf '#include "nowhere.h"\n' > "$t/agent/base/log.c"
	out=$(check "$t")
	[[ $out == *"agent/base/log.c:1: #include \"nowhere.h\" resolves to no file"* ]] || { echo "self-test: a dangling include was not caught: $out"; return 1; }
	: > "$t/agent/loose.c"; rm "$t/agent/base/log.c"
	out=$(check "$t")
	[[ $out == *"agent/loose.c: source file outside a layer folder"* ]] || { echo "self-test: a loose file was not caught: $out"; return 1; }
	echo "self-test: ok"
}

if [[ ${1:-} == --self-test ]]; then self_test; exit; fi
check "${1:-$here}" && echo "include order: ok"
