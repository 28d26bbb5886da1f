#!/usr/bin/env bash
# Before/after proof of a kernel base's series with the configuration held
# equal: the race workloads (tests/workloads) in the emulated-pmem lab on
#
#   stock     Debian's stock kernel of the base (its own configuration),
#   unpatched our build of the base without the series (ci/build-kernel.sh
#             --no-patches: the lab configuration),
#   patched   our build with the series (same configuration),
#
# one boot per kernel and filesystem, and assert
#
#   - stock and unpatched: every fixed race shows (the workload's own check
#     fails) and the guest log has the dax_disassociate_entry WARN;
#   - patched: every workload passes all its checks and the guest log has
#     no WARN/BUG/oops at all;
#   - control: punch_pinned (already serialised paths) passes everywhere.
#
# On xfs and a base with exchange-range (6.12), the same boot then runs
# exchange_range_mixed_pinned (tests/lab/exchange_range_guest.sh).  Races
# that depend on timing (locked_entry_pin, fsync_locked_skip) not shown
# within the time are a SKIP, not a failure.
#
# usage: tests/lab/kernel_before_after.sh [--base 6.1|6.12] [--fs "ext4 xfs"]
#            [--kernels "stock unpatched patched"] [--workloads "w1 w2 ..."]
#            [--seconds N] [--rounds N] [--hold MS] [--out DIR]
# Output: KTAP, and a markdown table in DIR/table.md.  Exit status 0 when
# every assertion holds.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$REPO/ci/lab
base=6.12
fs_list="ext4 xfs"
kernels="stock unpatched patched"
seconds=20
rounds=30
hold=3000
workloads=(punch_pinned unmapped_pin_truncate swap_boot_pinned swapext_pinned
	   locked_entry_pin evict_pinned fsync_locked_skip)
out=${TMPDIR:-/tmp}/daxtrace-kernel-before-after.$$

while [ $# -gt 0 ]; do
	case $1 in
	--base) base=${2:?}; shift 2 ;;
	--fs) fs_list=${2:?}; shift 2 ;;
	--kernels) kernels=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--hold) hold=${2:?}; shift 2 ;;
	--workloads) read -ra workloads <<<"${2:?}"; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
out=$(realpath "$out")
exchange=0
[ "$base" = 6.12 ] && exchange=1

# The workloads run inside the guest by their host path: keep them out of
# /tmp (the guest's /tmp is a fresh tmpfs).
bindir=$REPO/build-before-after/workloads
mkdir -p "$bindir"
for w in "${workloads[@]}"; do
	cc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$bindir/$w" "$REPO/tests/workloads/$w.c" \
		-lpthread || exit 2
done
cc -O2 -Wall -Wextra -D_GNU_SOURCE -I"$REPO/tests/workloads" \
	-o "$bindir/exchange_range_mixed_pinned" \
	"$REPO/tests/lab/exchange_range_mixed_pinned.c" -lpthread || exit 2

kernel_arg() {
	case $1 in
	stock) echo "stock-$base" ;;
	patched) echo "built-$base" ;;
	unpatched) "$REPO/ci/build-kernel.sh" --base "$base" --no-patches ;;
	esac
}

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
	*) return 1 ;;
	esac
}
probabilistic() { [ "$1" = locked_entry_pin ] || [ "$1" = fsync_locked_skip ]; }

guest='bindir=$1; shift
for w in "$@"; do
	case $w in
	fsync_locked_skip) args=(-n "$ROUNDS") ;;
	evict_pinned) args=() ;;
	*) args=(-s "$L_SECONDS") ;;
	esac
	echo "# ---- $w on $LAB_FS ($(uname -r))"
	n0=$(dmesg | wc -l)
	"$bindir/$w" "$LAB_MNT" "${args[@]}" | tee "$LAB_OUT/$w.tap"
	echo "${PIPESTATUS[0]}" >"$LAB_OUT/$w.rc"
	dmesg | tail -n +$((n0 + 1)) >"$LAB_OUT/$w.dmesg"
done
if [ "$EXCHANGE" = 1 ] && [ "$LAB_FS" = xfs ]; then
	w=exchange_range_mixed_pinned
	echo "# ---- $w on $LAB_FS ($(uname -r))"
	n0=$(dmesg | wc -l)
	bash "$GUEST_XR" "$bindir" -h "$HOLD" | tee "$LAB_OUT/$w.tap"
	echo "${PIPESTATUS[0]}" >"$LAB_OUT/$w.rc"
	dmesg | tail -n +$((n0 + 1)) >"$LAB_OUT/$w.dmesg"
