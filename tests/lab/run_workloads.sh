#!/bin/bash
# Runs inside the lab: every race workload in BINDIR (default: the CMake
# build's tests/workloads) on the DAX filesystem at $LAB_MNT, each bounded
# by SECONDS.  Exits non-zero if any workload fails a check.
set -uo pipefail
bindir=${1:?usage: run_workloads.sh BINDIR [SECONDS] [WORKLOAD...]}
secs=${2:-5}
shift 2 2>/dev/null || shift $#
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(zero_fault_race wb_mkwrite_race fault_truncate_race)
failed=0
for w in "${workloads[@]}"; do
	echo "# ---- $w on $LAB_FS ($(uname -r)), ${secs}s"
	if ! "$bindir/$w" "$LAB_MNT" -s "$secs"; then
		echo "# $w FAILED"
		failed=$((failed + 1))
	fi
done
echo "# $failed of ${#workloads[@]} workloads failed"
exit $((failed > 0))
