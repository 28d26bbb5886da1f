#!/bin/bash
# Runs INSIDE the lab guest (bpf/tests/bench_bpf.sh drives it): the cost of
# the probes on a DAX fault-heavy workload (dax_workload fault-bench:
# truncate a file, then write-fault every page, ITERS times), run
#   bare                no probes
#   dt-old / dt-new     dtprobe of a baseline build and of this build
#                       (binary consumer, the analyzer's path)
#   dt-prev             dtprobe of an earlier build of this tree, to put a
#                       change's before and after in one boot (optional)
#   dt-empty            this build's programs on the same hooks, each
#                       returning at once (dtprobe --empty-programs): what
#                       the hooks cost before the programs do anything
#   dt-ab-NAME          this build's bpf/ with the ablation NAME applied
#                       (bpf/tests/ablations/NAME.patch): one cost taken out
#   bt-min              bpftrace, bench_bpftrace.bt (a few integers per
#                       event, no filter)
#   bt-full             bpftrace, bench_bpftrace_full.bt (time stamp, tid,
#                       comm, dev, ino, pgoff, result per event, filtered
#                       to the DAX device, as daxtrace records)
# ROUNDS times each, the order rotated every round so that noise from the
# shared host hits all alike.  Each run is two passes of the workload under
# the same probes: the first as in production, with kernel.bpf_stats_enabled
# off (ns per fault, hence the slowdown, and interrupts taken:
# /proc/interrupts, all lines, all CPUs); the second with it on, for the BPF
# run time of every program (the statistics add two clock reads and a
# counter update to every program run, which the first pass leaves out).
# Events delivered and drops count both passes.  Results: $LAB_OUT/bench.json.
# DT_NEW_BIN / DT_OLD_BIN / DT_PREV_BIN: bpf/tests directories of the
# builds (DT_OLD_BIN or DT_PREV_BIN empty: no dt-old, no dt-prev);
# DT_ABLATION_BINS: "NAME=DIR ..." of the ablations' builds.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
HERE=$REPO_DIR/bpf/tests
NEW=${DT_NEW_BIN:?}
OLD=${DT_OLD_BIN:-}
PREV=${DT_PREV_BIN:-}
OUT=${LAB_OUT:?}
MNT=${LAB_MNT:?}
PAGES=${DT_BENCH_PAGES:-256}
ITERS=${DT_BENCH_ITERS:-40}
ROUNDS=${DT_BENCH_ROUNDS:-3}

