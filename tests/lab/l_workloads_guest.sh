#!/bin/bash
# Runs inside the lab (ci/lab run --script): the layout-break (L class)
# race workloads from BINDIR on the DAX filesystem at $LAB_MNT.  Each
# workload's KTAP goes to stdout and to $LAB_OUT/<workload>.tap, and the
# guest kernel log lines each one caused to $LAB_OUT/<workload>.dmesg.
# Exits 0 when every workload ran (pass or fail is judged by the caller,
# tests/lab/patches_before_after.sh).
set -uo pipefail
bindir=${1:?usage: l_workloads_guest.sh BINDIR [WORKLOAD...]}
shift
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] ||
	workloads=(punch_pinned unmapped_pin_truncate swap_boot_pinned swapext_pinned locked_entry_pin)
out=${LAB_OUT:-/tmp}
for w in "${workloads[@]}"; do
	echo "# ---- $w on $LAB_FS ($(uname -r))"
	# Do not clear the ring buffer: the lab reads it to flag WARN/BUG.
	n0=$(dmesg 2>/dev/null | wc -l)
	"$bindir/$w" "$LAB_MNT" -s "${L_SECONDS:-40}" | tee "$out/$w.tap"
	rc=${PIPESTATUS[0]}
	echo "# $w exit $rc"
	echo "$rc" >"$out/$w.rc"
	dmesg 2>/dev/null | tail -n +$((n0 + 1)) >"$out/$w.dmesg" || true
done
exit 0
