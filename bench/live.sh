#!/usr/bin/env bash
# daxtrace live figures in the lab, in one run: how much a DAX fault-heavy
# workload slows down with daxtrace attached, and the event rate daxtrace
# sustains (and drops) with all stress workloads at once.  Regenerates
# bench/LIVE.md.  usage: bench/live.sh [KERNEL] [FS] [SECONDS]
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
repo=$REPO_DIR
kernel=${1:-built} fs=${2:-ext4} secs=${3:-10}
build=$repo/build
out=
make_workdir out /var/tmp/daxtrace-live.XXXXXX
"$repo/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout 900 --out "$out" --quiet \
	--script "$repo/bench/live_guest.sh" -- "$build/analyzer/app/daxtrace" "$build/tests/workloads" "$secs"
eval "$(grep -E '^[a-z_]+=[0-9.]+$' "$out/output.log")"
# The figures below are the guest's key=value lines, set by the eval; a
# missing one stops the script (set -u).
# shellcheck disable=SC2154
ratio=$(python3 -c "print(round($fault_stores_traced / $fault_stores_untraced, 3))")
# shellcheck disable=SC2154
{
	echo "# daxtrace live figures"
	echo
	echo "Regenerate: \`bench/live.sh $kernel $fs $secs\` ($(date -u +%Y-%m-%d), one lab run: QEMU TCG, 2 vCPUs,"
	echo "$kernel kernel, $fs DAX; absolute rates are TCG rates, far below native — compare within the run)."
	echo
	echo "| what | value |"
	echo "|---|---|"
	echo "| zero_fault_race first-write stores in ${secs}s, untraced | $fault_stores_untraced |"
	echo "| ... with daxtrace attached | $fault_stores_traced |"
	echo "| throughput ratio traced/untraced | $ratio |"
	echo "| stress workloads one after another under daxtrace: events | $seq_events in ${seq_seconds}s |"
	echo "| ... events/s sustained | $seq_events_per_s |"
	echo "| ... events lost (ring buffer full) | $seq_lost |"
	echo "| overload, all three at once (8 threads on 2 vCPUs): events delivered | $rate_events in ${rate_seconds}s ($rate_events_per_s/s) |"
	echo "| ... events lost, counted and reported | $rate_lost |"
} >"$repo/bench/LIVE.md"
cat "$repo/bench/LIVE.md"
