#!/usr/bin/env bash
# Before/after proof for the fixes in patches/6.1/: run the race workloads
# (tests/workloads) in the emulated-pmem lab on Debian's stock 6.1 kernel
# and on our build of it with patches/6.1/ applied, on ext4 and xfs, one
# boot per kernel and filesystem, and assert
#
#   - stock:   every fixed race shows (the workload's own check fails: the
#              operation returned while the page was pinned, data went to
#              the wrong file, or fsync() left a dirty page unflushed), and
#              the guest log has the dax_disassociate_entry WARN;
#   - patched: every workload passes all its checks, and the guest log has
#              no WARN/BUG/oops at all;
#   - control: punch_pinned (already serialised paths) passes on both.
#
# Workloads: punch_pinned, unmapped_pin_truncate, swap_boot_pinned,
# swapext_pinned, locked_entry_pin (-s seconds), evict_pinned (pin,
# munmap, close, unlink: eviction) and fsync_locked_skip (-n rounds: fsync
# racing read faults; counts fs_dax:dax_writeback_one per fsync).
# locked_entry_pin and fsync_locked_skip depend on timing: on the stock
# kernel "not shown this time" is a SKIP, not a failure.
#
# With --ext2 it also builds the kernel without the series (CONFIG_EXT2_FS=y,
# which Debian's stock kernel does not use for ext2) and checks the ext2
# truncate fix the same way.
#
# usage: tests/lab/patches_before_after.sh [--fs "ext4 xfs"] [--ext2]
#            [--workloads "w1 w2 ..."] [--rounds N] [--bindir DIR]
#            [--seconds N] [--out DIR] [--kernel PATH]
#            [--reuse] [--only stock|patched]
#   --kernel: the patched bzImage (default: "built", ci/build-kernel.sh's)
#   --reuse:  keep the results of a boot already in --out (every workload
#             has its .rc) instead of booting again
#   --only:   boot only that kernel (with --reuse, judge the rest from --out)
# Output: KTAP.  Exit status 0 when every assertion holds.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$REPO/ci/lab
fs_list="ext4 xfs"
ext2=0
bindir=
seconds=40
rounds=30
reuse=0
only=
patched=built
workloads=(punch_pinned unmapped_pin_truncate swap_boot_pinned swapext_pinned
	   locked_entry_pin evict_pinned fsync_locked_skip)
out=${TMPDIR:-/tmp}/daxtrace-before-after.$$

while [ $# -gt 0 ]; do
	case $1 in
	--fs) fs_list=${2:?}; shift 2 ;;
	--ext2) ext2=1; shift ;;
	--bindir) bindir=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--workloads) read -ra workloads <<<"${2:?}"; shift 2 ;;
	--kernel) patched=${2:?}; shift 2 ;;
	--reuse) reuse=1; shift ;;
	--only) only=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"

# The workloads run inside the guest by their host path: keep them out of
# /tmp (the guest's /tmp is a fresh tmpfs).
if [ -z "$bindir" ]; then
	bindir=$REPO/build-patches/workloads
	mkdir -p "$bindir"
	for w in "${workloads[@]}"; do
		cc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$bindir/$w" \
			"$REPO/tests/workloads/$w.c" -lpthread || exit 2
	done
fi

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; failed=$((failed + 1)); }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
check() { if [ "$1" = 0 ]; then shift; ok "$@"; else shift; not_ok "$@"; fi; }

# Which fixed race each workload shows on which filesystem.
expect_race() {		# workload fs -> 0 if the stock kernel must show the race
	case "$1:$2" in
	unmapped_pin_truncate:ext4|unmapped_pin_truncate:xfs) return 0 ;;
	swap_boot_pinned:ext4) return 0 ;;
	swapext_pinned:xfs) return 0 ;;
	evict_pinned:ext4|evict_pinned:xfs) return 0 ;;
	punch_pinned:ext2) return 0 ;;
	*) return 1 ;;
	esac
}
# Races that depend on timing: not shown within the time is not a failure.
probabilistic() { [ "$1" = locked_entry_pin ] || [ "$1" = fsync_locked_skip ]; }

# The guest side: each workload with its own options; KTAP to
# $LAB_OUT/<w>.tap, exit status to <w>.rc, the kernel log lines it caused
# to <w>.dmesg.
guest='bindir=$1 L_SECONDS=$2 ROUNDS=$3; shift 3
for w in "$@"; do
	case $w in
	fsync_locked_skip) args=(-n "$ROUNDS") ;;
	evict_pinned) args=() ;;
	*) args=(-s "$L_SECONDS") ;;
	esac
	echo "# ---- $w on $LAB_FS ($(uname -r))"
	n0=$(dmesg 2>/dev/null | wc -l)
	"$bindir/$w" "$LAB_MNT" "${args[@]}" | tee "$LAB_OUT/$w.tap"
	echo "${PIPESTATUS[0]}" >"$LAB_OUT/$w.rc"
	dmesg 2>/dev/null | tail -n +$((n0 + 1)) >"$LAB_OUT/$w.dmesg" || true
