#!/bin/bash
# Runs inside the lab (bench/live.sh): the fault-heavy workload
# zero_fault_race without daxtrace, then with daxtrace attached, same
# duration; then all stress workloads at once under daxtrace to see the
# sustained event rate and drops.  Prints "key=value" lines.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
dt=$1 bindir=$2 secs=${3:-10}
stores() { sed -n 's/.* \([0-9]*\) concurrent first-write stores.*/\1/p'; }
# summarise JSONL T0 T1 PREFIX: PREFIX_events/_lost/_seconds/_events_per_s
summarise() {
	python3 - "$@" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
secs = float(sys.argv[3]) - float(sys.argv[2])
p = sys.argv[4]
print(f"{p}_events={s['events']}")
print(f"{p}_lost={s['lost']}")
print(f"{p}_seconds={secs:.1f}")
print(f"{p}_events_per_s={s['events'] / secs:.0f}")
PY
}
# attached JSONL PID: daxtrace (PID) has printed its start line.
attached() {
	wait_for_line "$1" '"type":"start"' "$2" 120 || die "daxtrace did not start (see $1)"
}

base=$("$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" | stores)
"$dt" --json --duration $((secs + 30)) >"$LAB_OUT/bench-fault.jsonl" 2>/dev/null &
pid=$!
attached "$LAB_OUT/bench-fault.jsonl" $pid
traced=$("$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" | stores)
kill -INT $pid; wait $pid
echo "fault_stores_untraced=$base"
echo "fault_stores_traced=$traced"

# Sustained: the stress workloads one after another (one at a time keeps
# a CPU for daxtrace's consumer).
"$dt" --json --duration $((3 * secs + 30)) >"$LAB_OUT/bench-seq.jsonl" 2>/dev/null &
pid=$!
attached "$LAB_OUT/bench-seq.jsonl" $pid
t0=$(date +%s.%N)
for w in zero_fault_race wb_mkwrite_race fault_truncate_race; do
	"$bindir/$w" "$LAB_MNT" -s "$secs" >/dev/null
done
t1=$(date +%s.%N)
kill -INT $pid; wait $pid
summarise "$LAB_OUT/bench-seq.jsonl" "$t0" "$t1" seq

# Overload: all three at once (8 threads on 2 vCPUs starve the consumer).
"$dt" --json --duration $((secs + 30)) >"$LAB_OUT/bench-rate.jsonl" 2>/dev/null &
pid=$!
attached "$LAB_OUT/bench-rate.jsonl" $pid
t0=$(date +%s.%N)
"$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" >/dev/null &
"$bindir/wb_mkwrite_race" "$LAB_MNT" -s "$secs" >/dev/null &
"$bindir/fault_truncate_race" "$LAB_MNT" -s "$secs" >/dev/null &
wait %2 %3 %4
t1=$(date +%s.%N)
kill -INT $pid; wait $pid
summarise "$LAB_OUT/bench-rate.jsonl" "$t0" "$t1" rate
