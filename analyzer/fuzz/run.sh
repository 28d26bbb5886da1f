#!/bin/sh
# Build the trace-decoder fuzzer with clang (libFuzzer + ASan + UBSan) in
# its own build directory, seed a corpus with valid trace files, run it for
# the given number of seconds, print the number of executions.  Exits
# non-zero on any crash or sanitizer report.
#   analyzer/fuzz/run.sh 60
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${DAXTRACE_FUZZ_BUILD:-$root/build-fuzz}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -g -O1"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
	-DCMAKE_CXX_FLAGS="$san" -DCMAKE_C_FLAGS="$san" \
	-DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
	-DDAXTRACE_FUZZ=ON -DDAXTRACE_TESTS=OFF -DDAXTRACE_BENCH=OFF >"$build.cmake.log" 2>&1 ||
	{ cat "$build.cmake.log"; exit 1; }
cmake --build "$build" -j2 --target trace_decoder_fuzz trace_fuzz_seeds >"$build.build.log" 2>&1 ||
	{ tail -50 "$build.build.log"; exit 1; }

corpus="$build/corpus"
mkdir -p "$corpus"
"$build/analyzer/trace_fuzz_seeds" "$corpus"
cp "$here"/../tests/data/*.dxt "$corpus"/ 2>/dev/null || true # real lab traces

log="$build/fuzz.log"
set +e
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	"$build/analyzer/trace_decoder_fuzz" -max_total_time="$secs" -max_len=65536 \
	-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$build/" "$corpus" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
echo "fuzz: ${secs}s, ${execs:-0} executions, exit $rc (log: $log)"
if [ "$rc" -ne 0 ] || grep -q -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error:" "$log"; then
	grep -E -A20 "ERROR|runtime error" "$log" | head -60
	exit 1
fi
