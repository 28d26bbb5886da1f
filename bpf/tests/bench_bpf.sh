#!/usr/bin/env bash
# The probe-cost benchmark, regenerates bench/BPF.md: in one lab boot per
# kernel, the fault-heavy workload bare, under daxtrace's probes (this
# build and a baseline commit's), and under bpftrace (minimal script, and
# one capturing the fields daxtrace records); rounds interleaved.  See
# bpf/tests/lab_bench.sh for what one round measures.
#
#   bpf/tests/bench_bpf.sh [ROUNDS] [KERNEL...]     (default 3 stock built)
#
# Environment:
#   BPF_BASELINE      baseline commit (default 9d513da, before the ring
#                     and probe rework); BPF_BASELINE= skips it
#   BPF_BASELINE_DIR  its git worktree (default build-bpf-baseline, ignored)
#   BPF_BASELINE_BIN  bpf/tests directory of an existing baseline build
#                     (instead of building one)
#   BPF_PREV_BIN      bpf/tests directory of an earlier build of this tree
#                     (e.g. before the change being measured): its row
#                     "daxtrace, before" joins the same boot
#   BPF_PREV_LABEL    what that build is (default: its git commit)
#   DT_BUILD          this tree's build directory (default build-bpf-bench)
#   BENCH_SKIP_BUILD=1   use the binaries already in DT_BUILD
#   BENCH_REPORT_ONLY=1  rewrite bench/BPF.md from the last results
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
root=$REPO_DIR
rounds=${1:-3}
shift || true
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(stock built)
base=${BPF_BASELINE-9d513da}
bdir=${BPF_BASELINE_DIR:-$root/build-bpf-baseline}
build=${DT_BUILD:-$root/build-bpf-bench}
results=$build/bench-bpf

