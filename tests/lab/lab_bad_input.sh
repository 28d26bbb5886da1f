#!/bin/bash
# Host-side checks of the lab's failure paths: each bad input gives a clear
# one-line error and a non-zero exit, and no QEMU process outlives ci/lab.
# Output is KTAP; exits non-zero if any check fails.
set -uo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../ktap.sh
. "$REPO_DIR/tests/ktap.sh"
lab=$REPO_DIR/ci/lab
work=
make_workdir work
no_qemu_left() {	# DIR: no QEMU process whose command line names DIR
	local p
	for p in $(pgrep -x qemu-system-x86); do
		grep -qF "$1" "/proc/$p/cmdline" 2>/dev/null && return 1
	done
	return 0
}
one_error_line() {	# FILE PATTERN: exactly one "error:" line, matching PATTERN
	if [ "$(grep -c 'error:' "$1")" = 1 ] && grep 'error:' "$1" | grep -q "$2"; then
		return 0
	fi
	sed 's/^/#   /' "$1"
	return 1
}
ktap_plan 10

"$lab" run --kernel stock --fs none --quiet --out "$work/fail" -- sh -c 'exit 7' 2>"$work/fail.err"
check "a failing guest command's status (7) is the runner's status" test $? = 7

"$lab" run --kernel "$work/no-such-bzImage" -- true 2>"$work/nokernel.err"
rc=$?
check "a missing kernel image exits 125" test $rc = 125
check "... with one error line naming it" one_error_line "$work/nokernel.err" "kernel image not found: $work/no-such-bzImage"

"$lab" run --kernel stock --fs none --quiet --timeout 20 --out "$work/timeout" -- sleep 600 2>"$work/timeout.err"
rc=$?
check "a guest that outlives --timeout exits 124" test $rc = 124
check "... with one error line" one_error_line "$work/timeout.err" "guest timed out after 20"
check "... and no QEMU left behind" no_qemu_left "$work/timeout"

"$lab" run --kernel stock --fs none --quiet --timeout 300 --out "$work/sigterm" -- sleep 600 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -f "$work/sigterm/started" ] && break; sleep 0.5; done
kill -TERM $pid
wait $pid
rc=$?
sleep 0.5
check "SIGTERM to the runner stops it (exit $rc)" test $rc -ne 0
check "... and leaves no QEMU" no_qemu_left "$work/sigterm"

# A patch that cannot apply stops the build and is named.
mkdir -p "$work/series"
cat >"$work/series/0001-does-not-apply.patch" <<'PATCH'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: daxtrace tests <tests@daxtrace.invalid>
Date: Sat, 21 Nov 2026 00:00:00 +0000
Subject: [PATCH] test: a patch whose context is not in the tree

---
 fs/dax.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/fs/dax.c b/fs/dax.c
--- a/fs/dax.c
+++ b/fs/dax.c
@@ -1,3 +1,3 @@
-this line is not in fs/dax.c
+neither is this one
 nor this
 nor this
--
2.39.5
PATCH
"$REPO_DIR/ci/build-kernel.sh" --patches "$work/series" --config-only >/dev/null 2>"$work/am.err"
rc=$?
check "a patch that does not apply stops the build (exit $rc) and is named" \
	bash -c "[ $rc -ne 0 ] && grep -q 'error: patch does not apply: 0001-does-not-apply.patch' '$work/am.err'"

# An option whose dependency is switched off is dropped by olddefconfig.
printf 'CONFIG_BPF_JIT=y\n# CONFIG_MODULES is not set\n' >"$work/drop.config"
"$REPO_DIR/ci/build-kernel.sh" --patches none --fragment "$work/drop.config" --config-only \
	>/dev/null 2>"$work/drop.err"
rc=$?
check "a dropped kconfig option fails the configuration (exit $rc) and is named" \
	bash -c "[ $rc -ne 0 ] && grep 'error: kconfig:' '$work/drop.err' | grep -q 'CONFIG_BPF_JIT=y'"

ktap_finish
