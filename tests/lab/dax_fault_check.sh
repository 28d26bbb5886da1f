#!/bin/bash
# Runs inside the lab (ci/lab run --script): proves the DAX filesystem at
# $LAB_MNT really is DAX.  Two independent witnesses: /proc/mounts says
# dax=always, and a store through a shared mapping is served by the DAX
# fault handler (fs_dax:dax_pte_fault_done names the file's inode).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../ktap.sh
. "$REPO_DIR/tests/ktap.sh"
ktap_plan 3
T=/sys/kernel/tracing

if grep " $LAB_MNT " /proc/mounts | grep -q 'dax=always'; then
	ktap_ok "$LAB_FS at $LAB_MNT is mounted dax=always"
else
	ktap_not_ok "$LAB_FS at $LAB_MNT is not mounted dax=always" \
		"$(grep " $LAB_MNT " /proc/mounts || echo "not in /proc/mounts")"
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
	ktap_ok "write fault on ino $ino seen by fs_dax:dax_pte_fault_done ($faults)"
else
	mapfile -t head <<<"$(sed -n '1,20p' $T/trace)"
	ktap_not_ok "no fs_dax:dax_pte_fault_done for ino $ino" "${head[@]}"
fi

if [ "$(dd if="$f" bs=1 skip=100 count=5 2>/dev/null)" = hello ]; then
	ktap_ok "data stored through the DAX mapping reads back"
else
	ktap_not_ok "data stored through the DAX mapping is lost"
fi
ktap_finish
