#!/usr/bin/env bash
# Soak: live daxtrace with --record in the lab for SECONDS while the race
# workloads run in a loop (bench/soak_guest.sh), then the recording is
# replayed here on the host and compared with what live daxtrace said.
# Measures events, drops, daxtrace's RSS at start, end and peak, and
# replay agreement (the same findings, events, lost events, near misses).
#   bench/soak.sh [--check] [--build DIR] [--out DIR [--reuse]] [KERNEL] [FS] [SECONDS]
# --reuse: no new lab run; judge and report the results already in --out.
# Without --check it regenerates bench/SOAK.md (default: stock ext4 600).
# With --check it writes no report and fails unless: daxtrace exited 0,
# the replay agrees with live exactly, every lost event is one the ring
# buffer reported dropped (0 unexplained), and RSS stopped growing (it
# did not grow by more than 4 MiB or 5% in both the third and the last
# quarter of the run; peak under 512 MiB).  Output is KTAP in that mode
# (ctest lab.soak.short).
# Most figures are set by evals of key=value lines.
# shellcheck disable=SC2154
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
repo=$REPO_DIR
check=0 build=$repo/build out='' reuse=0
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1; shift ;;
	--build) build=$(realpath "$2"); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--reuse) reuse=1; shift ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
kernel=${1:-stock} fs=${2:-ext4} secs=${3:-600}
dt=$build/analyzer/app/daxtrace
[ -x "$dt" ] || die "no daxtrace in $build (build it first)"
if [ -z "$out" ]; then
	make_workdir out /var/tmp/daxtrace-soak.XXXXXX
else
	mkdir -p "$out"
fi
if [ $reuse = 0 ]; then
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	"$repo/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout $((secs + 900)) --out "$out" --quiet \
		--script "$repo/bench/soak_guest.sh" -- "$dt" "$build/tests/workloads" "$secs"
	load_after=$(cut -d' ' -f1-3 /proc/loadavg)
	printf 'load_before="%s"\nload_after="%s"\nversion="%s"\n' "$load_before" "$load_after" \
		"$("$dt" --version)" >"$out/host.env"
fi
# shellcheck disable=SC1091
. "$out/host.env"

t=$(date +%s.%N)
"$dt" replay --json "$out/soak.dxt" >"$out/replay.jsonl" 2>"$out/replay.err" && replay_exit=0 || replay_exit=$?
replay_s=$(python3 -c "import time; print(round(time.time() - $t, 1))")

# The guest's key=value lines, then the comparison's.
eval "$(grep -E '^[a-z_]+=[0-9.]+$' "$out/output.log")"
eval "$(python3 - "$out" <<'PY'
import collections, json, re, sys
d = sys.argv[1]
def load(p):
    return [json.loads(l) for l in open(p) if l.strip()]
live, rep = load(f"{d}/soak.jsonl"), load(f"{d}/replay.jsonl")
def key(f):
    return (f["rule"], f["dev"], f["ino"], f["pgoff_first"], f["pgoff_last"],
            f["window_start_ns"], f["window_end_ns"], f["uncertain"])
lf = collections.Counter(key(j) for j in live if j["type"] == "finding")
rf = collections.Counter(key(j) for j in rep if j["type"] == "finding")
ls = [j for j in live if j["type"] == "summary"][-1]
rs = [j for j in rep if j["type"] == "summary"][-1]
dropped = 0
for j in live:
    if j["type"] == "warning":
        m = re.match(r"(\d+) events were dropped", j["message"])
        if m:
            dropped += int(m.group(1))
stats = [j for j in live if j["type"] == "stats"]
same = (lf == rf and ls["events"] == rs["events"] and ls["lost"] == rs["lost"]
        and ls["findings_by_rule"] == rs["findings_by_rule"]
        and ls["near_misses"] == rs["near_misses"])
print(f"events={ls['events']}")
print(f"replay_events={rs['events']}")
print(f"lost={ls['lost']}")
print(f"replay_lost={rs['lost']}")
print(f"dropped_reported={dropped}")
print(f"unexplained_lost={ls['lost'] - dropped}")
print(f"findings={sum(lf.values())}")
print(f"replay_findings={sum(rf.values())}")
print(f"findings_by_rule='{json.dumps(ls['findings_by_rule'], sort_keys=True)}'")
print(f"agree={1 if same else 0}")
print(f"elapsed_s={ls['elapsed_s']:.0f}")
print(f"events_per_s={ls['events'] / max(ls['elapsed_s'], 1):.0f}")
print(f"peak_interval_events_per_s={max([s['events_per_s'] for s in stats] or [0]):.0f}")
print(f"engine_memory_end_mb={ls['engine'].get('memory_bytes', 0) / 2**20:.1f}")
PY
)"
# RSS at half time (the first sample from secs/2 on); the end is the
# guest's sample just before SIGINT (rss_end_kb), the peak the highest
# VmHWM (the sampler's last line may fall in the exit).
# None (the sampler stopped before that time): the RSS check fails and
# says so.
rss_at() { awk -v h="$1" 'NR > 1 && $1 >= h { print $2; f = 1; exit } END { if (!f) print "None" }' "$out/rss.tsv"; }
rss_mid_kb=$(rss_at $((secs / 2)))
rss_q3_kb=$(rss_at $((secs * 3 / 4)))
rss_last_kb=$rss_end_kb
rss_peak_kb=$(awk 'NR > 1 && $3 > p { p = $3 } END { print p }' "$out/rss.tsv")
samples=$(($(wc -l <"$out/rss.tsv") - 1))
trace_mb=$(python3 -c "print(round($(stat -c %s "$out/soak.dxt") / 2**20, 1))")
mb() { python3 -c "v = $1; print('-' if v is None else round(v / 1024, 1))"; }

