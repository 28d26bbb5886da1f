#!/bin/bash
# Runs inside the lab: daxtrace live (JSON lines + a recorded trace) on the
# DAX filesystem at $LAB_MNT while the race workloads run, then Ctrl-C
# (SIGINT), then a replay of the recorded trace.  Leaves in $LAB_OUT:
#   daxtrace.jsonl  live output      trace.dxt      the recorded events
#   replay.jsonl    replay output    workloads.tap  the workloads' KTAP
# usage: daxtrace_races.sh DAXTRACE BINDIR [SECONDS]
set -uo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
daxtrace=${1:?usage: daxtrace_races.sh DAXTRACE BINDIR [SECONDS]}
bindir=${2:?}
secs=${3:-3}
out=$LAB_OUT

"$daxtrace" --json --interval 2 --force --record "$out/trace.dxt" --dev "$LAB_MNT" \
	--ringbuf-mb "$LAB_RINGBUF_MB" \
	>"$out/daxtrace.jsonl" 2>"$out/daxtrace.err" &
pid=$!
# Without the start line after 60 s the workloads run anyway: the judge
# then reports what daxtrace did see.
wait_for_line "$out/daxtrace.jsonl" '"type":"start"' $pid 60
[ $? = 1 ] && { echo "daxtrace exited early:"; cat "$out/daxtrace.err"; exit 1; }
echo "# daxtrace attached (pid $pid)"

for w in swap_boot_pinned swapext_pinned punch_pinned zero_fault_race wb_mkwrite_race fault_truncate_race; do
	echo "# ---- $w"
	"$bindir/$w" "$LAB_MNT" -s "$secs"
done >"$out/workloads.tap" 2>&1

kill -INT $pid
wait $pid
rc=$?
echo "# daxtrace exited $rc after SIGINT"
cat "$out/daxtrace.err"
[ $rc = 0 ] || exit 1
"$daxtrace" replay --json "$out/trace.dxt" >"$out/replay.jsonl" 2>"$out/replay.err" ||
	{ echo "replay failed:"; cat "$out/replay.err"; exit 1; }
"$daxtrace" replay "$out/trace.dxt" 2>&1 | tail -n 40
