#!/usr/bin/env bash
# Engine benchmark, old and new side by side, regenerates BENCHMARKS.md.
#
#   analyzer/bench/run.sh [rounds]          (default 4 rounds)
#
# Builds daxtrace_bench twice from the same bench_engine.cpp: against the
# working tree's engine, and against the engine of a baseline commit
# (checked out with `git worktree add` into an ignored directory, never
# into the tracked tree).  Both binaries first print a digest of what the
# engine decided on the mix (findings with evidence, near-miss tables,
# counters); then they run alternately, `rounds` times each, so that a
# shared machine's load hits both alike, and each round gives a ratio.
#
# Environment:
#   BENCH_BASELINE      baseline commit (default 9d513da, the engine before
#                       the compact-state work of issue 13)
#   BENCH_BASELINE_DIR  its worktree (default build-bench/baseline)
#   DAXTRACE_BUILD      build directory of the working tree (build-analyzer)
#   BENCH_MIN_TIME      google-benchmark min time per run, s (default 1)
#   BENCH_REPORT_ONLY=1 rewrite BENCHMARKS.md from the last run's results
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
root=$REPO_DIR
here=$root/analyzer/bench
rounds=${1:-4}
base=${BENCH_BASELINE:-9d513da}
bdir=${BENCH_BASELINE_DIR:-$root/build-bench/baseline}
build=${DAXTRACE_BUILD:-$root/build-analyzer}
mt=${BENCH_MIN_TIME:-1}

out="$build/bench-side-by-side"
if [ "${BENCH_REPORT_ONLY:-}" != 1 ]; then
log "building the working tree's engine in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target daxtrace_bench replay_digest >/dev/null

base_sha=$(git -C "$root" rev-parse --verify "$base^{commit}")
if [ ! -e "$bdir/.git" ]; then
	mkdir -p "$(dirname "$bdir")"
	git -C "$root" worktree add --detach "$bdir" "$base_sha" >&2
fi
# The worktree is scratch: the bench harness is replaced by the current one.
git -C "$bdir" checkout -q -f --detach "$base_sha"
cp "$here/bench_engine.cpp" "$bdir/analyzer/bench/bench_engine.cpp"
log "building the baseline engine ($base_sha) in $bdir/build"
cmake -S "$bdir" -B "$bdir/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$bdir/build" -j2 --target daxtrace_bench >/dev/null

new="$build/analyzer/daxtrace_bench"
old="$bdir/build/analyzer/daxtrace_bench"
rm -rf "$out"
mkdir -p "$out"