if [ $check = 1 ]; then
	# shellcheck source=SCRIPTDIR/../tests/ktap.sh
	. "$repo/tests/ktap.sh"
	ktap_plan 5
	echo "# ${secs}s $kernel/$fs: $events events ($lost lost, $dropped_reported reported dropped)," \
		"$findings findings, RSS start $(mb "$rss_start_kb") mid $(mb "$rss_mid_kb")" \
		"end $(mb "$rss_last_kb") peak $(mb "$rss_peak_kb") MiB; results in $out"
	check "daxtrace ran the whole soak and exited 0 on SIGINT" test "$daxtrace_exit" = 0
	check "events were seen ($events)" test "$events" -gt 0
	check "the replay of the recording agrees with live (findings, events, lost, near misses)" \
		test "$replay_exit" = 0 -a "$agree" = 1
	check "no unexplained lost events (lost $lost = reported dropped $dropped_reported)" \
		test "$unexplained_lost" = 0
	# A leak grows all along; a buffer grown once stays at its size.  The
	# reader's batch buffers grow to the largest batch a poll() read, and
	# after the ring overflowed that is a whole ring's worth of events: a
	# step of several MiB in one quarter (seen in CI: +8.9 MiB with 48775
	# events dropped, flat for the last 35 s).  So growth fails the check
	# only if it went on through both the third and the last quarter.
	check "RSS stopped growing (half time $rss_mid_kb kB, three quarters $rss_q3_kb kB, end $rss_last_kb kB) and peak $rss_peak_kb kB < 512 MiB" \
		python3 -c "import sys; m, q, e, p = $rss_mid_kb, $rss_q3_kb, $rss_last_kb, $rss_peak_kb
if m is None or q is None:
    sys.exit('no RSS sample at half time or three quarters of the run: the sampler stopped early')
grew = lambda a, b: b > max(a + 4096, a * 1.05)
sys.exit(0 if not (grew(m, q) and grew(q, e)) and p < 512 * 1024 else 1)"
	ktap_finish
	exit
fi

{
	echo "# daxtrace soak"
	echo
	echo "Regenerate: \`bench/soak.sh $kernel $fs $secs\` ($(date -u +%Y-%m-%d), one lab run: QEMU TCG,"
	echo "2 vCPUs, the $kernel kernel, $fs DAX; $version).  daxtrace runs live with \`--json --record\`"
	echo "for the whole run while the race workloads of \`bench/soak_guest.sh\` run one after"
	echo "another in a loop (zero_fault_race, wb_mkwrite_race, fault_truncate_race,"
	echo "punch_pinned, swap_boot_pinned, fsync_locked_skip, locked_entry_pin,"
	echo "unmapped_pin_truncate, evict_pinned); its RSS is sampled every 5 s in the guest;"
	echo "after SIGINT the recording is replayed on the host and compared with the live"
	echo "output.  The host is a shared 2-core machine (load average $load_before before,"
	echo "$load_after after the run), so rates are TCG rates on a loaded host: compare"
	echo "within the run, not with native figures."
	echo
	echo "| what | value |"
	echo "|---|---|"
	echo "| duration (workload loop / daxtrace live) | ${run_seconds} s / ${elapsed_s} s |"
	echo "| workload runs (loops of the mix) | $workload_runs ($loops) |"
	echo "| workloads that saw their race (exit 1; stock 6.1 still has W2 and these L gaps) | $(sed -n 's/^# \([a-z_]*\) exit [1-9].*/\1/p' "$out/workloads.log" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }') |"
	echo "| lab boot-to-command (bench/LAB.md: 9.4 s on a quieter host) | $(sed -n 's/^boot_to_command_s=//p' "$out/timing") s |"
	echo "| events analysed live | $events ($events_per_s/s average, $peak_interval_events_per_s/s busiest 10 s) |"
	echo "| events lost (ring buffer full) / reported dropped / unexplained | $lost / $dropped_reported / $unexplained_lost |"
	echo "| findings live | $findings \`$findings_by_rule\` |"
	echo "| RSS at start / half time / end (before SIGINT) / peak (VmHWM) | $(mb "$rss_start_kb") / $(mb "$rss_mid_kb") / $(mb "$rss_last_kb") / $(mb "$rss_peak_kb") MiB |"
	echo "| engine memory at the end (its own accounting) | $engine_memory_end_mb MiB |"
	echo "| daxtrace exit after SIGINT | $daxtrace_exit |"
	echo "| recording | $trace_mb MiB |"
	echo "| replay on the host (exit, time) | $replay_exit, ${replay_s} s |"
	echo "| replay: events / lost / findings | $replay_events / $replay_lost / $replay_findings |"
	echo "| replay agrees with live (findings with windows, events, lost, findings by rule, near misses) | $([ "$agree" = 1 ] && echo yes || echo NO) |"
	echo
	echo "RSS samples ($samples, kB; t in seconds since the start line; asked for every 5 s,"
	echo "the loaded guest took longer between them; the last one falls in the exit):"
	echo
	echo '```'
	cat "$out/rss.tsv"
	echo '```'
} >"$repo/bench/SOAK.md"
cat "$repo/bench/SOAK.md"
