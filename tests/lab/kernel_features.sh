#!/bin/bash
# Runs inside the lab (ci/lab run --script): the lab kernel must not narrow
# what can be tested.  Filesystem and DAX test suites probe for these before
# running anything (xfstests and ndctl's tests read Hugepagesize from
# /proc/meminfo, set ACLs, watch files, build scratch filesystems on loop
# devices); a kernel without them skips or fails those tests silently.
set -uo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../ktap.sh
. "$REPO_DIR/tests/ktap.sh"
ktap_plan 6
# feature DESCRIPTION COMMAND...: ok with the command's first line of
# output (what the kernel has), or not ok with its first lines (why not).
feature() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$what: $(echo "$out" | head -n 1)"
	else
		ktap_not_ok "$what" "$(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
}

feature "Hugepagesize in /proc/meminfo" grep -m1 '^Hugepagesize:' /proc/meminfo
feature "hugetlbfs mounts" bash -c 'mkdir -p /run/lab/huge && mount -t hugetlbfs none /run/lab/huge && grep -m1 " /run/lab/huge " /proc/mounts'
feature "inotify" bash -c 'cat /proc/sys/fs/inotify/max_user_watches'
# The stock kernels have loop as a module (loaded by the initramfs).
feature "loop device" bash -c 'f=$(mktemp) && truncate -s 16M "$f" && losetup --show -f "$f"'
feature "POSIX ACL on $LAB_FS (DAX)" bash -c 'f=$LAB_MNT/acl-check && touch "$f" &&
	setfacl -m u:1:r "$f" && getfacl -cnp "$f" | grep -x "user:1:r--"'
feature "POSIX ACL on tmpfs" bash -c 'f=$(mktemp) && setfacl -m u:1:r "$f" &&
	getfacl -cnp "$f" | grep -x "user:1:r--"'
echo "# $(uname -r)"
ktap_finish
