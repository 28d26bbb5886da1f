#!/bin/sh
# Runs INSIDE the lab guest: the cost of the probes.
#  1. per program: run_time_ns / run_cnt from the kernel's own BPF
#     statistics (kernel.bpf_stats_enabled=1), for daxtrace and bpftrace;
#  2. a DAX fault-heavy workload (dax_workload fault-bench: truncate, then
#     write-fault every page of a hole-y file) bare, under daxtrace, and
#     under bpftrace attached to the equivalent hooks; ROUNDS runs each,
#     interleaved, median reported.
# Results: $LAB_OUT/bench.json (+ raw files).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${DT_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build-bpf/bpfonly/tests}
OUT=${LAB_OUT:?}
MNT=${LAB_MNT:?}
PAGES=${DT_BENCH_PAGES:-256}
ITERS=${DT_BENCH_ITERS:-40}
ROUNDS=${DT_BENCH_ROUNDS:-5}

sysctl -q -w kernel.bpf_stats_enabled=1
bench() {	# label
	"$BIN/dax_workload" fault-bench "$MNT/bench" "$PAGES" "$ITERS" >> "$OUT/bench-$1.jsonl"
}
wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1)); [ $i -gt 900 ] && { echo "timeout waiting for $1"; return 1; }
		sleep 0.1
	done
}

bench warmup
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	bench bare

	# daxtrace: consumer counting binary events (as the analyzer does),
	# and consumer printing JSON lines (as bpftrace prints text)
	for fmt in none json; do
		rm -f "$OUT/dt.ready"
		"$BIN/dtprobe" --mount "$MNT" --events /dev/null --ready "$OUT/dt.ready" \
			--format $fmt --stats "$OUT/dt-stats-$fmt-$r.json" --quiet &
		DT=$!
		wait_file "$OUT/dt.ready" || exit 1
		bench daxtrace-$fmt
		kill -INT $DT; wait $DT
	done

	bpftrace "$HERE/bench_bpftrace.bt" > "$OUT/bt.out" 2> "$OUT/bt.err" &
	BT=$!
	# bpftrace prints "Attaching N probes..." on stdout when ready
	i=0
	until grep -q Attaching "$OUT/bt.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 1200 ] && { echo "bpftrace did not start"; cat "$OUT/bt.err"; exit 1; }
		sleep 0.1
	done
	sleep 1
	bench bpftrace
	bpftool -j prog show > "$OUT/bt-progs-$r.json"
	kill -INT $BT; wait $BT
	wc -l < "$OUT/bt.out" > "$OUT/bt-lines-$r"
done

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys, glob
out, rounds = sys.argv[1], int(sys.argv[2])
def med(label):
    v = [json.loads(l)["ns_per_fault"] for l in open(f"{out}/bench-{label}.jsonl")]
    return statistics.median(v), v
bare, bv = med("bare"); dt, dv = med("daxtrace-none"); bt, btv = med("bpftrace")
dj, djv = med("daxtrace-json")
progs = {}
drops = 0
for r in range(1, rounds + 1):
  for fmt in ("none", "json"):
    st = json.load(open(f"{out}/dt-stats-{fmt}-{r}.json"))
    drops += st["dropped"]
    for p in st["programs"]:
        a = progs.setdefault(p["prog"], [0, 0])
        a[0] += p["run_cnt"]; a[1] += p["run_time_ns"]
def per_fault(d):
    return sum(t for c, t in d.values()) / (sum(c for k, (c, t) in d.items()
                                                if k.endswith("pte_fault")) or 1)
btp = {}
for r in range(1, rounds + 1):
    for p in json.load(open(f"{out}/bt-progs-{r}.json")):
        if p.get("run_cnt"):
            a = btp.setdefault(p.get("name", str(p["id"])), [0, 0])
            a[0] += p["run_cnt"]; a[1] += p.get("run_time_ns", 0)
res = {
    "workload": "dax_workload fault-bench (truncate + write-fault every page)",
    "ns_per_fault": {"bare": bare, "daxtrace": dt, "daxtrace_json": dj, "bpftrace": bt},
    "runs": {"bare": bv, "daxtrace": dv, "daxtrace_json": djv, "bpftrace": btv},
    "slowdown": {"daxtrace": dt / bare, "daxtrace_json": dj / bare, "bpftrace": bt / bare,
                 "daxtrace_added_vs_bpftrace_added":
                     (dt - bare) / (bt - bare) if bt > bare else None,
                 "daxtrace_json_added_vs_bpftrace_added":
                     (dj - bare) / (bt - bare) if bt > bare else None},
    "daxtrace_dropped_events": drops,
    "daxtrace_programs": {k: {"run_cnt": c, "ns_per_run": (t / c if c else 0)}
                          for k, (c, t) in sorted(progs.items())},
    "bpftrace_programs": {k: {"run_cnt": c, "ns_per_run": (t / c if c else 0)}
                          for k, (c, t) in sorted(btp.items())},
}
json.dump(res, open(f"{out}/bench.json", "w"), indent=1)
res["bpf_ns_per_fault"] = {"daxtrace": per_fault(progs), "bpftrace": per_fault(btp)}
json.dump(res, open(f"{out}/bench.json", "w"), indent=1)
print(json.dumps({k: res[k] for k in ("ns_per_fault", "slowdown", "bpf_ns_per_fault",
                                      "daxtrace_dropped_events")}, indent=1))
print("daxtrace per-program ns/run:")
for k, v in res["daxtrace_programs"].items():
    if v["run_cnt"]:
        print(f"  {k:40s} {v['ns_per_run']:8.0f} ns x {v['run_cnt']}")
print("bpftrace per-program ns/run:")
for k, v in res["bpftrace_programs"].items():
    print(f"  {k:40s} {v['ns_per_run']:8.0f} ns x {v['run_cnt']}")
PY
