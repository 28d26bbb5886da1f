#!/bin/sh
# Runs INSIDE the lab guest (ci/lab run ... -- bpf/tests/lab_probe_test.sh):
# attach the probes with dtprobe, run the Z/W/L workloads on the DAX mount,
# then assert the recorded event sequences (check_events.py, KTAP).
# Needs: $LAB_MNT (DAX mount), $LAB_OUT (results); BIN = the build's
# bpf/tests directory (default: the standalone bpf build).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${DT_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build-bpf/bpfonly/tests}
OUT=${LAB_OUT:?}
MNT=${LAB_MNT:?}
HOLD_MS=${DT_HOLD_MS:-1000}

# DT_FORBID="fentry tp_btf" forces the fallbacks; DT_DISABLE="busy_scan"
# leaves hooks off (the checks must then find the coverage report saying so).
EXTRA=""
for m in ${DT_FORBID:-}; do EXTRA="$EXTRA --forbid $m"; done
for h in ${DT_DISABLE:-}; do EXTRA="$EXTRA --disable $h"; done
uname -r > "$OUT/kernel-release"
# shellcheck disable=SC2086
"$BIN/dtprobe" $EXTRA --mount "$MNT" --events "$OUT/events.jsonl" \
	--coverage "$OUT/coverage.json" --ready "$OUT/ready" \
	--stats "$OUT/probe-stats.json" 2> "$OUT/dtprobe.log" &
DT=$!
i=0
while [ ! -e "$OUT/ready" ]; do
	if ! kill -0 $DT 2>/dev/null; then
		echo "dtprobe failed to attach:"; cat "$OUT/dtprobe.log"; exit 1
	fi
	i=$((i + 1)); [ $i -gt 600 ] && { echo "dtprobe: no ready after 60 s"; exit 1; }
	sleep 0.1
done
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
python3 "$HERE/check_events.py" --events "$OUT/events.jsonl" \
	--coverage "$OUT/coverage.json" --manifest "$OUT/manifest.2" \
	--stats "$OUT/probe-stats.json" | tee "$OUT/ktap.txt"
exit $(grep -c '^not ok' "$OUT/ktap.txt" | awk '{print ($1 > 0)}')