done'

# run KERNEL FS NAME [WORKLOAD...]: one boot, all workloads; results in $out/NAME
run() {
	local kernel=$1 fs=$2 name=$3
	shift 3
	local w have=1
	for w in "$@"; do [ -f "$out/$name/$w.rc" ] || have=0; done
	if [ "$reuse" = 1 ] && [ "$have" = 1 ]; then
		echo "# ---- $name: reusing $out/$name"
		return 0
	fi
	case "$only:$name" in
	stock:stock-*|patched:built-*|:*) ;;
	*) echo "# ---- $name: not booted (--only $only)"; return 0 ;;
	esac
	echo "# ---- $name: kernel $kernel, fs $fs"
	"$LAB" run --kernel "$kernel" --fs "$fs" --timeout 1800 --quiet \
		--out "$out/$name" \
		-- bash -c "$guest" guest "$bindir" "$seconds" "$rounds" "$@" \
		>"$out/$name.log" 2>&1
	local rc=$?
	grep -h -E '^(not ok|# .*(attempt|checks|fsync_locked_skip:))' "$out/$name"/*.tap 2>/dev/null | sed 's/^/#   /'
	return $rc
}

# WARN/BUG/oops lines in the guest kernel log (the lab's own list, and the
# console as a second witness).
trouble='WARNING:|BUG:|kernel BUG at|Oops|general protection fault|Kernel panic|UBSAN:|KASAN:|possible circular locking|possible recursive locking'
warn_lines() { cat "$out/$1/kernel-warnings.txt" "$out/$1/console.log" 2>/dev/null | grep -cE "$trouble"; }
has_dax_warn() { grep -q 'dax_disassociate_entry' "$out/$1/kernel-warnings.txt" 2>/dev/null ||
		 grep -q 'WARNING: .*fs/dax.c.*dax_disassociate_entry' "$out/$1/console.log" 2>/dev/null; }
rc_of() { cat "$out/$1/$2.rc" 2>/dev/null || echo missing; }

echo "TAP version 13"

judge() {		# judge FS STOCK_NAME PATCHED_NAME WORKLOAD...
	local fs=$1 s=$2 p=$3 w
	shift 3
	for w in "$@"; do
		local rs rp
		rs=$(rc_of "$s" "$w")
		rp=$(rc_of "$p" "$w")
		if expect_race "$w" "$fs"; then
			check "$([ "$rs" = 1 ]; echo $?)" "$w on $fs: race shown on the unpatched kernel ($s: workload check failed, rc $rs)"
		elif probabilistic "$w"; then
			if [ "$rs" = 1 ]; then
				ok "$w on $fs: race shown on the unpatched kernel ($s, rc $rs)"
			else
				skip "$w on $fs: timing-dependent race not hit on the unpatched kernel this time ($s, rc $rs)"
			fi
		else
			check "$([ "$rs" = 0 ] || [ "$rs" = 1 ]; echo $?)" "$w on $fs: ran on the unpatched kernel ($s, rc $rs, informational)"
		fi
		check "$([ "$rp" = 0 ]; echo $?)" "$w on $fs: all checks pass on the patched kernel (rc $rp)"
	done
	if has_dax_warn "$s"; then
		ok "$fs: unpatched guest log ($s) has the dax_disassociate_entry WARN"
	else
		not_ok "$fs: unpatched guest log ($s) has the dax_disassociate_entry WARN"
	fi
	local wp
	wp=$(warn_lines "$p")
	check "$([ "$wp" = 0 ]; echo $?)" "$fs: patched guest log ($p) has no WARN/BUG/oops ($wp lines)"
}

for fs in $fs_list; do
	run stock "$fs" "stock-$fs" "${workloads[@]}"
	run "$patched" "$fs" "built-$fs" "${workloads[@]}"
	judge "$fs" "stock-$fs" "built-$fs" "${workloads[@]}"
done

if [ "$ext2" = 1 ]; then
	unpatched=$("$REPO/ci/build-kernel.sh" --patches none) || { not_ok "build the kernel without patches"; unpatched=; }
	if [ -n "$unpatched" ]; then
		# Debian's stock kernel mounts ext2 with ext4.ko: compare our
		# own build without and with the series instead.
		run "$unpatched" ext2 unpatched-ext2 punch_pinned
		run "$patched" ext2 built-ext2 punch_pinned
		judge ext2 unpatched-ext2 built-ext2 punch_pinned
	fi
fi

echo "1..$n"
echo "# $failed of $n failed; lab results in $out"
[ "$failed" = 0 ]
