#!/usr/bin/env bash
# README command 1, the main job: on a fresh machine, install what is
# needed, build daxtrace, the race workloads and the patched lab kernel,
# then in the emulated-pmem lab run the workloads under live daxtrace on
# ext4 and xfs, on Debian's stock 6.1 and on linux-source-6.1 + patches/.
# Prints the findings and near-miss histograms; leaves the recorded traces
# and JSON lines in out/demo/<kernel>-<fs>/.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1:-} in
-h|--help) echo "usage: ci/demo.sh   (results in out/demo/<kernel>-<fs>/)"; exit 0 ;;
esac
out=$REPO_DIR/out/demo
build=$REPO_DIR/build
mkdir -p "$out" "$build"

"$CI_DIR/install-deps.sh"
run_logged "$build/cmake.log" "configuring (cmake)" \
	cmake -S "$REPO_DIR" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_logged "$build/build.log" "building daxtrace and the workloads" \
	cmake --build "$build" -j"$(nproc)" --target daxtrace zero_fault_race wb_mkwrite_race \
	fault_truncate_race swap_boot_pinned swapext_pinned punch_pinned
"$CI_DIR/stock-kernel.sh" >/dev/null
"$CI_DIR/build-kernel.sh" >/dev/null

summary=()
for kernel in stock built; do
	for fs in ext4 xfs; do
		dir=$out/$kernel-$fs
		log "== $kernel kernel, $fs: race workloads under daxtrace"
		verdict=ok
		"$REPO_DIR/tests/lab/daxtrace_lab_test.sh" "$kernel" "$fs" "$build" "$dir" \
			>"$dir.verdict" 2>&1 || verdict="UNEXPECTED (see $dir.verdict)"
		grep -v '^ok\|^K\?TAP\|^1\.\.' "$dir.verdict" | grep -v '^# finding' || true
		rules=$(python3 -c "import json,sys
s=[json.loads(l) for l in open('$dir/daxtrace.jsonl') if '\"summary\"' in l][-1]
nm={c: h['total']['count'] for c, h in s['near_misses'].items()}
print(f\"{s['events']} events, {s['lost']} lost, findings {s['findings_by_rule'] or 'none'}, near misses {nm}\")" \
			2>/dev/null || echo "no summary")
		summary+=("$kernel/$fs: $rules — expectations: $verdict")
	done
done
printf '\n== daxtrace demo: summary (details and traces in %s) ==\n' "$out"
printf '%s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q UNEXPECTED
