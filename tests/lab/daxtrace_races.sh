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

daxtrace_live_start "$daxtrace" "$out/trace.dxt" "$out/daxtrace.jsonl" "$out/daxtrace.err" ||
	exit 1
echo "# daxtrace attached (pid $DAXTRACE_PID)"

for w in swap_boot_pinned swapext_pinned punch_pinned zero_fault_race wb_mkwrite_race fault_truncate_race; do
	echo "# ---- $w"
	"$bindir/$w" "$LAB_MNT" -s "$secs"
done >"$out/workloads.tap" 2>&1

daxtrace_live_stop "$daxtrace" "$out/daxtrace.err" "$out/trace.dxt" \
	"$out/replay.jsonl" "$out/replay.err" || exit 1
echo "# daxtrace exited 0 after SIGINT"
cat "$out/daxtrace.err"
"$daxtrace" replay "$out/trace.dxt" 2>&1 | tail -n 40
