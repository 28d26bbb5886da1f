#!/bin/bash
# Runs inside the lab (ci/lab run --script): the lab kernel must not narrow
# what can be tested.  Filesystem and DAX test suites probe for these before
# running anything (xfstests and ndctl's tests read Hugepagesize from
# /proc/meminfo, set ACLs, watch files, build scratch filesystems on loop
# devices); a kernel without them skips or fails those tests silently.
set -uo pipefail
echo "TAP version 13"
echo "1..6"
failed=0
n=0
check() {
	local what=$1
	shift
	n=$((n + 1))
	local out
	if out=$("$@" 2>&1); then
		echo "ok $n - $what: $(echo "$out" | head -n 1)"
	else
		echo "not ok $n - $what: $(echo "$out" | head -n 3 | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
}

check "Hugepagesize in /proc/meminfo" grep -m1 '^Hugepagesize:' /proc/meminfo
check "hugetlbfs mounts" bash -c 'mkdir -p /run/lab/huge && mount -t hugetlbfs none /run/lab/huge && grep -m1 " /run/lab/huge " /proc/mounts'
check "inotify" bash -c 'cat /proc/sys/fs/inotify/max_user_watches'
# The stock kernels have loop as a module (loaded by the initramfs).
check "loop device" bash -c 'f=$(mktemp) && truncate -s 16M "$f" && losetup --show -f "$f"'
check "POSIX ACL on $LAB_FS (DAX)" bash -c 'f=$LAB_MNT/acl-check && touch "$f" &&
	setfacl -m u:1:r "$f" && getfacl -cnp "$f" | grep -x "user:1:r--"'
check "POSIX ACL on tmpfs" bash -c 'f=$(mktemp) && setfacl -m u:1:r "$f" &&
	getfacl -cnp "$f" | grep -x "user:1:r--"'
echo "# $(uname -r)"
exit $((failed > 0))