# sb->s_dev of the DAX file system, kernel encoding (major << 20 | minor)
DEV=$(python3 -c 'import os,sys; d=os.stat(sys.argv[1]).st_dev; print((os.major(d) << 20) | os.minor(d))' "$MNT")
irqs() { awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i } END { print s + 0 }' /proc/interrupts; }
# bench LABEL ROUND: one run, its two passes (statistics off, then on),
# with interrupts counted around the first
bench() {
	local i0 i1
	sysctl -q -w kernel.bpf_stats_enabled=0
	i0=$(irqs)
	"$NEW/dax_workload" fault-bench "$MNT/bench" "$PAGES" "$ITERS" > "$OUT/run-$1-$2.json"
	i1=$(irqs)
	echo $((i1 - i0)) > "$OUT/irq-$1-$2"
	sysctl -q -w kernel.bpf_stats_enabled=1
	"$NEW/dax_workload" fault-bench "$MNT/bench" "$PAGES" "$ITERS" > "$OUT/run-stats-$1-$2.json"
	sysctl -q -w kernel.bpf_stats_enabled=0
}
run_dt() {	# LABEL ROUND BINDIR [DTPROBE OPTION...]
	rm -f "$OUT/dt.ready"
	"$3/dtprobe" --mount "$MNT" --events /dev/null --ready "$OUT/dt.ready" \
		--format none --stats "$OUT/stats-$1-$2.json" --quiet "${@:4}" &
	local pid=$!
	wait_until $pid 120 test -s "$OUT/dt.ready" || { echo "dtprobe did not get ready ($OUT/dt.ready)"; exit 1; }
	bench "$1" "$2"
	kill -INT $pid; wait $pid
}
run_bt() {	# LABEL ROUND SCRIPT
	: > "$OUT/bt.out"
	bpftrace "$3" "$DEV" > "$OUT/bt.out" 2> "$OUT/bt.err" &
	local pid=$!
	# bpftrace prints "Attaching N probes..." on stdout when ready
	wait_for_line "$OUT/bt.out" Attaching $pid 180 || { echo "bpftrace did not start"; cat "$OUT/bt.err"; exit 1; }
	sleep 1
	bench "$1" "$2"
	bpftool -j prog show > "$OUT/progs-$1-$2.json"
	# let bpftrace print what its perf buffers still hold (it lags under
	# TCG), up to 120 s, before stopping it
	local n0=-1 n1 i=0
	while n1=$(wc -c < "$OUT/bt.out"); [ "$n1" != "$n0" ] && [ $i -lt 60 ]; do
		n0=$n1; i=$((i + 1)); sleep 2
	done
	# bpftrace 0.17 has hung at SIGINT under TCG (round 7 of a run, its
	# output complete): killed after a minute, so that the benchmark does
	# not run into the lab's timeout and lose every round.
	kill -INT $pid
	if wait_until $pid 60 false; [ $? = 2 ]; then
		echo "round $2: $1: bpftrace did not exit within 60 s of SIGINT; killed"
		kill -KILL $pid
	fi
	wait $pid
	grep -cv '^Attaching\|^Lost ' "$OUT/bt.out" > "$OUT/lines-$1-$2"
	# perf-buffer overflows: "Lost N events"
	awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }' "$OUT/bt.out" > "$OUT/lost-$1-$2"
}

configs="bare"
[ -n "$OLD" ] && configs="$configs dt-old"
[ -n "$PREV" ] && configs="$configs dt-prev"
configs="$configs dt-new dt-unjoined dt-empty"
declare -A ablation_bin
for nb in ${DT_ABLATION_BINS:-}; do
	ablation_bin[dt-ab-${nb%%=*}]=${nb#*=}
	configs="$configs dt-ab-${nb%%=*}"
done
configs="$configs bt-min bt-full"
set -- $configs
n=$#
"$NEW/dax_workload" fault-bench "$MNT/bench" "$PAGES" "$ITERS" > /dev/null   # warm-up
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	# rotate: round r starts at config (r-1) mod n
	order=""
	k=0
	while [ $k -lt $n ]; do
		idx=$(( (r - 1 + k) % n + 1 ))
		order="$order ${!idx}"
		k=$((k + 1))
	done
	echo "round $r:$order"
	for c in $order; do
		case $c in
		bare) bench bare $r ;;
		dt-old) run_dt dt-old $r "$OLD" ;;
		dt-prev) run_dt dt-prev $r "$PREV" ;;
		dt-new) run_dt dt-new $r "$NEW" ;;
		dt-unjoined) run_dt dt-unjoined $r "$NEW" --no-join-faults ;;
		dt-empty) run_dt dt-empty $r "$NEW" --empty-programs ;;
		dt-ab-*) run_dt "$c" $r "${ablation_bin[$c]}" ;;
		bt-min) run_bt bt-min $r "$HERE/bench_bpftrace.bt" ;;
		bt-full) run_bt bt-full $r "$HERE/bench_bpftrace_full.bt" ;;
		esac
	done
done

