#!/bin/sh
# Host side: run the probe event-sequence tests in the lab across kernels,
# filesystems and forced fallbacks.  Needs the bpf build (default
# build-bpf/bpfonly: cmake -S bpf -B build-bpf/bpfonly && cmake --build ...).
#
#   bpf/tests/run_lab_tests.sh [--quick] [--out DIR]
#
# Each case's results (events.jsonl, coverage.json, ktap.txt, dmesg) land in
# DIR/<case>/.  Exit status: number of failed cases.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/build-bpf/lab-tests
QUICK=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	*) echo "usage: $0 [--quick] [--out DIR]"; exit 2 ;;
	esac
	shift
done
mkdir -p "$OUT"
fails=0
summary=""
# case: name kernel fs forbid disable
run_case() {
	name=$1; kernel=$2; fs=$3; forbid=$4; disable=$5
	rm -rf "${OUT:?}/$name"
	"$REPO/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout 600 --out "$OUT/$name" \
		-- env DT_FORBID="$forbid" DT_DISABLE="$disable" \
		"$REPO/bpf/tests/lab_probe_test.sh" > "$OUT/$name.log" 2>&1
	rc=$?
	res=$(grep '^# .* passed' "$OUT/$name/ktap.txt" 2>/dev/null || echo "# no KTAP result")
	[ $rc -ne 0 ] && fails=$((fails + 1))
	line="$name (kernel=$kernel fs=$fs forbid='$forbid' disable='$disable'): rc=$rc $res"
	echo "$line"
	summary="$summary$line
"
}
run_case stock-ext4 stock ext4 "" ""
run_case stock-xfs stock xfs "" ""
run_case built-ext4 built ext4 "" ""
if [ $QUICK -eq 0 ]; then
	run_case built-xfs built xfs "" ""
	run_case stock-ext4-rawtp-kprobe stock ext4 "tp_btf fentry" ""
	run_case stock-xfs-fentry-only stock xfs "tp_btf raw_tp" ""
	run_case stock-ext4-kprobe-only stock ext4 "tp_btf raw_tp fentry" ""
	run_case stock-ext4-no-busy-scan stock ext4 "" "busy_scan"
fi
# drops are counted and reported (one-page ring buffer)
rm -rf "${OUT:?}/drops"
"$REPO/ci/lab" run --kernel stock --fs ext4 --timeout 600 --out "$OUT/drops" \
	-- "$REPO/bpf/tests/lab_drop_test.sh" > "$OUT/drops.log" 2>&1
rc=$?
[ $rc -ne 0 ] && fails=$((fails + 1))
line="drops (kernel=stock fs=ext4): rc=$rc $(grep -c '^ok' "$OUT/drops.log") ok, $(grep -c '^not ok' "$OUT/drops.log") not ok"
echo "$line"
summary="$summary$line
"
printf '%s' "$summary" > "$OUT/summary.txt"
echo "failed cases: $fails"
exit $fails
