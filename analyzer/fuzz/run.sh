#!/bin/bash
# Build the trace-decoder fuzzer with clang (libFuzzer + ASan + UBSan) in
# its own build directory, seed a corpus with valid trace files, run it for
# the given number of seconds, print the executions and the coverage
# counters (analyzer/fuzz/README.md has the figures).  Exits
# non-zero on any crash or sanitizer report.
#   analyzer/fuzz/run.sh 60
set -eu
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
secs=${1:-60}
root=$REPO_DIR
build=${DAXTRACE_FUZZ_BUILD:-$root/build-fuzz}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -g -O1"

# DAXTRACE_FUZZ_REUSE=1: run the fuzzer already built in $build as it is
# (a long run beside other work that keeps changing the sources).
if [ "${DAXTRACE_FUZZ_REUSE:-0}" != 1 ] || [ ! -x "$build/analyzer/trace_decoder_fuzz" ]; then
run_logged "$build.cmake.log" "configuring the fuzzer build (clang, ASan, UBSan)" \
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
	-DCMAKE_CXX_FLAGS="$san" -DCMAKE_C_FLAGS="$san" \
	-DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
	-DDAXTRACE_FUZZ=ON -DDAXTRACE_TESTS=OFF -DDAXTRACE_BENCH=OFF
run_logged "$build.build.log" "building the fuzzer" \
	cmake --build "$build" -j2 --target trace_decoder_fuzz trace_fuzz_seeds
fi

corpus="$build/corpus"
mkdir -p "$corpus"
"$build/analyzer/trace_fuzz_seeds" "$corpus"
cp "$root"/analyzer/tests/data/*.dxt "$corpus"/ 2>/dev/null || true # real lab traces

# -timeout is wall-clock time per input: on a shared machine an input that
# needs 0.6 s of CPU took 5.6 s, so 10 s reported starvation as a hang.
log="$build/fuzz.log"
set +e
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	"$build/analyzer/trace_decoder_fuzz" -max_total_time="$secs" -max_len=65536 \
	-timeout="${DAXTRACE_FUZZ_TIMEOUT:-60}" -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$build/" "$corpus" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
# libFuzzer's coverage counters: "cov" edges (SanitizerCoverage
# inline 8-bit counters) and "ft" features, when the seed corpus was
# loaded (INITED) and at the end (DONE); "corp" is the corpus size.
cov() { grep -E "^#[0-9]+[[:space:]]+$1 " "$log" | tail -1 |
	sed -E 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 edges, \2 features, \3 inputs/'; }
echo "fuzz: ${secs}s, ${execs:-0} executions (${rate:-0}/s), exit $rc (log: $log)"
echo "fuzz: coverage at start: $(cov INITED); at end: $(cov DONE)"
if [ "$rc" -ne 0 ] || grep -q -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error:" "$log"; then
	grep -E -A20 "ERROR|runtime error" "$log" | head -60
	exit 1
fi
