#!/bin/bash
# Runs inside the lab (ci/lab run --script): proves the DAX filesystem at
# $LAB_MNT really is DAX.  Two independent witnesses: /proc/mounts says
# dax=always, and a store through a shared mapping is served by the DAX
# fault handler (fs_dax:dax_pte_fault_done names the file's inode).
set -euo pipefail
echo "TAP version 13"
echo "1..3"
T=/sys/kernel/tracing
failed=0
not_ok() { echo "not ok $*"; failed=$((failed + 1)); }

if grep " $LAB_MNT " /proc/mounts | grep -q 'dax=always'; then
	echo "ok 1 - $LAB_FS at $LAB_MNT is mounted dax=always"
else
	not_ok "1 - $LAB_FS at $LAB_MNT is not mounted dax=always: $(grep " $LAB_MNT " /proc/mounts)"
fi

f=$LAB_MNT/dax-fault-check
echo 0 >$T/tracing_on
echo >$T/trace
echo 1 >$T/events/fs_dax/dax_pte_fault/enable
echo 1 >$T/events/fs_dax/dax_pte_fault_done/enable
echo 1 >$T/tracing_on
python3 - "$f" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 4 * 4096)
m = mmap.mmap(fd, 4 * 4096, mmap.MAP_SHARED)
m[100:105] = b"hello"      # write fault into a hole of a sparse file
m.flush()
m.close()
os.close(fd)
PY
echo 0 >$T/tracing_on
ino=$(printf '%#x' "$(stat -c %i "$f")")
faults=$(grep -c "dax_pte_fault_done: .* ino $ino .*WRITE" $T/trace || true)
if [ "$faults" -ge 1 ]; then
	echo "ok 2 - write fault on ino $ino seen by fs_dax:dax_pte_fault_done ($faults)"
else
	not_ok "2 - no fs_dax:dax_pte_fault_done for ino $ino"
	sed -n '1,20p' $T/trace
fi

if [ "$(dd if="$f" bs=1 skip=100 count=5 2>/dev/null)" = hello ]; then
	echo "ok 3 - data stored through the DAX mapping reads back"
else
	not_ok "3 - data stored through the DAX mapping is lost"
fi
exit $((failed > 0))