"$old" --digest >"$out/digest-old.txt"
"$new" --digest >"$out/digest-new.txt"
# The recorded traces too: the same digest tool linked against each engine
# (the baseline's build may not have the target).
traces=$(ls "$root"/analyzer/tests/data/*.dxt "$root"/dashboards/tests/data/*.dxt | sort)
c++ -O2 -std=c++20 -I"$bdir/analyzer/include" -I"$bdir/bpf/abi" "$here/replay_digest.cpp" \
	-o "$out/replay_digest-old" "$bdir/build/analyzer/libdaxtrace_analyzer.a" \
	"$bdir/build/bpf/libdaxtrace_abi.a" -lzstd
"$out/replay_digest-old" $traces >"$out/traces-old.txt"
"$build/analyzer/replay_digest" $traces >"$out/traces-new.txt"

# Instructions executed inside Engine::push on the mix (callgrind, the
# --digest run: a fresh engine, every event pushed once): unlike the
# timings, this does not depend on what else the machine is running.
if command -v valgrind >/dev/null; then
	for who in old new; do
		if [ "$who" = old ]; then bin=$old; else bin=$new; fi
		log "callgrind: $who"
		valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
			"--toggle-collect=daxtrace::Engine::push(dt_event const*, unsigned long)" \
			"$bin" --digest >/dev/null 2>"$out/callgrind-$who.txt"
	done
fi

filter='BM_EngineSteadyState|BM_EngineThroughput'
i=1
while [ "$i" -le "$rounds" ]; do
	# alternate which one goes first
	if [ $((i % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
	for who in $order; do
		if [ "$who" = old ]; then bin=$old; else bin=$new; fi
		log "round $i: $who"
		"$bin" --benchmark_filter="$filter" --benchmark_min_time="$mt" \
			--benchmark_format=json >"$out/$who-$i.json"
	done
	i=$((i + 1))
done
"$old" --benchmark_filter=BM_MemoryPerPage --benchmark_format=json >"$out/mem-old.json"
"$new" --benchmark_filter=BM_MemoryPerPage --benchmark_format=json >"$out/mem-new.json"
git -C "$bdir" rev-parse HEAD >"$out/baseline-commit"
fi
base_sha=$(cat "$out/baseline-commit")
rounds=$(ls "$out"/new-*.json | wc -l)

cmd="analyzer/bench/run.sh $rounds (BENCH_BASELINE=$base, BENCH_MIN_TIME=$mt)"
python3 - "$out" "$here/BENCHMARKS.md" "$cmd" "$rounds" "$base_sha" <<'PY'
import json, sys, platform, datetime, os, statistics as stat
out, md, cmd, rounds, base = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def load(p):
    return json.load(open(os.path.join(out, p)))
def ips(res, name):
    v = [b["items_per_second"] for b in res["benchmarks"]
         if b["run_name"] == name and b.get("run_type") == "iteration"]
    return v[0] if v else 0.0
names = (("BM_EngineSteadyState", "long-lived engine (production case)"),
         ("BM_EngineThroughput", "fresh engine per pass (includes table growth)"))
rows = {n: [] for n, _ in names}
ctx = None
for i in range(1, rounds + 1):
    o, n = load("old-%d.json" % i), load("new-%d.json" % i)
    ctx = ctx or n["context"]
    for name, _ in names:
        rows[name].append((ips(o, name), ips(n, name)))
# Which pages a sweep has retired by a trace's end follows the page
# table's slot order (flat_map.h, index()), a layout, not a decision: a
# digest that differs from the old one only in the retired-page counter
# is reported as such, with how many traces it concerns.
def without_retired(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("{") and '"retired_pages"' in line and '"events_in"' in line:
            j = json.loads(line)
            j.pop("retired_pages")
            line = json.dumps(j, sort_keys=True)
        lines.append(line)
    return lines
def compare(old_file, new_file):
    o = open(os.path.join(out, old_file)).read()
    n = open(os.path.join(out, new_file)).read()
    if o == n:
        return "same", 0
    if without_retired(o) != without_retired(n):
        return "different", 0
    return "retired", sum(a != b for a, b in zip(o.splitlines(), n.splitlines()))
same, same_n = compare("digest-old.txt", "digest-new.txt")
tsame, tsame_n = None, 0
if os.path.exists(os.path.join(out, "traces-old.txt")):
    tsame, tsame_n = compare("traces-old.txt", "traces-new.txt")
retired_note = ("identical for old and new except the retired-page counter (%d trace(s) of %d: "
                "which idle pages a sweep has retired by the end follows the page table's slot "
                "order, see flat_map.h index()); findings, evidence, near misses and every other "
                "counter identical")
mem = {}
for who in ("old", "new"):
    r = [b for b in load("mem-%s.json" % who)["benchmarks"] if b.get("run_type") == "iteration"]
    mem[who] = r[0] if r else {}
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
L = []
L.append("# Analyzer benchmark\n")
L.append("Generated by `analyzer/bench/run.sh` on %s UTC. Do not edit by hand.\n" %
         datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"))
L.append("Machine: %d CPUs (%s), %s; load average at start %s. "
         "Throughput is events per CPU-second of the benchmark thread "
         "(google-benchmark CPU time), i.e. per core.\n" %
         (ctx.get("num_cpus", 0), cpu, platform.platform(),
          ", ".join("%.1f" % x for x in ctx.get("load_avg", []))))
L.append("Command: `%s`.  Both engines are built with `-DCMAKE_BUILD_TYPE=Release` "
         "from the same bench_engine.cpp: **old** = the engine of commit %s "
         "(git worktree), **new** = the working tree.  They run alternately, "
         "%d rounds each (the order flips every round), so the machine's load "
         "hits both alike; the ratio is taken per round.\n" % (cmd, base[:12], rounds))
L.append("Event mix (bench_engine.cpp): 45% DAX faults (enter/iomap/exit), 25% first-write "
         "faults (mkwrite enter/dirty/exit), 22% fsync writeback (range + 4 entries), "
         "6% allocating write faults with zeroing, 2% hole punches with a layout break; "
         "128 inodes x 2048 pages plus appends, 64 tasks on 16 CPUs, ~6% of events "
         "delivered out of order. 4 M events per pass.\n")
L.append("Decisions on the mix (`daxtrace_bench --digest`: findings with their evidence, "
         "near-miss tables, counters): **%s**.\n" %
         ("identical for old and new" if same == "same" else
          (retired_note % (1, 1)) if same == "retired" else
          "different between old and new (bench-side-by-side/digest-*.txt in the build "
          "directory): expected only when the baseline predates a rule change, e.g. "
          "579203e has no W2 rule and so records fewer W near misses; an optimisation "
          "is held to identical digests against the commit it starts from"))
ntraces = 0
if tsame is not None:
    ntraces = sum(l.startswith("== ") for l in open(os.path.join(out, "traces-new.txt")))
    L.append("Decisions on every recorded trace in the repository (analyzer/tests/data, "
             "dashboards/tests/data; `replay_digest`, findings with evidence, near misses, "
             "counters): **%s**.\n" % ("identical for old and new" if tsame == "same" else
             (retired_note % (tsame_n, ntraces)) if tsame == "retired" else
             "different between old and new (bench-side-by-side/traces-*.txt)"))
def instr(who):
    try:
        for line in open(os.path.join(out, "callgrind-%s.txt" % who)):
            if "Collected :" in line:
                return int(line.split(":")[1].strip().replace(",", ""))
    except OSError:
        pass
    return None
def events_in(who):
    last = open(os.path.join(out, "digest-%s.txt" % who)).read().strip().splitlines()[-1]
    return json.loads(last)["events_in"]
io, inew = instr("old"), instr("new")
if io and inew:
    eo, en = events_in("old"), events_in("new")
    L.append("## Instructions per event\n")
    L.append("Instructions executed inside `Engine::push` over the whole mix (callgrind "
             "`--toggle-collect`, the `--digest` run: a fresh engine, each event pushed once, "
             "flush not counted).  Deterministic: unlike the timings below, not moved by "
             "the machine's load.\n")
    L.append("| measure | old | new | new/old |")
    L.append("|---|---|---|---|")
    L.append("| instructions / event | %.1f | %.1f | %.2fx |" % (io / eo, inew / en, (inew / en) / (io / eo)))
    L.append("")
L.append("## Throughput, events/s/core\n")
L.append("| benchmark | old, median | new, median | new/old per round: median (min..max) | goal |")
L.append("|---|---|---|---|---|")
for name, label in names:
    r = rows[name]
    ratios = [n / o for o, n in r if o]
    L.append("| %s | %.2f M | %.2f M | %.2fx (%.2f..%.2f) | >= 30 M |" % (
        label, stat.median(o for o, _ in r) / 1e6, stat.median(n for _, n in r) / 1e6,
        stat.median(ratios), min(ratios), max(ratios)))
L.append("")
L.append("Per round (old / new, M events/s/core):\n")
L.append("| round | " + " | ".join(l for _, l in names) + " |")
L.append("|---|" + "---|" * len(names))
for i in range(rounds):
    L.append("| %d | %s |" % (i + 1, " | ".join(
        "%.2f / %.2f" % (rows[n][i][0] / 1e6, rows[n][i][1] / 1e6) for n, _ in names)))
L.append("")
L.append("## Memory per tracked page\n")
L.append("| measure | old | new | goal |")
L.append("|---|---|---|---|")
def m(who, k, fmt="%.1f"):
    v = mem[who].get(k)
    return fmt % v if v is not None else "-"
for k, label, fmt, goal in (
        ("active_pages", "active pages tracked", "%d", ""),
        ("page_table_B_per_page", "page table bytes / page (engine accounting)", "%.1f", "< 64"),
        ("engine_B_per_page", "all engine state except the reorder buffer / page (engine accounting)", "%.1f", "<= 39.7"),
        ("malloc_B_per_page", "same, from malloc (mallinfo2 in-use delta minus reorder buffer) / page", "%.1f", "cross-check"),
        ("reorder_B", "reorder buffer (10 ms window), bytes", "%d", ""),
        ("engine_total_B", "engine total (own accounting), bytes", "%d", ""),
        ("malloc_total_B", "engine total (malloc delta), bytes", "%d", "")):
    L.append("| %s | %s | %s | %s |" % (label, m("old", k, fmt), m("new", k, fmt), goal))
L.append("")
L.append("The reorder buffer is sized by the event rate times the window, not by pages, "
         "and is reported separately.  Since issue 13 the engine's accounting counts the "
         "reorder buffer's and the near-miss table's own objects once (before, 24 KB of them, "
         "0.07 B/page on this mix, were counted twice, in the engine's object and in "
         "their own figures), so an old engine's figure is that much higher.  Since the "
         "page table and the reorder ring are mapped on huge pages (mmap, not malloc), the "
         "malloc cross-check no longer sees them: a new engine's malloc figures are lower "
         "by about their size, which the engine's own accounting still counts (whole "
         "2 MiB pages).  Since 1604335 a reorder-ring slot is the whole 112-byte event, "
         "released to the rules by reference, instead of a 64-byte packed slot: the reorder "
         "buffer is about half as large again at this rate, and the packing and unpacking "
         "(~85 instructions per event) are gone.  Since a4d4cc5 a ring slot carries no "
         "arrival number beside the event (4 bytes a slot, about 1 MB at this rate).")
open(md, "w").write("\n".join(L) + "\n")
print("wrote", md)
PY
