#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reads every #include "…" line of agent/ and cli/ and fails, naming file and line:
# - when one points against the room order in agent/LAYERS (see there): up the list, or
#   between two sibling rooms (capture/signal and capture/inspector);
# - when the includes form a circle. The graph is per module (a .c and the .h of the
#   same name are one module): a.c including b.h while b.c includes a.h is a circle,
#   even inside one folder;
# - when a source file sits outside a room, or a quoted include resolves to nothing.
#   include_order.sh [ROOT]      check the tree at ROOT (default: this checkout)
#   include_order.sh --self-test check that a bad tree is caught and a good one passes
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)

declare -A ranks edges witness color
declare -a stack

read_layers() { # $1 root: fills ranks (room -> rank); sibling rooms share their rank
	local name rest rank=0 parent prev_parent=""
	ranks=()
	while read -r name rest; do
		[[ -z $name || $name == \#* ]] && continue
		if [[ $name == */* ]]; then
			parent=${name%%/*}
			[[ $parent == "$prev_parent" ]] || rank=$((rank + 1))
			prev_parent=$parent
		else
			rank=$((rank + 1)); prev_parent=""
		fi
		ranks[$name]=$rank
	done < "$1/agent/LAYERS"
	ranks[cli]=$((rank + 1))
}

room_of() { # $1 path relative to root: sets room; "?FOLDER" when LAYERS lacks it; "" outside agent/*/ and cli/
	local d
	room=""
	case $1 in
	cli/*) room=cli;;
	agent/*/*) d=${1#agent/}; d=${d%/*}
		if [[ -n ${ranks[$d]:-} ]]; then room=$d; else room="?$d"; fi;;
	esac
}


# Depth-first search from module $1; a grey module met again closes a circle.
visit() {
	local u=$1 v i from cyc
	color[$u]=grey; stack+=("$u")
	for v in ${edges[$u]:-}; do
		if [[ ${color[$v]:-} == grey ]]; then
			cyc=""; from=""
			for ((i = ${#stack[@]} - 1; i >= 0; i--)); do
				[[ ${stack[i]} == "$v" ]] && { from=$i; break; }
			done
			for ((i = from; i < ${#stack[@]}; i++)); do
				local a=${stack[i]} b
				if ((i + 1 < ${#stack[@]})); then b=${stack[i+1]}; else b=$v; fi
				cyc+="${cyc:+, }${witness["$a::$b"]}"
			done
			echo "include circle: $cyc"
			circles=1
		elif [[ -z ${color[$v]:-} ]]; then
			visit "$v"
		fi
	done
	unset 'stack[${#stack[@]}-1]'
	color[$u]=black
}

check() { # $1 root; prints violations, returns 1 if any
	local root=$1 bad=0 f rel room myroom line inc target troom m tm
	read_layers "$root"
	edges=(); witness=(); color=(); stack=()
	while IFS= read -r f; do
		rel=${f#"$root"/}
		room_of "$rel"; myroom=$room
		if [[ -z $myroom ]]; then echo "$rel: source file outside a layer folder (agent/LAYERS)"; bad=1; continue; fi
		if [[ $myroom == \?* ]]; then echo "$rel: folder '${myroom#\?}' is not in agent/LAYERS"; bad=1; continue; fi
		m=${rel%.[ch]} # agent/store/store.c and .h: one module
		while IFS=: read -r line inc; do
			inc=${inc#*\"}; inc=${inc%%\"*}
			if [[ -f $(dirname "$f")/$inc ]]; then target=$(cd "$(dirname "$f")" && realpath -m "$inc"); target=${target#"$root"/}
			elif [[ -f $root/agent/$inc ]]; then target=agent/$inc
			elif [[ -f $root/cli/$inc ]]; then target=cli/$inc
			elif [[ -f $root/bpf/$inc || $inc == *.skel.h ]]; then continue
			else echo "$rel:$line: #include \"$inc\" resolves to no file in agent/, cli/ or bpf/"; bad=1; continue
			fi
			[[ $target == bpf/* ]] && continue
			room_of "$target"; troom=$room
			if [[ -z $troom ]]; then echo "$rel:$line: #include \"$inc\" is outside the layer folders"; bad=1; continue; fi
			if [[ $troom == \?* ]]; then echo "$rel:$line: #include \"$inc\": folder '${troom#\?}' is not in agent/LAYERS"; bad=1; continue; fi
			if [[ $troom != "$myroom" ]]; then
				if (( ranks[$troom] > ranks[$myroom] )); then
					echo "$rel:$line: #include \"$inc\" points up: $myroom may not include $troom (agent/LAYERS)"; bad=1
				elif (( ranks[$troom] == ranks[$myroom] )); then
					echo "$rel:$line: #include \"$inc\": sibling rooms $myroom and $troom may not include each other (agent/LAYERS)"; bad=1
				fi
			fi
			tm=${target%.[ch]}
			[[ $tm == "$m" ]] && continue
			if [[ -z ${witness["$m::$tm"]:-} ]]; then
				edges[$m]+=" $tm"; witness["$m::$tm"]="$rel:$line -> $inc"
			fi
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
	done < <(find "$root/agent" "$root/cli" -type f \( -name '*.c' -o -name '*.h' \) | sort)
	circles=0
	for m in $(printf '%s\n' "${!edges[@]}" | sort); do
		[[ -z ${color[$m]:-} ]] && visit "$m"
	done
	(( circles )) && bad=1
	return $bad
}
self_test() {
	local t out; t=$(mktemp -d); trap 'rm -rf "$t"' RETURN
	mkdir -p "$t/agent/base" "$t/agent/store" "$t/agent/capture/signal" "$t/agent/capture/inspector" "$t/cli" "$t/bpf"
	printf 'base x\nstore y\ncapture z\ncapture/signal s\ncapture/inspector i\n' > "$t/agent/LAYERS"
	printf '#include "base/log.h"\n#include "k.h"\n' > "$t/agent/store/store.c"
	: > "$t/agent/base/log.h"; : > "$t/bpf/k.h"; : > "$t/agent/store/store.h"
	printf '#include "store/store.h"\n' > "$t/cli/main.c"
	printf '#include "capture/route.h"\n' > "$t/agent/capture/signal/sig.c"
	printf '#include "capture/route.h"\n#include "ws.h"\n' > "$t/agent/capture/inspector/insp.c"
	: > "$t/agent/capture/inspector/ws.h"; : > "$t/agent/capture/signal/sig.h"
	printf '#include "store/store.h"\n' > "$t/agent/capture/route.h"
	check "$t" >/dev/null || { echo "self-test: a good tree was refused"; check "$t"; return 1; }
	printf '#include "store/store.h"\n' > "$t/agent/base/log.c"
	out=$(check "$t")
	[[ $out == *"agent/base/log.c:1: #include \"store/store.h\" points up"* ]] || { echo "self-test: an upward include was not caught: $out"; return 1; }
	printf '#include "nowhere.h"\n' > "$t/agent/base/log.c"
	out=$(check "$t")
	[[ $out == *"agent/base/log.c:1: #include \"nowhere.h\" resolves to no file"* ]] || { echo "self-test: a dangling include was not caught: $out"; return 1; }
	: > "$t/agent/loose.c"; rm "$t/agent/base/log.c"
	out=$(check "$t")
	[[ $out == *"agent/loose.c: source file outside a layer folder"* ]] || { echo "self-test: a loose file was not caught: $out"; return 1; }
	rm "$t/agent/loose.c"
	# a circle inside one folder: a.c includes b.h, b.c includes a.h
	printf '#include "store/b.h"\n' > "$t/agent/store/a.c"; : > "$t/agent/store/a.h"
	printf '#include "store/a.h"\n' > "$t/agent/store/b.c"; : > "$t/agent/store/b.h"
	out=$(check "$t")
	[[ $out == *"include circle: agent/store/a.c:1 -> store/b.h, agent/store/b.c:1 -> store/a.h"* ]] ||
		{ echo "self-test: a circle inside a folder was not caught: $out"; return 1; }
	rm "$t/agent/store/a.c" "$t/agent/store/b.c"
	# and in the CLI: its files include each other's headers by their own names
	printf '#include "cli_remote.h"\n' > "$t/cli/cli_store.c"; : > "$t/cli/cli_store.h"
	printf '#include "cli_store.h"\n' > "$t/cli/cli_remote.c"; : > "$t/cli/cli_remote.h"
	out=$(check "$t")
	[[ $out == *"include circle: cli/cli_remote.c:1 -> cli_store.h, cli/cli_store.c:1 -> cli_remote.h"* ]] ||
		{ echo "self-test: a circle in cli/ was not caught: $out"; return 1; }
	rm "$t/cli/cli_store.c" "$t/cli/cli_remote.c"
	# sibling rooms: the signal route includes the inspector's header
	printf '#include "capture/inspector/ws.h"\n' >> "$t/agent/capture/signal/sig.c"
	out=$(check "$t")
	[[ $out == *"agent/capture/signal/sig.c:2: #include \"capture/inspector/ws.h\": sibling rooms capture/signal and capture/inspector may not include each other"* ]] ||
		{ echo "self-test: signal including inspector was not caught: $out"; return 1; }
	printf '#include "capture/route.h"\n' > "$t/agent/capture/signal/sig.c"
	printf '#include "capture/signal/sig.h"\n' >> "$t/agent/capture/inspector/insp.c"
	out=$(check "$t")
	[[ $out == *"sibling rooms capture/inspector and capture/signal may not include each other"* ]] ||
		{ echo "self-test: inspector including signal was not caught: $out"; return 1; }
	printf '#include "capture/route.h"\n' > "$t/agent/capture/inspector/insp.c"
	# the folder's own files rank below its rooms
	printf '#include "store/store.h"\n#include "capture/signal/sig.h"\n' > "$t/agent/capture/route.h"
	out=$(check "$t")
	[[ $out == *"agent/capture/route.h:2: #include \"capture/signal/sig.h\" points up: capture may not include capture/signal"* ]] ||
		{ echo "self-test: the folder including its room was not caught: $out"; return 1; }
	printf '#include "store/store.h"\n' > "$t/agent/capture/route.h"
	mkdir -p "$t/agent/capture/other"; : > "$t/agent/capture/other/x.c"
	out=$(check "$t")
	[[ $out == *"agent/capture/other/x.c: folder 'capture/other' is not in agent/LAYERS"* ]] ||
		{ echo "self-test: a room missing from LAYERS was not caught: $out"; return 1; }
	rm -r "$t/agent/capture/other"
	check "$t" >/dev/null || { echo "self-test: the repaired tree was refused"; check "$t"; return 1; }
	echo "self-test: ok"
}

if [[ ${1:-} == --self-test ]]; then self_test; exit; fi
check "${1:-$here}" && echo "include order: ok"
