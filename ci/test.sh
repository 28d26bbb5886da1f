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
mkdir -p "$build"
run_logged "$build/cmake.log" "configuring (cmake)" \
	cmake -S "$REPO_DIR" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_logged "$build/build.log" "building" cmake --build "$build" -j"$(nproc)"
if [ "$fast" = 0 ]; then
	"$CI_DIR/stock-kernel.sh" >/dev/null
	"$CI_DIR/stock-kernel.sh" --base 6.12 >/dev/null
	"$CI_DIR/build-kernel.sh" >/dev/null
	# The race lab kernel: incremental on top of the lab kernel's objects.
	"$CI_DIR/build-kernel.sh" --extra-series "$REPO_DIR/tests/reopen/6.1" >/dev/null
else
	ctest_args+=(-LE lab)
fi
log "running the test suite"
cd "$build"
ctest --output-on-failure "${ctest_args[@]}"