python3 - "$OUT" "$ROUNDS" "$configs" "$PAGES" "$ITERS" "$(uname -r)" <<'PY'
import json, statistics, sys
out, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
faults = int(sys.argv[4]) * int(sys.argv[5])
res = {"kernel": sys.argv[6], "rounds": rounds, "faults_per_run": faults, "configs": {}}
for c in configs:
    ns, ns_stats, bpf_ns, irq, ev, joined, drops, progs = [], [], [], [], [], [], 0, {}
    for r in range(1, rounds + 1):
        ns.append(json.load(open(f"{out}/run-{c}-{r}.json"))["ns_per_fault"])
        ns_stats.append(json.load(open(f"{out}/run-stats-{c}-{r}.json"))["ns_per_fault"])
        irq.append(int(open(f"{out}/irq-{c}-{r}").read()))
        if c.startswith("dt-"):
            st = json.load(open(f"{out}/stats-{c}-{r}.json"))
            ev.append(st["emitted"])
            joined.append(st.get("joined", 0))
            drops += st["dropped"]
            plist = [(p["prog"], p["run_cnt"], p["run_time_ns"]) for p in st["programs"]]
        elif c.startswith("bt-"):
            ev.append(int(open(f"{out}/lines-{c}-{r}").read()))
            try:
                drops += int(open(f"{out}/lost-{c}-{r}").read())
            except FileNotFoundError:
                pass
            plist = [(p.get("name", str(p["id"])), p.get("run_cnt", 0), p.get("run_time_ns", 0))
                     for p in json.load(open(f"{out}/progs-{c}-{r}.json"))
                     if p.get("run_cnt") and p.get("type") != "cgroup_skb"]
        else:
            plist = []
        tot = 0
        for name, cnt, t in plist:
            a = progs.setdefault(name, [0, 0])
            a[0] += cnt; a[1] += t
            tot += t
        if plist:
            bpf_ns.append(tot / faults)
    res["configs"][c] = {
        "ns_per_fault": statistics.median(ns), "runs": ns,
        "ns_per_fault_stats": statistics.median(ns_stats), "runs_stats": ns_stats,
        "irqs_per_run": statistics.median(irq), "irq_runs": irq,
        "events_per_run": statistics.median(ev) if ev else 0,
        "joined_per_fault": statistics.median(joined) / (2 * faults) if joined else 0,
        "bpf_ns_per_fault": statistics.median(bpf_ns) if bpf_ns else 0,
        "bpf_runs": bpf_ns, "dropped": drops,
        "programs": {k: {"run_cnt": v[0], "ns_per_run": v[1] / v[0] if v[0] else 0}
                     for k, v in sorted(progs.items())},
    }
# The empty configuration is a floor only if it attached what dt-new did
# and its programs did nothing.
if "dt-empty" in res["configs"]:
    for r in range(1, rounds + 1):
        st = {c: json.load(open(f"{out}/stats-{c}-{r}.json")) for c in ("dt-empty", "dt-new")}
        if sorted(p["prog"] for p in st["dt-empty"]["programs"]) != \
           sorted(p["prog"] for p in st["dt-new"]["programs"]):
            sys.exit(f"round {r}: --empty-programs attached other programs than dt-new")
        if st["dt-empty"]["emitted"]:
            sys.exit(f"round {r}: --empty-programs: its programs sent events")
bare = res["configs"]["bare"]
for c, v in res["configs"].items():
    v["slowdown"] = v["ns_per_fault"] / bare["ns_per_fault"]
    v["slowdown_stats"] = v["ns_per_fault_stats"] / bare["ns_per_fault_stats"]
    v["irqs_added_per_fault"] = (v["irqs_per_run"] - bare["irqs_per_run"]) / faults
    # events of both passes; interrupts of the first
    v["irqs_added_per_event"] = ((v["irqs_per_run"] - bare["irqs_per_run"]) / (v["events_per_run"] / 2)
                                 if v["events_per_run"] else None)
    v["events_per_fault"] = v["events_per_run"] / (2 * faults)
json.dump(res, open(f"{out}/bench.json", "w"), indent=1)
for c, v in res["configs"].items():
    print(f"{c:8s} {v['ns_per_fault']:9.0f} ns/fault  x{v['slowdown']:.2f} (stats on x{v['slowdown_stats']:.2f})  "
          f"bpf {v['bpf_ns_per_fault']:8.0f} ns/fault  ev/fault {v['events_per_fault']:.2f}  "
          f"irq+/fault {v['irqs_added_per_fault']:.3f}  drops {v['dropped']}")
    for k, p in v["programs"].items():
        print(f"    {k:40s} {p['ns_per_run']:8.0f} ns x {p['run_cnt']}")
PY
