#!/usr/bin/env bash
# daxtrace live figures in the lab, in one run, this tree ("new") beside a
# baseline commit ("old"): how much a DAX fault-heavy workload slows down
# with daxtrace attached, the fault and event rates daxtrace sustains, and
# what it drops under overload.  Regenerates bench/LIVE.md.
#   usage: bench/live.sh [KERNEL] [FS] [SECONDS] [ROUNDS]
# Environment:
#   DT_BUILD            this tree's build directory (default build)
#   LIVE_BASELINE       baseline commit (default 9d513da, before the ring
#                       and probe rework); LIVE_BASELINE= runs new only
#   LIVE_BASELINE_DIR   its git worktree (default build-live-baseline,
#                       ignored), built in LIVE_BASELINE_DIR/build
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
repo=$REPO_DIR
kernel=${1:-built} fs=${2:-ext4} secs=${3:-10} rounds=${4:-2}
build=${DT_BUILD:-$repo/build}
base=${LIVE_BASELINE-9d513da}
bdir=${LIVE_BASELINE_DIR:-$repo/build-live-baseline}

nice -n 10 cmake --build "$build" -j2 --target daxtrace zero_fault_race wb_mkwrite_race \
	fault_truncate_race >/dev/null
old=-
if [ -n "$base" ]; then
	sha=$(git -C "$repo" rev-parse --verify "$base^{commit}")
	[ -e "$bdir/.git" ] || git -C "$repo" worktree add --detach "$bdir" "$sha" >&2
	[ "$(git -C "$bdir" rev-parse HEAD)" = "$sha" ] || git -C "$bdir" checkout -q -f --detach "$sha"
	log "building the baseline daxtrace ($sha) in $bdir/build"
	[ -e "$bdir/build/CMakeCache.txt" ] ||
		cmake -S "$bdir" -B "$bdir/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	nice -n 10 cmake --build "$bdir/build" -j2 --target daxtrace >/dev/null
	old=$bdir/build/analyzer/app/daxtrace
fi
out=
make_workdir out /var/tmp/daxtrace-live.XXXXXX
load_before=$(cut -d' ' -f1 /proc/loadavg)
nice -n 10 "$repo/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout 1800 --out "$out" --quiet \
	--script "$repo/bench/live_guest.sh" -- "$build/analyzer/app/daxtrace" "$old" \
	"$build/tests/workloads" "$secs" "$rounds"
grep -E '^[a-z_0-9]+=[0-9.]+$' "$out/output.log" >"$out/figures"
python3 - "$out/figures" "$repo/bench/LIVE.md" "$kernel" "$fs" "$secs" "$rounds" "${base:0:7}" \
	"$load_before" <<'PY'
import sys, statistics, datetime
figs = dict(l.strip().split("=", 1) for l in open(sys.argv[1]))
md, kernel, fs, secs, rounds, base, load = sys.argv[2:9]
secs, rounds = int(secs), int(rounds)
who = [w for w in ("old", "new") if f"{w}_seq_events" in figs]
def med(prefix):
    v = [float(figs[f"{prefix}_{r}"]) for r in range(1, rounds + 1) if f"{prefix}_{r}" in figs]
    return statistics.median(v) if v else None
L = ["# daxtrace live figures", ""]
L.append(f"Regenerate: `bench/live.sh {kernel} {fs} {secs} {rounds}` ({datetime.date.today().isoformat()}, one lab run:")
L.append(f"QEMU TCG, 2 vCPUs, {kernel} kernel, {fs} DAX; host load average {load} when it started;")
L.append("absolute rates are TCG rates, far below native — compare within the run).")
L.append(f"\"old\" is daxtrace built from {base} (before the ring-buffer and probe")
L.append("rework), \"new\" this tree; both ran in the same boot, interleaved.\n")
bare = med("fault_bare")
L.append(f"Fault throughput: `zero_fault_race` first-write stores (one write fault each) in {secs} s, median of {rounds} rounds (order rotated):\n")
L.append("| | stores | per second | ratio to untraced | events per fault | daxtrace CPU s | faults per daxtrace CPU-second | events lost |")
L.append("|---|---|---|---|---|---|---|---|")
L.append(f"| untraced | {bare:.0f} | {bare / secs:.0f} | 1.00 | - | - | - | - |")
# Per round, so that each ratio pairs figures of one run.
def per_round(w, f):
    v = [f(r) for r in range(1, rounds + 1) if f"fault_{w}_cpu_{r}" in figs]
    return statistics.median(v) if v else None
