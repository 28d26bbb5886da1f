#!/bin/bash
# Runs INSIDE the lab guest (ci/lab run ... -- bpf/tests/lab_probe_test.sh):
# attach the probes with dtprobe, run the Z/W/L workloads on the DAX mount,
# then assert the recorded event sequences (check_events.py, KTAP).
# Needs: $LAB_MNT (DAX mount), $LAB_OUT (results); BIN = the build's
# bpf/tests directory (default: the standalone bpf build).
set -u
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
BIN=${DT_BIN:-$REPO_DIR/build-bpf/bpfonly/tests}
OUT=${LAB_OUT:?}
MNT=${LAB_MNT:?}
HOLD_MS=${DT_HOLD_MS:-1000}

# DT_FORBID="fentry tp_btf" forces the fallbacks; DT_DISABLE="busy_scan"
# leaves hooks off (the checks must then find the coverage report saying so).
extra=()
for m in ${DT_FORBID:-}; do extra+=(--forbid "$m"); done
for h in ${DT_DISABLE:-}; do extra+=(--disable "$h"); done
[ "${DT_JOIN:-}" = off ] && extra+=(--no-join-faults)
uname -r > "$OUT/kernel-release"
# ci/lab reuses an --out directory: a ready file left by an earlier run
# would let the workloads start before the probes are attached, and the
# SIGINT below reach dtprobe before its handler is installed (it then
# never exits).
rm -f "$OUT/ready" "$OUT/events.jsonl" "$OUT/coverage.json" "$OUT/probe-stats.json" \
	"$OUT/ktap.txt" "$OUT/manifest.2"
"$BIN/dtprobe" "${extra[@]}" --mount "$MNT" --events "$OUT/events.jsonl" \
	--coverage "$OUT/coverage.json" --ready "$OUT/ready" \
	--stats "$OUT/probe-stats.json" 2> "$OUT/dtprobe.log" &
DT=$!
wait_until $DT 60 test -e "$OUT/ready"
case $? in
1) echo "dtprobe failed to attach:"; cat "$OUT/dtprobe.log"; exit 1 ;;
2) echo "dtprobe: no ready after 60 s"; exit 1 ;;
esac
grep '^dtprobe: class' "$OUT/dtprobe.log"

: > "$OUT/manifest"
run() {	# scenario file args...
	sc=$1; f=$2; shift 2
	"$BIN/dax_workload" "$sc" "$MNT/$f" "$@" | tee -a "$OUT/workload.log"
	echo "$sc $(stat -c %i "$MNT/$f") $*" >> "$OUT/manifest"
}
run hole-write zfile
run msync wfile 8
run pin-punch lpunch "$HOLD_MS"
run pin-truncate ltrunc "$HOLD_MS"
sleep 0.5
kill -INT $DT
wait $DT
tail -1 "$OUT/dtprobe.log"
# manifest lines carry the hold time only for the pin scenarios
awk '{ if ($1 ~ /^pin-/) print $1, $2, $3; else print $1, $2 }' "$OUT/manifest" > "$OUT/manifest.2"
python3 "$REPO_DIR/bpf/tests/check_events.py" --events "$OUT/events.jsonl" \
	--coverage "$OUT/coverage.json" --manifest "$OUT/manifest.2" \
	--stats "$OUT/probe-stats.json" | tee "$OUT/ktap.txt"
exit $(grep -c '^not ok' "$OUT/ktap.txt" | awk '{print ($1 > 0)}')
