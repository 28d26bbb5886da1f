#!/usr/bin/env bash
# README command 2: on a fresh machine, install what is needed, build the
# C/C++/BPF parts and the lab kernel, and run the whole test suite (unit
# tests, fuzzing for a bounded time, and the tests that boot the lab).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF2
usage: ci/test.sh [--fast] [--build-dir DIR] [-- CTEST-ARGS...]
  --fast        skip the tests that boot the lab (ctest -LE lab)
  --build-dir   CMake build directory (default: build/)
EOF2
}
fast=0
build=$REPO_DIR/build
ctest_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--fast) fast=1; shift ;;
	--build-dir) build=$(realpath -m "${2:?}"); shift 2 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; ctest_args=("$@"); break ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done

"$CI_DIR/install-deps.sh"

# The lab kernels (a cold kernel build on a fresh machine) are prepared in
# the background, niced, while the tools build and the fast tests run:
# those leave cores idle (servers starting, debootstrap, waits), and the
# lab tests, which keep both cores busy, start only once the kernels are
# ready.
prepare_lab_kernels() {
	"$CI_DIR/stock-kernel.sh"
	"$CI_DIR/stock-kernel.sh" --base 6.12
	"$CI_DIR/build-kernel.sh"
	# The race lab kernel: incremental on top of the lab kernel's objects.
	"$CI_DIR/build-kernel.sh" --extra-series "$REPO_DIR/tests/reopen/6.1"
}
mkdir -p "$build"
if [ "$fast" = 0 ]; then
	# Its own session, so that an early exit stops the whole build.
	CI_DIR=$CI_DIR REPO_DIR=$REPO_DIR setsid nice -n 10 bash -c "set -e; $(declare -f prepare_lab_kernels); prepare_lab_kernels" \
		>"$build/lab-kernels.log" 2>&1 </dev/null &
	kernels_pid=$!
	on_exit "kill -- -$kernels_pid 2>/dev/null"
	log "preparing the lab kernels in the background (log: $build/lab-kernels.log)"
fi
run_logged "$build/cmake.log" "configuring (cmake)" \
	cmake -S "$REPO_DIR" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_logged "$build/build.log" "building" cmake --build "$build" -j"$(nproc)"
cd "$build"
log "running the fast tests"
rc=0
ctest --output-on-failure -LE lab "${ctest_args[@]}" || rc=$?
if [ "$fast" = 1 ]; then
	exit $rc
fi
t0=$(date +%s)
while ! wait_timeout "$kernels_pid" 30; do
	log "waiting for the lab kernels: $(( $(date +%s) - t0 ))s, $(tail -n 1 "$build/lab-kernels.log" | cut -c1-100)"
done
if ! wait "$kernels_pid"; then
	tail -n 30 "$build/lab-kernels.log" >&2
	die "the lab kernels could not be prepared; full log: $build/lab-kernels.log"
fi
log "running the tests that boot the lab"
ctest --output-on-failure -L lab "${ctest_args[@]}" || rc=$?
# A guest that hung (ci/lab: a vCPU stuck for good, or the emulator's int3
# oops before the command) was booted again; say which, so that a retried
# pass is never mistaken for a clean one.
while read -r f; do
	log "booted again after a hung or boot-crashed guest: $(dirname "${f#"$build"/lab/}") ($(head -n 1 "$f"))"
done < <(find "$build/lab" -name hung-boots 2>/dev/null)
exit $rc
