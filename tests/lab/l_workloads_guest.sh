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
	dmesg -c >/dev/null 2>&1 || true
	"$bindir/$w" "$LAB_MNT" -s "${L_SECONDS:-40}" | tee "$out/$w.tap"
	echo "# $w exit ${PIPESTATUS[0]}"
	echo "${PIPESTATUS[0]}" >"$out/$w.rc"
	dmesg >"$out/$w.dmesg" 2>&1 || true
done
exit 0
