#!/usr/bin/env bash
# Before/after proof of a kernel base's series (patches/<base>/): the race
# workloads of tests/workloads in the emulated-pmem lab, one boot per kernel
# and filesystem, on any of
#
#   stock     Debian's stock kernel of the base (its own configuration);
#   unpatched our build of the base without the series (ci/build-kernel.sh
#             --no-patches: the lab configuration, so that the comparison
#             with "patched" differs only in the series);
#   patched   our build with the series (ci/build-kernel.sh, or --kernel);
#   debug     our build with the series and kconfig/debug.config (lockdep,
#             KASAN, DEBUG_VM: ci/build-kernel.sh --debug);
#
# and assert
#
#   - stock, unpatched: every fixed race shows (the workload's own check
#     fails) and the guest log has the dax_disassociate_entry WARN;
#   - patched, debug: every workload passes all its checks and the guest
#     log has no WARN/BUG/oops, no lockdep and no KASAN report at all;
#     on debug, lockdep was still on at the end (/proc/lockdep_stats
#     debug_locks: 1) and KASAN had initialised, so silence means something;
#   - control: punch_pinned (already serialised paths) passes everywhere.
#
# On xfs and a base with exchange-range (6.12), the same boot then runs
# exchange_range_mixed_pinned (tests/lab/exchange_range_guest.sh).  On xfs
# it ends with cow_write_stale_mmap on a new filesystem with reflink: a
# race on 6.1 without the series' CoW backport, a regression check on 6.12.  Races
# that depend on timing (locked_entry_pin, fsync_locked_skip) not shown
# within the time are a SKIP, not a failure.  With --ext2 the unpatched
# and patched builds also run punch_pinned on ext2 (Debian's stock kernel
# mounts ext2 with ext4.ko, so only our builds have ext2's own DAX code).
#
# usage: tests/lab/kernel_before_after.sh [--base 6.1|6.12] [--fs "ext4 xfs"]
#            [--kernels "stock unpatched patched debug"] [--kernel PATH]
#            [--workloads "w1 w2 ..."] [--seconds N] [--rounds N] [--hold MS]
#            [--bindir DIR] [--ext2] [--reuse] [--only KERNEL] [--out DIR]
#   --kernels: which kernels to boot and judge (default "stock patched")
#   --kernel:  the patched bzImage (default: ci/build-kernel.sh's)
#   --bindir:  prebuilt workloads (default: compiled into build-before-after/)
#   --reuse:   keep the results of a boot already in --out (every workload
#              has its .rc) instead of booting again
#   --only:    boot only that kernel (with --reuse, judge the rest from --out)
# Output: KTAP, and a markdown table in DIR/table.md.  Exit status 0 when
# every assertion holds.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
REPO=$REPO_DIR
LAB=$REPO/ci/lab
base=6.1
fs_list="ext4 xfs"
kernels="stock patched"
patched_image=
bindir=
seconds=20
rounds=30
hold=3000
ext2=0
reuse=0
only=
workloads=(punch_pinned unmapped_pin_truncate swap_boot_pinned swapext_pinned
	   locked_entry_pin evict_pinned fsync_locked_skip)
out=${TMPDIR:-/tmp}/daxtrace-kernel-before-after.$$

while [ $# -gt 0 ]; do
	case $1 in
	--base) base=${2:?}; shift 2 ;;
	--fs) fs_list=${2?}; shift 2 ;;	# "" with --ext2: ext2 alone
	--kernels) kernels=${2:?}; shift 2 ;;
	--kernel) patched_image=$(realpath "${2:?}"); shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--hold) hold=${2:?}; shift 2 ;;
	--bindir) bindir=${2:?}; shift 2 ;;
	--workloads) read -ra workloads <<<"${2:?}"; shift 2 ;;
	--ext2) ext2=1; shift ;;
	--reuse) reuse=1; shift ;;
	--only) only=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
