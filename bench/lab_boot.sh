#!/usr/bin/env bash
# Lab figures, both kernels and both cache modes of the guest's root in
# one run (the machine is shared and noisy: compare within a run, not
# across runs): boot-to-command with an ext4 DAX filesystem ready, the
# guest's own stage timings, and the guest's exec cost
# (bench/lab_exec_mix.sh).  Regenerates bench/LAB.md.
# usage: bench/lab_boot.sh [RUNS]
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
repo=$REPO_DIR
runs=${1:-3}
work=
make_workdir work
declare -A med
rows=()
median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
# Runs alternate between the root's cache modes (ci/guest/init) so that
# load on the shared host falls on both alike.
for kernel in stock built; do
	declare -A times=() py=() nd=()
	for i in $(seq "$runs"); do
		for cache in loose none; do
			d=$work/$kernel-$cache-$i
			"$repo/ci/lab" run --kernel "$kernel" --fs ext4 --quiet --out "$d" \
				--append "lab.rootcache=$cache" --script "$repo/bench/lab_exec_mix.sh" 2>/dev/null
			t=$(sed -n 's/boot_to_command_s=//p' "$d/timing")
			read -r p n <"$d/output.log"
			times[$cache]+="$t "
			py[$cache]+="$p " nd[$cache]+="$n "
			# guest uptime at: stage 2 start, fsdax namespace ready, mounted
			st=$(sed -n 's/^\[\([0-9.]*\)\] \(stage 2 started\|fsdax namespace created\|mounted\)$/\1/p' \
				"$d/setup.log" | tr '\n' ' ')
			rows+=("| $kernel | $cache | $i | $t | $st | $p | $n |")
		done
	done
	for cache in loose none; do
		med[$kernel-$cache]=$(printf '%s\n' ${times[$cache]} | median)
		med[$kernel-$cache-py]=$(printf '%s\n' ${py[$cache]} | median)
		med[$kernel-$cache-nd]=$(printf '%s\n' ${nd[$cache]} | median)
	done
done
ratio() { python3 -c "print(round($1 / $2, 2))"; }
{
	echo "# Lab figures"
	echo
	echo "Regenerate: \`bench/lab_boot.sh $runs\` (both kernels in one run, $(date -u +%Y-%m-%d), $(nproc) cores;"
	echo "QEMU TCG, 2 vCPUs, 3 GiB, ext4 DAX on memmap pmem)."
	echo
	echo "The host's root is mounted over 9p in the guest; \`cache\` is its cache mode"
	echo "(\`loose\` since the lab caches it, \`none\` before; \`lab.rootcache=\` on the"
	echo "kernel command line).  *exec mix*: 5 python3 starts and 3 \`ndctl list\`, timed"
	echo "in the guest."
	echo
	echo "| kernel | cache | run | boot-to-command (s, host) | guest uptime at stage 2 / fsdax ready / mounted (s) | 5 python3 (s) | 3 ndctl (s) |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	for kernel in stock built; do
		echo "- $kernel, medians, loose vs. none: boot-to-command ${med[$kernel-loose]} vs." \
			"${med[$kernel-none]} s ($(ratio "${med[$kernel-loose]}" "${med[$kernel-none]}")x);" \
			"5 python3 ${med[$kernel-loose-py]} vs. ${med[$kernel-none-py]} s" \
			"($(ratio "${med[$kernel-loose-py]}" "${med[$kernel-none-py]}")x);" \
			"3 ndctl ${med[$kernel-loose-nd]} vs. ${med[$kernel-none-nd]} s" \
			"($(ratio "${med[$kernel-loose-nd]}" "${med[$kernel-none-nd]}")x)."
	done
	echo "- Median boot-to-command with the lab's mount (loose): stock ${med[stock-loose]} s," \
	     "built ${med[built-loose]} s (ratio built/stock $(ratio "${med[built-loose]}" "${med[stock-loose]}"))."
	echo
	echo "Kernel build figures are in \`bench/KERNEL_BUILD.md\`."
} >"$repo/bench/LAB.md"
cat "$repo/bench/LAB.md"
