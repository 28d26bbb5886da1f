#!/bin/bash
# Every rule against the real race: boot the race lab kernel (linux-source
# 6.1 + patches/6.1 + tests/reopen/6.1, built by
#   ci/build-kernel.sh --extra-series tests/reopen/6.1), and for each
# filesystem, race class and switch mode run the class's reproducer under
# live daxtrace (one recording per class and mode), then judge on the host
# with tests/lab/reopen_judge.py: every round the reproducer saw damaged
# must have the class's finding, no finding with the race closed, and the
# replay of each recording must give the live findings.
#
# Classes, their switch (/sys/module/dax_reopen/parameters/*), reproducer
# and the finding that must match a damaged round:
#   Z   z   zero_store_wiped   Z1 (the late zeroing wiped a mapped page)
#   W   w   mkwrite_wb_lost    W1 (writeback inside a first-write fault)
#   T   t   punch_fault_stale  T1 (a fault mapped a page being punched)
#   L3  l3  busy_scan_locked   L3 (the busy scan skipped a pinned page)
# Modes: 1 = race re-opened and widened, 2 = the same delay with the
# serialisation intact (the correctly serialised twin), 0 = the plain
# patched kernel.
#
# usage: reopen_matrix.sh KERNEL BUILD_DIR [--out DIR] [--fs ext4,xfs]
#            [--classes Z,W,T,L3] [--modes 1,2] [--rounds N] [--table FILE]
#   KERNEL   path to the race lab bzImage, or "build" to get it from
#            ci/build-kernel.sh --extra-series tests/reopen/6.1 (cached);
#            with --modes 0 any ci/lab kernel (built, stock, a path)
#   BUILD_DIR holds analyzer/app/daxtrace and tests/workloads/*
# Exit 0 when every check passed.  Inside the guest (ci/lab --script) it
# runs as: reopen_matrix.sh --guest DAXTRACE BINDIR ROUNDS CLASSES MODES
set -uo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"

if [ "${1:-}" = --guest ]; then
	daxtrace=$2 bindir=$3 rounds=$4 classes=$5 modes=$6
	out=$LAB_OUT
	params=/sys/module/dax_reopen/parameters
	# Mode 0 alone also runs on a kernel without the fixture (the plain
	# patched or stock kernel): the reproducers' and rules' quiet side.
	setsw() { [ -d $params ] && echo "$2" >$params/$1; }
	[ -d $params ] || [ "$modes" = 0 ] ||
		{ echo "Bail out! $params missing: not the race lab kernel ($(uname -r))"; exit 1; }
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	declare -A switch=([Z]=z [W]=w [T]=t [L3]=l3)
	declare -A workload=([Z]=zero_store_wiped [W]=mkwrite_wb_lost [T]=punch_fault_stale
			     [L3]=busy_scan_locked)
	for c in ${classes//,/ }; do
		for m in ${modes//,/ }; do
			name=$c-m$m
			for s in z w t l3; do setsw $s 0; done
			setsw "${switch[$c]}" "$m"
			daxtrace_live_start "$daxtrace" "$out/$name.dxt" "$out/$name.jsonl" "$out/$name.err" ||
				exit 1
			"$bindir/${workload[$c]}" "$LAB_MNT" -n "$rounds" >"$out/$name.tap" 2>&1
			echo "# $name: ${workload[$c]} -n $rounds exited $? ($(grep -E '^# [a-z_]+: rounds' "$out/$name.tap"))"
			daxtrace_live_stop "$daxtrace" "$out/$name.err" "$out/$name.dxt" \
				"$out/$name.replay.jsonl" "$out/$name.replay.err" || exit 1
			setsw "${switch[$c]}" 0
		done
	done
	exit 0
fi

kernel=${1:?usage: reopen_matrix.sh KERNEL BUILD_DIR [options]}
build=$(realpath "${2:?usage: reopen_matrix.sh KERNEL BUILD_DIR [options]}")
shift 2
out=$build/lab/reopen_matrix fss=ext4,xfs classes=Z,W,T,L3 modes=1,2 rounds=20 table=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--fs) fss=$2; shift 2 ;;
	--classes) classes=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--table) table=$2; shift 2 ;;
	*) die "unknown option $1" ;;
	esac
done
if [ "$kernel" = build ]; then
	kernel=$(flock /var/cache/daxtrace/.one-kernel-build nice -n 10 \
		"$REPO_DIR/ci/build-kernel.sh" --extra-series "$REPO_DIR/tests/reopen/6.1" | tail -n 1) ||
		die "race lab kernel build failed"
fi
mkdir -p "$out"
for fs in ${fss//,/ }; do
	rm -rf "${out:?}/$fs"
	mkdir -p "$out/$fs"
	"$REPO_DIR/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout 1800 --out "$out/$fs" \
		--script "$0" -- --guest "$build/analyzer/app/daxtrace" "$build/tests/workloads" \
		"$rounds" "$classes" "$modes"
	rc=$?
	[ $rc = 0 ] || die "lab run on $fs failed ($rc)"
done
exec python3 "$REPO_DIR/tests/lab/reopen_judge.py" "$out" --fs "$fss" --classes "$classes" \
	--modes "$modes" ${table:+--table "$table"}