done
# Nothing to boot would pass while checking nothing.
[ -n "${fs_list// /}" ] || [ "$ext2" = 1 ] || die "--fs is empty and --ext2 not given: nothing to run"
mkdir -p "$out"
out=$(realpath "$out")
exchange=0
[ "$base" = 6.12 ] && exchange=1

# The workloads run inside the guest by their host path: keep them out of
# /tmp (the guest's /tmp is a fresh tmpfs).
if [ -z "$bindir" ]; then
	bindir=$REPO/build-before-after/workloads
	mkdir -p "$bindir"
	for w in "${workloads[@]}" cow_write_stale_mmap; do
		cc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$bindir/$w" \
			"$REPO/tests/workloads/$w.c" -lpthread || exit 2
	done
fi
if [ "$exchange" = 1 ] && [ ! -x "$bindir/exchange_range_mixed_pinned" ]; then
	cc -O2 -Wall -Wextra -D_GNU_SOURCE -I"$REPO/tests/workloads" \
		-o "$bindir/exchange_range_mixed_pinned" \
		"$REPO/tests/lab/exchange_range_mixed_pinned.c" -lpthread || exit 2
fi

kernel_arg() {		# kernel_arg KIND -> what ci/lab run --kernel takes
	case $1 in
	stock) echo "stock-$base" ;;
	patched)
		if [ -n "$patched_image" ]; then
			echo "$patched_image"
		else
			echo "built-$base"
		fi ;;
	unpatched) "$REPO/ci/build-kernel.sh" --base "$base" --no-patches ;;
	debug) "$REPO/ci/build-kernel.sh" --base "$base" --debug ;;
	*) echo "unknown kernel kind '$1'" >&2; return 1 ;;
	esac
}
fixed() { [ "$1" = patched ] || [ "$1" = debug ]; }

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; failed=$((failed + 1)); }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
check() { if [ "$1" = 0 ]; then shift; ok "$@"; else shift; not_ok "$@"; fi; }

expect_race() {		# workload fs -> 0 if an unpatched kernel must show it
	case "$1:$2" in
	unmapped_pin_truncate:ext4|unmapped_pin_truncate:xfs) return 0 ;;
	swap_boot_pinned:ext4) return 0 ;;
	swapext_pinned:xfs) return 0 ;;
	evict_pinned:ext4|evict_pinned:xfs) return 0 ;;
	exchange_range_mixed_pinned:xfs) return 0 ;;
	punch_pinned:ext2) return 0 ;;
	cow_write_stale_mmap:xfs) [ "$base" = 6.1 ] ;;	# f80e1668888f came with v6.2
	*) return 1 ;;
	esac
}
# The base has the fix itself (a regression check): every kernel must pass.
fixed_in_base() { [ "$1" = cow_write_stale_mmap ] && [ "$base" != 6.1 ]; }
probabilistic() { [ "$1" = locked_entry_pin ] || [ "$1" = fsync_locked_skip ]; }

# The guest side: each workload with its own options; KTAP to
# $LAB_OUT/<w>.tap, exit status to <w>.rc, the kernel log lines it caused
# to <w>.dmesg; lockdep's state at the end to lockdep_stats.
guest='bindir=$1; shift
run() {		# run NAME COMMAND...: KTAP, exit status and kernel log of one workload
	local w=$1 n0
	shift
	echo "# ---- $w on $LAB_FS ($(uname -r))"
	n0=$(dmesg | wc -l)
	"$@" | tee "$LAB_OUT/$w.tap"
	echo "${PIPESTATUS[0]}" >"$LAB_OUT/$w.rc"
	dmesg | tail -n +$((n0 + 1)) >"$LAB_OUT/$w.dmesg"
}
for w in "$@"; do
	case $w in
	fsync_locked_skip) args=(-n "$ROUNDS") ;;
	evict_pinned) args=() ;;
	*) args=(-s "$L_SECONDS") ;;
	esac
	run "$w" "$bindir/$w" "$LAB_MNT" "${args[@]}"