if [ "${BENCH_REPORT_ONLY:-}" != 1 ]; then
	# The guest runs the host's bpftrace: without it every round fails late.
	command -v bpftrace >/dev/null || die "bpftrace not found (apt-get install bpftrace)"
	if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
		log "building dtprobe and dax_workload in $build"
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
		nice -n 10 cmake --build "$build" -j2 --target dtprobe dax_workload >/dev/null
	fi
	# The ablations (bpf/tests/ablations/*.patch): this tree's bpf/ with one
	# cost taken out, each a row beside this tree's.  Built from a copy,
	# so that they also carry the working tree's uncommitted changes.
	abl_bins=""
	for patch in "$root"/bpf/tests/ablations/*.patch; do
		name=$(basename "$patch" .patch)
		adir=$build/ablation-$name
		"$root/bpf/tests/ablations/apply.sh" "$patch" "$adir" || die "ablation $name: see above"
		if [ "${BENCH_SKIP_BUILD:-}" != 1 ] || [ ! -x "$adir/build/tests/dtprobe" ]; then
			log "building the ablation $name in $adir"
			cmake -S "$adir/bpf" -B "$adir/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
			nice -n 10 cmake --build "$adir/build" -j2 --target dtprobe >/dev/null
		fi
		abl_bins="$abl_bins $name=$adir/build/tests"
	done
	old_bin=${BPF_BASELINE_BIN:-}
	if [ -n "$old_bin" ]; then
		git -C "$(dirname "$old_bin")" rev-parse HEAD >"$build/bench-bpf-baseline"
	elif [ -n "$base" ]; then
		sha=$(git -C "$root" rev-parse --verify "$base^{commit}")
		[ -e "$bdir/.git" ] || git -C "$root" worktree add --detach "$bdir" "$sha" >&2
		git -C "$bdir" checkout -q -f --detach "$sha"
		log "building the baseline probes ($sha) in $bdir/build-bpfonly"
		cmake -S "$bdir/bpf" -B "$bdir/build-bpfonly" -DCMAKE_BUILD_TYPE=Release >/dev/null
		nice -n 10 cmake --build "$bdir/build-bpfonly" -j2 --target dtprobe >/dev/null
		old_bin=$bdir/build-bpfonly/tests
		echo "$sha" >"$build/bench-bpf-baseline"
	fi
	if [ -n "${BPF_PREV_BIN:-}" ]; then
		echo "${BPF_PREV_LABEL:-$(git -C "$(dirname "$BPF_PREV_BIN")" rev-parse --short HEAD)}" >"$build/bench-bpf-prev"
	else
		rm -f "$build/bench-bpf-prev"
	fi
	mkdir -p "$results"
	for k in "${kernels[@]}"; do
		rm -rf "${results:?}/$k"
		log "lab: $k ext4, $rounds rounds"
		cut -d' ' -f1 /proc/loadavg >"$results/$k.load"
		nice -n 10 "$root/ci/lab" run --kernel "$k" --fs ext4 --timeout 3600 \
			--out "$results/$k" --quiet -- env DT_NEW_BIN="$build/bpf/tests" \
			DT_OLD_BIN="$old_bin" DT_PREV_BIN="${BPF_PREV_BIN:-}" DT_ABLATION_BINS="$abl_bins" \
			DT_BENCH_ROUNDS="$rounds" \
			"$root/bpf/tests/lab_bench.sh"
	done
fi

sha=$(cat "$build/bench-bpf-baseline" 2>/dev/null || echo none)
prev=$(cat "$build/bench-bpf-prev" 2>/dev/null || echo none)
python3 - "$results" "$root/bench/BPF.md" "$rounds" "${sha:0:7}" "$prev" "${kernels[@]}" <<'PY'
import json, os, sys, datetime
results, md, rounds, base, prev = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
kernels = sys.argv[6:]
names = {"bare": "no probes", "dt-old": f"daxtrace, baseline {base}",
         "dt-prev": f"daxtrace, before ({prev})",
         "dt-new": "daxtrace, this tree",
         "dt-unjoined": "daxtrace, this tree, --no-join-faults",
         "dt-empty": "daxtrace's hooks, programs empty",
         "bt-min": "bpftrace, minimal script",
         "bt-full": "bpftrace, daxtrace's fields"}
# The ablations (bpf/tests/ablations/NAME.patch, row dt-ab-NAME): the
# row's name, what it takes out, and the programs whose code it changes
# (those that add a part to a held fault or end it).
ABLATIONS = {
    "dt-ab-fault-clocks": ("ablation: a joined fault's parts and end not clocked",
                           "the clock reads of a joined fault's parts and end",
                           ("btf_dax_pte_fault_done", "btf_iomap_iter_dstmap",
                            "fe_blkdev_issue_zeroout", "btf_ext4_alloc_zeroout",
                            "btf_dax_entry_mkdirty")),
    "dt-ab-fault-record": ("ablation: a joined fault's record not sent",
                           "putting a joined fault's record into the ring (reserve, "
                           "272-byte copy, submit)", ("btf_dax_pte_fault_done",)),
}
names.update({c: a[0] for c, a in ABLATIONS.items()})
# The rows in table order; every one but the bare run has probes.  An
# ablation not named above (a new patch) is added before bpftrace's.
ROWS = ["bare", "dt-old", "dt-prev", "dt-new", "dt-unjoined", "dt-empty",
        *ABLATIONS, "bt-min", "bt-full"]
# Program runs per fault: every program's run_cnt over all the rounds'
# faults (the statistics pass of each run).
def runs_per_fault(r, v):
    faults = len(v["bpf_runs"]) * r["faults_per_run"]
    return sum(p["run_cnt"] for p in v["programs"].values()) / faults if faults else 0
L = []
L.append("# BPF probe cost\n")
L.append("Regenerate (the whole table comes from one lab boot per kernel; QEMU TCG,")
L.append("2 vCPUs, on a host shared with other jobs, so compare within a kernel's")
L.append("rows, not across runs):\n")
L.append(f"    bpf/tests/bench_bpf.sh {rounds} {' '.join(kernels)}\n")
loads = []
for k in kernels:
    f = os.path.join(results, f"{k}.load")
    if os.path.exists(f):
        loads.append(f"{k} {open(f).read().strip()}")
load_note = f" Host load average when each kernel's boot started: {', '.join(loads)}." if loads else ""
L.append(f"({datetime.date.today().isoformat()}.{load_note})  The workload (`dax_workload fault-bench`) truncates a")
L.append("256-page file on ext4 DAX and write-faults every page, 40 times per run")
L.append("(10,240 allocating faults).  Per configuration: median of the rounds,")
L.append("run in rotated order; each run is two passes of the workload under the")
L.append("same probes.  The first runs as in production, `kernel.bpf_stats_enabled`")
L.append("off: its *ns per fault* give the *slowdown*.  The second runs with it on:")
L.append("*BPF run time* is the sum of run_time_ns of all the configuration's")
L.append("programs per fault of that pass, and *slowdown, stats on* its ns per fault")
L.append("against the bare run's second pass (the statistics add two clock reads")
L.append("and a counter update to every program run).  The run time leaves out")
L.append("what the kernel spends around the programs (trampolines, tracepoint")
L.append("argument copies, perf-buffer and ring-buffer wake-ups, interrupts),")
L.append("which the slowdown includes.  *program runs per fault* counts the runs")
L.append("of all the configuration's programs (whatever the hook) per fault.")
L.append("*irq/fault* is the interrupts taken during")
L.append("the first pass beyond the bare run's (all `/proc/interrupts` lines).")
L.append("The bpftrace scripts are `bpf/tests/bench_bpftrace.bt` (a few integers")
L.append("per event, no filter) and `bpf/tests/bench_bpftrace_full.bt` (time stamp,")
L.append("tid, comm, dev, ino, pgoff and result per event, filtered to the DAX")
L.append("device like `daxtrace --mount`, on the same hooks).\n")
L.append(f"What changed between the baseline ({base}) and this tree (bpf/README.md,")
L.append("\"What a probe costs\"): compact records reserved in place instead of")
L.append("112-byte events built on the stack and copied; pid and comm once per task;")
L.append("ENTER/EXIT brackets in task-local storage instead of hash maps; one")
L.append("wake-up per 512 KiB per CPU (all CPUs' together at most a quarter of the")
L.append("ring) instead of one per event once 64 KiB wait; no")
L.append("bpf_ringbuf_query, no per-CPU map lookup per event; no ext4_dax_fault")
L.append("trampoline (the fault tracepoints carry FAULT_FLAG_MKWRITE); a zeroing")
L.append("is reported once, by the first hook it passes (the allocator's tracepoint")
L.append("on the patched kernel, else blkdev_issue_zeroout or xfs_zero_extent), not")
L.append("again by the hooks below it, and ext4_issue_zeroout is not hooked at all")
L.append("(it zeroes through blkdev_issue_zeroout, whose zeroing joins the fault's")
L.append("record by device);")
L.append("typed programs (tp_btf, fentry, fexit) read the inode, mapping, page and")
L.append("vmf they are given with direct loads, not bpf_probe_read_kernel; an")
L.append("idle page's teardown is one deletion, its disassociation folded unless")
L.append("the page is still pinned, and a removal's deletions go up to 16 in one")
L.append("record; a PTE fault that runs without a")
L.append("task switch sent as one record (ENTER, zeroing, iomap, on the patched")
L.append("kernel the tagging of the entry dirty, and EXIT joined, the parts without")
L.append("an admission of their own; the sched_switch program that sends what a")
L.append("switched-out task holds, counted here, runs on every context switch).")
L.append("*--no-join-faults* sends every part as it happens and every deletion")
L.append("on its own, as before.  *daxtrace's hooks, programs empty* attaches this")
L.append("tree's programs to the same hooks, each returning at once (`dtprobe")
L.append("--empty-programs`): its BPF run time is what the hooks cost before a")
L.append("program does anything (the trampoline's or tracepoint's entry into the")
L.append("program and, with the statistics on, their clock reads), the floor under")
L.append("this tree's figure for as long as it needs these hooks.  The *ablation*")
L.append("rows are this tree's bpf/ with one cost taken out by a patch")
L.append("(`bpf/tests/ablations/`, never shipped: each loses or falsifies")
L.append("evidence): *a joined fault's parts and end not clocked* stamps them with")
L.append("the fault's start time instead of reading the clock; *a joined fault's")
L.append("record not sent* frees the fault's slot at its end without putting the")
L.append("record into the ring.  Their difference to this tree's row is what that")
L.append("cost is; below each table it is taken program by program, at each")
L.append("program's best round, as the totals scatter by more.\n")
for k in kernels:
    p = os.path.join(results, k, "bench.json")
    if not os.path.exists(p):
        L.append(f"## {k}: no result ({p} missing)\n")
        continue
    r = json.load(open(p))
    for c in r["configs"]:
        if c not in ROWS:
            ROWS.insert(ROWS.index("bt-min"), c)
            names[c] = f"ablation {c[len('dt-ab-'):]}"
    PROBED = ROWS[1:]
    L.append(f"## {k} kernel ({r['kernel']}), ext4, {r['rounds']} rounds\n")
    L.append("| | ns per fault | slowdown | slowdown, stats on | BPF run time per fault | program runs per fault | events per fault | faults sent as one record | irq/fault | drops |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for c in ROWS:
        v = r["configs"].get(c)
        if not v:
            continue
        bpf = f"{v['bpf_ns_per_fault'] / 1000:.1f} us" if c != "bare" else "-"
        ev = f"{v['events_per_fault']:.2f}" if c != "bare" else "-"
        irq = f"{v['irqs_added_per_fault']:.3f}" if c != "bare" else "-"
        dr = str(v["dropped"]) if c != "bare" else "-"
        jn = f"{v.get('joined_per_fault', 0):.2f}" if c.startswith("dt-") else "-"
        st = f"{v['slowdown_stats']:.2f}x" if "slowdown_stats" in v else "-"
        rn = f"{runs_per_fault(r, v):.2f}" if c != "bare" else "-"
        L.append(f"| {names[c]} | {v['ns_per_fault']:,.0f} | {v['slowdown']:.2f}x | {st} | {bpf} | {rn} | {ev} | {jn} | {irq} | {dr} |")
    L.append("")
    L.append("ns per fault of every run, in us, first pass / second pass (the spread")
    L.append("is the shared host's): " + "; ".join(
        f"{names[c]} " + ", ".join(f"{a / 1000:.1f}/{b / 1000:.1f}"
                                   for a, b in zip(v["runs"], v.get("runs_stats", [])))
        for c, v in r["configs"].items()) + ".\n")
    # Host preemption of a vCPU inside a program lands in its run_time_ns
    # (the host runs other jobs' QEMUs and builds): a low estimate takes
    # each program's lowest mean cost per run over the rounds.
    low, runs_us, best_of = {}, {}, {}
    for c in PROBED:
        if c not in r["configs"]:
            continue
        best = {}
        totals = []
        # every run made, also of a round the lab's timeout cut short
        for rr in range(1, 100):
            per = {}
            if c.startswith("dt-"):
                f = os.path.join(results, k, f"stats-{c}-{rr}.json")
            else:
                f = os.path.join(results, k, f"progs-{c}-{rr}.json")
            if not os.path.exists(f):
                break
            if c.startswith("dt-"):
                items = [(x["prog"], x["run_cnt"], x["run_time_ns"]) for x in json.load(open(f))["programs"]]
            else:
                items = [(x.get("name", ""), x.get("run_cnt", 0), x.get("run_time_ns", 0))
                         for x in json.load(open(f)) if x.get("run_cnt")]
            for n, cnt, t in items:
                a = per.setdefault(n, [0, 0])
                a[0] += cnt; a[1] += t
            totals.append(per)
            for n, (cnt, t) in per.items():
                if cnt:
                    b = best.setdefault(n, [cnt, t / cnt])
                    b[0] = cnt
                    b[1] = min(b[1], t / cnt)
        low[c] = sum(cnt * ns for cnt, ns in best.values()) / r["faults_per_run"]
        best_of[c] = best
        runs_us[c] = [sum(x[1] for x in tot.values()) / r["faults_per_run"] / 1000
                      for tot in totals]
    if runs_us:
        L.append("BPF run time per fault of every run made, in us (run order within a round")
        L.append("rotates): " + "; ".join(f"{names[c]} " + ", ".join(f"{x:.1f}" for x in v)
                                          for c, v in runs_us.items()) + ".\n")
    if low:
        L.append("Low estimate of the BPF run time per fault (each program at its lowest mean")
        L.append("cost per run over the rounds, times its runs per fault): " +
                 ", ".join(f"{names[c]} {v / 1000:.1f} us" for c, v in low.items()) + ".")
        if "dt-new" in low:
            parts = [f"{low['dt-new'] / low[c]:.2f} of {names[c]}"
                     for c in ("dt-old", "dt-prev", "bt-full", "bt-min") if low.get(c)]
            if parts:
                L.append("This tree's low estimate is " + ", ".join(parts) + ".")
        L.append("")
    cf = r["configs"]
    if "dt-new" in cf:
        new = cf["dt-new"]["bpf_ns_per_fault"]
        parts = []
        if "dt-old" in cf and cf["dt-old"]["bpf_ns_per_fault"]:
            parts.append(f"this tree / baseline = {new / cf['dt-old']['bpf_ns_per_fault']:.2f}")
        if "dt-prev" in cf and cf["dt-prev"]["bpf_ns_per_fault"]:
            parts.append(f"this tree / before = {new / cf['dt-prev']['bpf_ns_per_fault']:.2f}")
        if "bt-full" in cf and cf["bt-full"]["bpf_ns_per_fault"]:
            parts.append(f"this tree / bpftrace with daxtrace's fields = {new / cf['bt-full']['bpf_ns_per_fault']:.2f}")
        if "bt-min" in cf and cf["bt-min"]["bpf_ns_per_fault"]:
            parts.append(f"this tree / minimal bpftrace = {new / cf['bt-min']['bpf_ns_per_fault']:.2f}")
        if "dt-unjoined" in cf and cf.get("dt-old", {}).get("bpf_ns_per_fault"):
            parts.append(f"--no-join-faults / baseline = "
                         f"{cf['dt-unjoined']['bpf_ns_per_fault'] / cf['dt-old']['bpf_ns_per_fault']:.2f}")
        if "dt-empty" in cf and cf.get("dt-old", {}).get("bpf_ns_per_fault"):
            empty = cf["dt-empty"]["bpf_ns_per_fault"]
            parts.append(f"the hooks alone (programs empty) / baseline = "
                         f"{empty / cf['dt-old']['bpf_ns_per_fault']:.2f}, and this tree's work "
                         f"beyond them {(new - empty) / 1000:.1f} us per fault")
        if parts:
            L.append("BPF run time per fault: " + "; ".join(parts) + ".")
        # The ablations per program, at each program's best round (the
        # low estimate's figures: whole configurations' totals scatter by
        # more than an ablation takes out).
        abl = [c for c in ABLATIONS if c in best_of]
        if abl and "dt-new" in best_of:
            cols = ["dt-new"] + [c for c in ["dt-empty"] + abl if c in best_of]
            fr = r["faults_per_run"]
            L.append("\nPer program, ns per run at its best round, for the programs this tree "
                     "runs at least once per fault:\n")
            L.append("| program | runs per fault | " + " | ".join(names[c] for c in cols) + " |")
            L.append("|---|---|" + "---|" * len(cols))
            for prog, (cnt, _) in sorted(best_of["dt-new"].items()):
                if cnt / fr >= 0.9:
                    L.append(f"| {prog} | {cnt / fr:.2f} | " + " | ".join(
                        f"{best_of[c][prog][1]:.0f}" if prog in best_of[c] else "-" for c in cols) + " |")
            took = []
            for c in abl:
                changed = [p for p in ABLATIONS[c][2] if p in best_of["dt-new"] and p in best_of[c]]
                d = sum(best_of["dt-new"][p][0] * (best_of["dt-new"][p][1] - best_of[c][p][1])
                        for p in changed) / fr
                took.append(f"{ABLATIONS[c][1]}, {d / 1000:.2f} us ({', '.join(changed)})")
            L.append("\nWhat each ablation takes out per fault, summed over the programs it "
                     "changes: " + "; ".join(took) + ".")
        L.append("")
    L.append("<details><summary>per program (ns per run x runs, all rounds)</summary>\n")
    for c in PROBED:
        v = r["configs"].get(c)
        if not v:
            continue
        L.append(f"{names[c]}:\n")
        for name, pr in v["programs"].items():
            L.append(f"    {name:40s} {pr['ns_per_run']:9.0f} ns x {pr['run_cnt']}")
        L.append("")
    L.append("</details>\n")
open(md, "w").write("\n".join(L))
print("\n".join(L))
PY
