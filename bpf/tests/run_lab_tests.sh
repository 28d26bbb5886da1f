#!/bin/bash
# Host side: run the BPF lab matrix (kernels x filesystems x forced
# fallbacks x a disabled hook, and drop accounting).  The cases are defined
# once, in bpf/tests/CMakeLists.txt (tests lab.bpf.*); this runs them with
# ctest in a configured build directory.
#
#   bpf/tests/run_lab_tests.sh [--quick] [--build DIR] [-- ctest args...]
#
# --quick runs the cases labelled lab-bpf-quick.  Each case's results
# (events.jsonl, coverage.json, ktap.txt, dmesg) land in DIR/lab/bpf.<case>/.
# Exit status: ctest's.
set -u
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
BUILD=$REPO_DIR/build-bpf
SEL=(-R '^lab\.bpf\.')
while [ $# -gt 0 ]; do
	case $1 in
	--quick) SEL=(-L lab-bpf-quick) ;;
	--build) BUILD=$2; shift ;;
	--) shift; break ;;
	*) echo "usage: $0 [--quick] [--build DIR] [-- ctest args...]" >&2; exit 2 ;;
	esac
	shift
done
cmake --build "$BUILD" -j2 --target dtprobe dax_workload || die "building dtprobe and dax_workload in $BUILD failed"
exec ctest --test-dir "$BUILD" "${SEL[@]}" --output-on-failure "$@"