done
if [ "$LAB_FS" = xfs ]; then
	[ "$EXCHANGE" = 1 ] && run exchange_range_mixed_pinned bash "$GUEST_XR" "$bindir" -h "$HOLD"
	# CoW needs reflink, which the lab makes XFS without: last, on a new one.
	umount "$LAB_MNT" 2>/dev/null
	mkfs.xfs -q -f -m reflink=1 "$LAB_DEV" && mount -t xfs -o dax "$LAB_DEV" "$LAB_MNT" &&
		run cow_write_stale_mmap "$bindir/cow_write_stale_mmap" "$LAB_MNT" -n 10
fi
[ -r /proc/lockdep_stats ] && cat /proc/lockdep_stats >"$LAB_OUT/lockdep_stats"
true'

boot() {		# boot KIND FS WORKLOAD...: one boot, all workloads
	local k=$1 fs=$2 name=$1-$2 kernel w have=1
	shift 2
	for w in "$@"; do [ -f "$out/$name/$w.rc" ] || have=0; done
	if [ "$reuse" = 1 ] && [ "$have" = 1 ]; then
		echo "# ---- $name: reusing $out/$name"
		return 0
	fi
	if [ -n "$only" ] && [ "$k" != "$only" ]; then
		echo "# ---- $name: not booted (--only $only)"
		return 0
	fi
	# Resolved only for a kernel that boots: it may mean a kernel build.
	kernel=$(kernel_arg "$k") || { not_ok "kernel $k for $base"; return 1; }
	echo "# ---- $name: kernel $kernel, fs $fs"
	rm -f "$out/$name"/*.rc "$out/$name"/*.tap "$out/$name/lockdep_stats"
	"$LAB" run --kernel "$kernel" --fs "$fs" --timeout 3000 --quiet \
		--env L_SECONDS="$seconds" --env ROUNDS="$rounds" --env HOLD="$hold" \
		--env EXCHANGE="$exchange" --env GUEST_XR="$REPO/tests/lab/exchange_range_guest.sh" \
		--out "$out/$name" -- bash -c "$guest" guest "$bindir" "$@" \
		>"$out/$name.log" 2>&1
	local rc=$?
	echo "# $name: lab exit $rc, $(grep -m1 -o 'kernel [^ ]*' "$out/$name/setup.log" 2>/dev/null)"
	grep -h -E '^(not ok|# .*(attempt|checks|fsync_locked_skip:))' "$out/$name"/*.tap 2>/dev/null |
		sed 's/^/#   /'
	return $rc
}

# WARN/BUG/oops, lockdep and KASAN lines in the guest kernel log (the lab's
# kernel-warnings.txt, and the console as a second witness).
trouble=$KERNEL_TROUBLE_RE
trouble_lines() { cat "$out/$1/kernel-warnings.txt" "$out/$1/console.log" 2>/dev/null | grep -E "$trouble"; }
has_dax_warn() { grep -q 'dax_disassociate_entry' "$out/$1/kernel-warnings.txt" 2>/dev/null ||
		 grep -q 'WARNING: .*fs/dax.c.*dax_disassociate_entry' "$out/$1/console.log" 2>/dev/null; }
rc_of() { cat "$out/$1/$2.rc" 2>/dev/null || echo missing; }
cell() {		# one table cell: what the workload's own checks said
	local rc
	rc=$(rc_of "$1" "$2")
	case $rc in
	missing) echo "not run" ;;
	0) echo "pass" ;;
	1) echo "**race** ($(grep -c '^not ok' "$out/$1/$2.tap") failed)" ;;
	*) echo "rc $rc" ;;
	esac
}

judge_workload() {	# judge_workload KIND FS NAME WORKLOAD
	local k=$1 fs=$2 name=$3 w=$4 rc
	rc=$(rc_of "$name" "$w")
	if fixed "$k" || fixed_in_base "$w"; then
		check "$([ "$rc" = 0 ]; echo $?)" "$w on $fs: all checks pass on $k (rc $rc)"
	elif expect_race "$w" "$fs"; then
		check "$([ "$rc" = 1 ]; echo $?)" "$w on $fs: race shown on $k (rc $rc)"
	elif probabilistic "$w"; then
		if [ "$rc" = 1 ]; then
			ok "$w on $fs: race shown on $k (rc $rc)"
		else
			skip "$w on $fs: timing-dependent race not hit on $k this time (rc $rc)"
		fi
	else
		check "$([ "$rc" = 0 ] || [ "$rc" = 1 ]; echo $?)" "$w on $fs: ran on $k (rc $rc, informational)"
	fi
}

judge_log() {		# judge_log KIND FS NAME
	local k=$1 fs=$2 name=$3 lines
	if [ ! -s "$out/$name/console.log" ]; then
		not_ok "$fs: $k guest log ($name): no boot recorded"
		return 0
	fi
	if fixed "$k"; then
		lines=$(trouble_lines "$name" | sort -u)
		check "$([ -z "$lines" ]; echo $?)" \
			"$fs: $k guest log has no WARN/BUG/oops/lockdep/KASAN report ($(printf '%s' "$lines" | grep -c .) lines)"
		[ -n "$lines" ] && printf '%s\n' "$lines" | head -n 20 | sed 's/^/#   /'
	elif has_dax_warn "$name"; then
		ok "$fs: $k guest log has the dax_disassociate_entry WARN"
	else
		not_ok "$fs: $k guest log has the dax_disassociate_entry WARN"
	fi
	[ "$k" = debug ] || return 0
	# A checker that switched itself off (or never started) reports nothing.
	check "$(grep -q '^ *debug_locks: *1' "$out/$name/lockdep_stats" 2>/dev/null; echo $?)" \
		"$fs: lockdep was on to the end of the run (lockdep_stats debug_locks: 1)"
	check "$(grep -q 'KernelAddressSanitizer initialized' "$out/$name/dmesg.txt" "$out/$name/console.log" 2>/dev/null; echo $?)" \
		"$fs: KASAN was initialised"
}

echo "TAP version 13"
all_w=("${workloads[@]}")
[ "$exchange" = 1 ] && all_w+=(exchange_range_mixed_pinned)
all_w+=(cow_write_stale_mmap)
{
	printf '| workload | fs |'
	for k in $kernels; do printf ' %s |' "$k"; done
	printf '\n|---|---|'
	for k in $kernels; do printf -- '---|'; done
	printf '\n'
} >"$out/table.md"

for fs in $fs_list; do
	for k in $kernels; do
		boot "$k" "$fs" "${workloads[@]}"
	done
	for w in "${all_w[@]}"; do
		case $w in exchange_range_mixed_pinned|cow_write_stale_mmap) [ "$fs" = xfs ] || continue ;; esac
		{
			printf '| %s | %s |' "$w" "$fs"
			for k in $kernels; do printf ' %s |' "$(cell "$k-$fs" "$w")"; done
			printf '\n'
		} >>"$out/table.md"
		for k in $kernels; do judge_workload "$k" "$fs" "$k-$fs" "$w"; done
	done
	for k in $kernels; do judge_log "$k" "$fs" "$k-$fs"; done
done

if [ "$ext2" = 1 ]; then
	for k in unpatched patched; do
		boot "$k" ext2 punch_pinned
		judge_workload "$k" ext2 "$k-ext2" punch_pinned
		judge_log "$k" ext2 "$k-ext2"
	done
	{
		printf '| punch_pinned | ext2 |'
		for k in $kernels; do printf ' %s |' "$(cell "$k-ext2" punch_pinned)"; done
		printf '\n'
	} >>"$out/table.md"
fi

echo "1..$n"
echo "# $failed of $n failed; lab results in $out; table: $out/table.md"
[ "$failed" = 0 ]
