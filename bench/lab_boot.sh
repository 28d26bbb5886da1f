#!/usr/bin/env bash
# Lab figures, both kernels in one run (the machine is shared and noisy:
# compare within a run, not across runs): boot-to-command with an ext4 DAX
# filesystem ready, and the guest's own stage timings.  Regenerates
# bench/LAB.md.  usage: bench/lab_boot.sh [RUNS]
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
repo=$REPO_DIR
runs=${1:-3}
work=
make_workdir work
declare -A med
rows=()
for kernel in stock built; do
	times=()
	for i in $(seq "$runs"); do
		"$repo/ci/lab" run --kernel "$kernel" --fs ext4 --quiet --out "$work/$kernel-$i" -- true 2>/dev/null
		t=$(sed -n 's/boot_to_command_s=//p' "$work/$kernel-$i/timing")
		times+=("$t")
		# guest uptime at: stage 2 start, fsdax namespace ready, mounted
		st=$(sed -n 's/^\[\([0-9.]*\)\] \(stage 2 started\|fsdax namespace created\|mounted\)$/\1/p' \
			"$work/$kernel-$i/setup.log" | tr '\n' ' ')
		rows+=("| $kernel | $i | $t | $st |")
	done
	med[$kernel]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
done
{
	echo "# Lab figures"
	echo
	echo "Regenerate: \`bench/lab_boot.sh $runs\` (both kernels in one run, $(date -u +%Y-%m-%d), $(nproc) cores;"
	echo "QEMU TCG, 2 vCPUs, 3 GiB, ext4 DAX on memmap pmem)."
	echo
	echo "| kernel | run | boot-to-command (s, host) | guest uptime at stage 2 / fsdax ready / mounted (s) |"
	echo "|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Median boot-to-command: stock ${med[stock]} s, built ${med[built]} s" \
	     "(ratio built/stock $(python3 -c "print(round(${med[built]}/${med[stock]}, 2))"))."
	echo
	echo "Kernel build figures are in \`bench/KERNEL_BUILD.md\`."
} >"$repo/bench/LAB.md"
cat "$repo/bench/LAB.md"
