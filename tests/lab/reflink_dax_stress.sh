#!/bin/bash
# Runs inside the lab (ci/lab run --fs xfs --script ... [-- SECONDS]): XFS
# reflink + DAX under stress, for the fsdax CoW backports of patches/6.1
# and what they leave open.  The lab's xfs is made without reflink, so the
# filesystem is made again with -m reflink=1 and mounted -o dax.  For
# SECONDS (default 40): two processes store through shared writable
# mappings of four 64 KiB files while shell loops clone ranges between
# them (FICLONERANGE: shared extents, so the next store or pwrite is a
# CoW), pwrite and zero ranges.  fsdax WARNs when a page is associated
# with a second mapping without being marked shared, or an entry is torn
# down while its page is still mapped elsewhere; each WARN site reports
# once (WARN_ON_ONCE), so the result is the list of sites, not a rate.
# KTAP: one line per check; exit 1 if the guest log has a WARN/BUG.
set -uo pipefail
# shellcheck source=SCRIPTDIR/../ktap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ktap.sh"
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
secs=${1:-40}
[ "$LAB_FS" = xfs ] || ktap_skip_all "reflink is XFS only"
umount "$LAB_MNT" || exit 2
mkfs.xfs -q -f -m reflink=1 "$LAB_DEV" || exit 2
mount -t xfs -o dax "$LAB_DEV" "$LAB_MNT" || exit 2
cd "$LAB_MNT" || exit 2
for f in 0 1 2 3; do
	xfs_io -f -c "pwrite -S 0x4$f 0 64k" -c fsync "f$f" >/dev/null || exit 2
done
dmesg -c >/dev/null

stores() {	# a process storing through shared mappings of every file
	python3 - "$secs" "$1" <<'EOF'
import mmap, os, random, sys, time
end = time.time() + float(sys.argv[1])
rng = random.Random(int(sys.argv[2]))
maps = []
for i in range(4):
    fd = os.open("f%d" % i, os.O_RDWR)
    maps.append(mmap.mmap(fd, 65536, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE))
n = 0
while time.time() < end:
    m = maps[rng.randrange(4)]
    off = rng.randrange(16) * 4096 + rng.randrange(4096)
    m[off] = (m[off] + 1) & 0xff
    n += 1
print("stores", n)
EOF
}
loop() {	# loop CMD...: run an xfs_io command on random files until the end
	local end=$((SECONDS + secs)) n=0
	while [ $SECONDS -lt $end ]; do
		local s=$((RANDOM % 4)) d=$((RANDOM % 4)) o=$(((RANDOM % 16) * 4096))
		local p=$(((RANDOM % 16) * 4096))
		xfs_io -c "$(printf "$1" "$s" "$o" "$p")" "f$d" >/dev/null 2>&1
		n=$((n + 1))
	done
	echo "$2 $n"
}
stores 1 & stores 2 &
loop "reflink f%s %s %s 4096" reflink & loop "pwrite -S 0x55 %.0s%s 4096%.0s" pwrite &
loop "fzero %.0s%s 4096%.0s" fzero &
wait
cd / && umount "$LAB_MNT"

warns=$(dmesg | grep -E "$KERNEL_TROUBLE_RE" || true)
ktap_plan 2
if [ -z "$warns" ]; then
	ktap_ok "no WARN/BUG in the guest log"
else
	mapfile -t lines <<<"$warns"
	ktap_not_ok "the guest log has WARN/BUG lines" "${lines[@]}"
fi
# The filesystem must still be consistent.
repair_check() { xfs_repair -n "$LAB_DEV" >/dev/null 2>&1; }
check "xfs_repair -n finds nothing" repair_check
ktap_finish