fi'

run() {			# run KERNEL FS NAME: one boot, all workloads
	local kernel=$1 fs=$2 name=$3
	echo "# ---- $name: kernel $kernel, fs $fs"
	"$LAB" run --kernel "$kernel" --fs "$fs" --timeout 2400 --quiet \
		--env L_SECONDS="$seconds" --env ROUNDS="$rounds" --env HOLD="$hold" \
		--env EXCHANGE="$exchange" --env GUEST_XR="$REPO/tests/lab/exchange_range_guest.sh" \
		--out "$out/$name" -- bash -c "$guest" guest "$bindir" "${workloads[@]}" \
		>"$out/$name.log" 2>&1
	local rc=$?
	grep -h -E '^(not ok|# .*(attempt|checks|fsync_locked_skip:))' "$out/$name"/*.tap 2>/dev/null |
		sed 's/^/#   /'
	return $rc
}

trouble='WARNING:|BUG:|kernel BUG at|Oops|general protection fault|Kernel panic|UBSAN:|KASAN:|possible circular locking|possible recursive locking'
warn_lines() { cat "$out/$1/kernel-warnings.txt" 2>/dev/null | grep -cE "$trouble"; }
has_dax_warn() { grep -q 'dax_disassociate_entry' "$out/$1/kernel-warnings.txt" 2>/dev/null ||
		 grep -q 'WARNING: .*fs/dax.c.*dax_disassociate_entry' "$out/$1/console.log" 2>/dev/null; }
rc_of() { cat "$out/$1/$2.rc" 2>/dev/null || echo missing; }
# One cell of the table: what the workload's own checks said.
cell() {
	local rc
	rc=$(rc_of "$1" "$2")
	case $rc in
	0) echo "pass" ;;
	1) echo "**race** ($(grep -c '^not ok' "$out/$1/$2.tap") failed)" ;;
	*) echo "rc $rc" ;;
	esac
}

echo "TAP version 13"
all_w=("${workloads[@]}")
[ "$exchange" = 1 ] && all_w+=(exchange_range_mixed_pinned)
{
	printf '| workload | fs |'
	for k in $kernels; do printf ' %s |' "$k"; done
	printf '\n|---|---|'
	for k in $kernels; do printf -- '---|'; done
	printf '\n'
} >"$out/table.md"

for fs in $fs_list; do
	for k in $kernels; do
		karg=$(kernel_arg "$k") || { not_ok "kernel $k for $base"; continue; }
		run "$karg" "$fs" "$k-$fs"
		echo "# $k-$fs: $(grep -m1 -o 'kernel [^ ]*' "$out/$k-$fs/setup.log" 2>/dev/null)"
	done
	for w in "${all_w[@]}"; do
		[ "$w" = exchange_range_mixed_pinned ] && [ "$fs" != xfs ] && continue
		{
			printf '| %s | %s |' "$w" "$fs"
			for k in $kernels; do printf ' %s |' "$(cell "$k-$fs" "$w")"; done
			printf '\n'
		} >>"$out/table.md"
		for k in $kernels; do
			local_rc=$(rc_of "$k-$fs" "$w")
			if [ "$k" = patched ]; then
				check "$([ "$local_rc" = 0 ]; echo $?)" "$w on $fs: all checks pass on the patched kernel (rc $local_rc)"
			elif expect_race "$w" "$fs"; then
				check "$([ "$local_rc" = 1 ]; echo $?)" "$w on $fs: race shown on $k (rc $local_rc)"
			elif probabilistic "$w"; then
				if [ "$local_rc" = 1 ]; then
					ok "$w on $fs: race shown on $k (rc $local_rc)"
				else
					skip "$w on $fs: timing-dependent race not hit on $k this time (rc $local_rc)"
				fi
			else
				check "$([ "$local_rc" = 0 ] || [ "$local_rc" = 1 ]; echo $?)" "$w on $fs: ran on $k (rc $local_rc, informational)"
			fi
		done
	done
	for k in $kernels; do
		if [ "$k" = patched ]; then
			wp=$(warn_lines "$k-$fs")
			check "$([ "$wp" = 0 ]; echo $?)" "$fs: patched guest log has no WARN/BUG/oops ($wp lines)"
		elif has_dax_warn "$k-$fs"; then
			ok "$fs: $k guest log has the dax_disassociate_entry WARN"
		else
			not_ok "$fs: $k guest log has the dax_disassociate_entry WARN"
		fi
	done
done

echo "1..$n"
echo "# $failed of $n failed; lab results in $out; table: $out/table.md"
[ "$failed" = 0 ]