def faults_per_cpu_s(w, r):
    return float(figs[f"fault_{w}_{r}"]) / max(float(figs[f"fault_{w}_cpu_{r}"]), 0.01)
capacity = {}
for w in who:
    v = med(f"fault_{w}")
    lost = sum(int(figs.get(f"fault_{w}_lost_{r}", 0)) for r in range(1, rounds + 1))
    epf = per_round(w, lambda r: float(figs[f"fault_{w}_events_{r}"]) / float(figs[f"fault_{w}_{r}"]))
    cpu = med(f"fault_{w}_cpu")
    capacity[w] = per_round(w, lambda r: faults_per_cpu_s(w, r))
    L.append(f"| daxtrace {w} | {v:.0f} | {v / secs:.0f} | {v / bare:.3f} | {epf:.2f} | {cpu:.2f} | "
             f"{capacity[w]:.0f} | {lost} |")
L.append("")
L.append("*daxtrace CPU s* is the user + system time of the daxtrace process from")
L.append("its attach to its end (draining the ring buffer, decoding, analysing,")
L.append("writing JSON; loading the probes is left out; the probes themselves run")
L.append("in the faulting tasks and are in the stores per second).  Faults per")
L.append("daxtrace CPU-second is the fault rate one core of daxtrace keeps up with")
L.append("on this workload: the ceiling of the rate it sustains without drops,")
L.append("which the workloads cannot reach on 2 TCG vCPUs (no run drops).")
if len(who) == 2:
    L.append(f"New/old: **{capacity['new'] / capacity['old']:.2f}x** the faults per")
    L.append("daxtrace CPU-second (median of the rounds).  Per round, old / new")
    L.append("(a CPU time is counted in 10 ms ticks, and the host is shared):")
    rows = []
    for r in range(1, rounds + 1):
        if all(f"fault_{w}_cpu_{r}" in figs for w in who):
            o, n = faults_per_cpu_s("old", r), faults_per_cpu_s("new", r)
            rows.append(f"{o:.0f} / {n:.0f} ({n / o:.2f}x)")
    L.append("; ".join(rows) + ".")
L.append("")
L.append("Sustained: the stress workloads one after another under daxtrace (one run each, old first):\n")
def per_cpu(w, phase):
    cpu = float(figs[f"{w}_{phase}_cpu"])
    return f"{cpu:.2f} | {int(figs[f'{w}_{phase}_events']) / max(cpu, 0.01):.0f}"
L.append("| | events | seconds | events/s | zero_fault_race faults/s | daxtrace CPU s | events per daxtrace CPU-second | events lost |")
L.append("|---|---|---|---|---|---|---|---|")
for w in who:
    L.append(f"| daxtrace {w} | {figs[w + '_seq_events']} | {figs[w + '_seq_seconds']} | "
             f"{figs[w + '_seq_events_per_s']} | {int(figs[w + '_seq_fault_stores']) / secs:.0f} | "
             f"{per_cpu(w, 'seq')} | {figs[w + '_seq_lost']} |")
L.append("")
L.append("Overload: all three at once (8 threads on 2 vCPUs), one run each, old first; drops are counted and reported:\n")
L.append("| | events delivered | seconds | events/s | zero_fault_race faults/s | daxtrace CPU s | events per daxtrace CPU-second | events lost |")
L.append("|---|---|---|---|---|---|---|---|")
for w in who:
    L.append(f"| daxtrace {w} | {figs[w + '_rate_events']} | {figs[w + '_rate_seconds']} | "
             f"{figs[w + '_rate_events_per_s']} | {int(figs[w + '_rate_fault_stores']) / secs:.0f} | "
             f"{per_cpu(w, 'rate')} | {figs[w + '_rate_lost']} |")
L.append("")
if not any(int(figs.get(w + k, 0)) for w in who for k in ("_seq_lost", "_rate_lost")):
    L.append("No run lost an event, the overload included: the rates above are what the")
    L.append("workloads produced under TCG, not the most daxtrace sustains without drops.\n")
open(md, "w").write("\n".join(L))
print("\n".join(L))
PY
