#!/bin/bash
# Runs inside the lab (ci/lab run --fs xfs --script ... -- BINDIR): set up
# what exchange_range_mixed_pinned needs and run it.  Debian bookworm's
# mkfs.xfs (6.1) cannot make a filesystem with the exchange-range feature
# (mkfs.xfs -i exchange=1 came with xfsprogs 6.10), so the incompat bit is
# set with xfs_db on the freshly made filesystem; kernels from 6.10 on know
# it (6.12 warns it is EXPERIMENTAL), older ones refuse the mount, and the
# workload is skipped.  The lab's dax=always mount is replaced by dax=inode
# so that one file can be DAX and the other not.
set -uo pipefail
bindir=${1:?usage: exchange_range_guest.sh BINDIR [-h hold_ms]}
shift
[ "$LAB_FS" = xfs ] || { echo "1..0 # SKIP exchange-range is XFS only"; exit 0; }
umount "$LAB_MNT" || exit 2
feat=$(xfs_db -c 'sb 0' -c 'print features_incompat' "$LAB_DEV" | awk '{ print $3 }')
# XFS_SB_FEAT_INCOMPAT_EXCHRANGE (1 << 6); -d: xfs_db 6.1 does not know
# the bit and its verifier would refuse the write.
xfs_db -x -c 'sb 0' -c "write -d features_incompat $(printf '%#x' $((feat | 0x40)))" "$LAB_DEV" >/dev/null
if ! mount -t xfs -o dax=inode "$LAB_DEV" "$LAB_MNT"; then
	echo "1..0 # SKIP this kernel cannot mount XFS with exchange-range ($(uname -r))"
	exit 0
fi
mkdir "$LAB_MNT/dax"
xfs_io -c 'chattr +x' "$LAB_MNT/dax" || exit 2
"$bindir/exchange_range_mixed_pinned" "$LAB_MNT/dax" "$@"
rc=$?
umount "$LAB_MNT"
exit $rc
