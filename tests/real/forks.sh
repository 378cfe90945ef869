#!/bin/bash
# SPDX-License-Identifier: MIT
# forks.sh: a bash workload for the real-software suite. Bash forks without
# exec for every $(...), pipeline element and ( ... ) &, so the children are
# copies of a shell whose heap holds a large indexed array and a large
# associative array; they read from it and print. Deterministic output.
#
#   forks.sh N_ROWS N_FORKS TREE
#
# N_ROWS array rows (about 120 bytes of heap each, times two arrays),
# N_FORKS command substitutions that each read a few rows in the child,
# TREE a directory to list in the find | sort | uniq -c pipelines.
set -euo pipefail
export LC_ALL=C
rows=${1:-200000}
forks=${2:-600}
tree=${3:-/usr/share}

# 1. The shell's own heap: an indexed and an associative array.
declare -a arr
declare -A assoc
for ((i = 0; i < rows; i++)); do
	k=$(( (i * 7919) % 1000003 ))
	arr[i]="row-$i-$k-$(( i % 97 ))-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	assoc["key$k"]="$i:$(( (i * i) % 65521 )):payload-payload-payload-payload-payload-$i"
done
echo "built ${#arr[@]} rows, ${#assoc[@]} keys"

# 2. Command substitutions: each forks a copy of this shell that reads rows
# the parent wrote long ago (cold by now) and echoes them.
sum=0
for ((j = 0; j < forks; j++)); do
	i=$(( (j * 104729) % rows ))
	k=$(( (i * 7919) % 1000003 ))
	line=$(echo "${arr[i]}|${assoc[key$k]}")
	sum=$(( (sum * 31 + ${#line}) % 1000000007 ))
	if (( j % 100 == 0 )); then
		echo "fork $j: $line"
	fi
done
echo "substitutions: $forks, checksum $sum"

# 3. Pipelines: a loop in a forked subshell feeding sort | uniq -c.
for ((i = 0; i < 2000; i++)); do echo $(( (i * i) % 37 )); done | sort -n | uniq -c
for ((i = 0; i < rows; i++)); do echo "${arr[i]}"; done | cut -d- -f4 | sort -n | uniq -c |
	sort -k1,1nr -k2,2n | head -20
for ((i = 0; i < rows; i++)); do
	echo "${assoc[key$(( (i * 7919) % 1000003 ))]}"
done | cut -d: -f2 | sort -n | md5sum

# 4. Background subshells, each summing a slice of the array, then wait.
tmp=$(mktemp -d)
for part in 0 1 2 3; do
	(
		s=0
		for ((i = part; i < rows; i += 4)); do
			v=${arr[i]#row-*-}
			s=$(( (s + ${v%%-*}) % 1000000007 ))
		done
		echo "part $part: $s" > "$tmp/part$part"
	) &
done
wait
cat "$tmp"/part*
rm -rf "$tmp"

# 5. Process substitution and find | sort | uniq -c over a real tree.
while read -r n ext; do
	echo "ext $ext $n"
done < <(find "$tree" -type f -name '*.*' | sed 's/.*\.//' | sort | uniq -c | sort -k1,1nr -k2 | head -15)
find "$tree" -type f | awk -F/ '{print NF}' | sort -n | uniq -c
echo done
