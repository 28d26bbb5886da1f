#!/bin/bash
# Runs inside the lab (bench/soak.sh): live daxtrace with --record on the
# DAX filesystem at $LAB_MNT for SECONDS while the race workloads run one
# after another in a loop; daxtrace's RSS (VmRSS, and VmHWM for the peak)
# is sampled every 5 s into $LAB_OUT/rss.tsv.  Then SIGINT.  Leaves in
# $LAB_OUT: soak.jsonl (live output), soak.err, soak.dxt (the recording),
# rss.tsv, workloads.log; prints "key=value" lines.
# usage: soak_guest.sh DAXTRACE BINDIR SECONDS
set -uo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
dt=${1:?usage: soak_guest.sh DAXTRACE BINDIR SECONDS}
bindir=${2:?}
secs=${3:?}
out=$LAB_OUT

"$dt" --json --interval 10 --force --record "$out/soak.dxt" --dev "$LAB_MNT" \
	>"$out/soak.jsonl" 2>"$out/soak.err" &
pid=$!
wait_for_line "$out/soak.jsonl" '"type":"start"' $pid 120 || {
	echo "daxtrace did not start:"
	cat "$out/soak.err"
	exit 1
}
rss() {	# FIELD: daxtrace's /proc status field in kB
	sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"
}
t0=$SECONDS
printf 't_s\trss_kb\thwm_kb\n' >"$out/rss.tsv"
sample() { printf '%s\t%s\t%s\n' $((SECONDS - t0)) "$(rss VmRSS)" "$(rss VmHWM)" >>"$out/rss.tsv"; }
sample
echo "rss_start_kb=$(rss VmRSS)"
(
	while kill -0 $pid 2>/dev/null; do
		sleep 5
		sample 2>/dev/null
	done
) &
sampler=$!

# The mix: every race class, the L workloads with their pins, the W2
# fsync rounds.  Each is short so that the loop cycles many times.
mix=(
	"zero_fault_race -s 5"
	"wb_mkwrite_race -s 5"
	"fault_truncate_race -s 5"
	"punch_pinned -s 3"
	"swap_boot_pinned -s 2"
	"fsync_locked_skip -n 20"
	"locked_entry_pin -s 2"
	"unmapped_pin_truncate -s 2"
	"evict_pinned"
)
loops=0 runs=0
while [ $((SECONDS - t0)) -lt "$secs" ]; do
	for w in "${mix[@]}"; do
		[ $((SECONDS - t0)) -lt "$secs" ] || break
		read -r name args <<<"$w"
		echo "# ---- $name $args (t=$((SECONDS - t0))s)"
		# shellcheck disable=SC2086
		"$bindir/$name" "$LAB_MNT" $args
		echo "# $name exit $?"
		runs=$((runs + 1))
		rm -rf "${LAB_MNT:?}"/* 2>/dev/null
	done
	loops=$((loops + 1))
done >"$out/workloads.log" 2>&1
sample
echo "rss_end_kb=$(rss VmRSS)"
echo "rss_peak_kb=$(rss VmHWM)"
echo "loops=$loops"
echo "workload_runs=$runs"
echo "run_seconds=$((SECONDS - t0))"
kill -INT $pid
wait $pid
echo "daxtrace_exit=$?"
kill $sampler 2>/dev/null
wait $sampler 2>/dev/null
sed 's/^/# /' "$out/soak.err"
