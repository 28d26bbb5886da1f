#!/bin/bash
# W2 (fsync-skipped-dirty-entry) proven on a real kernel: boot KERNEL with
# a DAX FS in the lab, run tests/workloads/fsync_locked_skip under live
# daxtrace (a recorded trace each), first with the racing reader thread,
# then --no-racer, and assert on the host:
#   - every round the reproducer saw damaged (fsync wrote back fewer
#     pages than were dirty before it, counted with the fs_dax tracepoint
#     through tracefs, without daxtrace) has a W2 finding inside that
#     fsync's time, naming the missed pages, with ordered evidence;
#   - no W2 outside damaged rounds, none at all with --no-racer;
#   - the replay of each recorded trace gives the live findings.
# On stock 6.1 damage is expected (--expect-damage, the default for
# "stock"); on a fixed kernel (--expect-clean) neither damage nor W2.
# usage: w2_fsync_test.sh KERNEL FS BUILD_DIR [OUT_DIR] [--rounds N]
#            [--pages N] [--pmd] [--expect-damage|--expect-clean]
#   KERNEL stock|built|PATH (ci/lab --kernel); BUILD_DIR holds
#   analyzer/app/daxtrace and tests/workloads/fsync_locked_skip.
# Inside the guest (ci/lab --script) it runs as: w2_fsync_test.sh --guest ...
set -uo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"

if [ "${1:-}" = --guest ]; then
	daxtrace=$2 workload=$3 rounds=$4 pages=$5 pmd=$6
	out=$LAB_OUT
	session() {	# NAME ARGS...: one daxtrace recording around one run
		local name=$1
		shift
		daxtrace_live_start "$daxtrace" "$out/$name.dxt" "$out/$name.jsonl" "$out/$name.err" ||
			return 1
		"$workload" "$LAB_MNT" "$@" >"$out/$name.tap" 2>&1
		echo "# $name: fsync_locked_skip $* exited $?"
		grep -E '^(not ok|ok|# fsync_locked_skip:|Bail)' "$out/$name.tap"
		daxtrace_live_stop "$daxtrace" "$out/$name.err" "$out/$name.dxt" \
			"$out/$name.replay.jsonl" "$out/$name.replay.err"
	}
	extra=()
	[ "$pmd" = 1 ] && extra=(--pmd)
	session racer -n "$rounds" -p "$pages" "${extra[@]}" || exit 1
	session control -n "$rounds" -p "$pages" "${extra[@]}" --no-racer || exit 1
	exit 0
fi

kernel=${1:?usage: w2_fsync_test.sh KERNEL FS BUILD_DIR [OUT_DIR] [options]}
fs=${2:?}
build=$(realpath "${3:?}")
shift 3
out=$build/lab/w2_fsync.$(basename "$kernel").$fs
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	out=$1
	shift
fi
rounds=30 pages=100 pmd=0 expect=
[ "$kernel" = stock ] && expect=damage
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--pages) pages=$2; shift 2 ;;
	--pmd) pmd=1; [ "$pages" = 100 ] && pages=512; shift ;;
	--expect-damage) expect=damage; shift ;;
	--expect-clean) expect=clean; shift ;;
	*) die "unknown option $1" ;;
	esac
done
mkdir -p "$out"

"$REPO_DIR/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout 600 --out "$out" \
	--script "$0" -- --guest "$build/analyzer/app/daxtrace" \
	"$build/tests/workloads/fsync_locked_skip" "$rounds" "$pages" "$pmd"
rc=$?
[ $rc = 0 ] || die "lab run failed ($rc)"

exec python3 - "$out" "$expect" "$REPO_DIR/tests" <<'EOF'
import json, os, re, sys

out, expect = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from ktap import Ktap

ktap = Ktap()
check = ktap.check


def jsonl(name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(l) for l in f if l.strip()]


def key(f):
    return (f["rule"], f["ino"], f["pgoff_first"], f["pgoff_last"],
            f["window_start_ns"], f["window_end_ns"], f["uncertain"])


def damaged_rounds(name):
    rounds, summary = [], None
    pat = re.compile(r"^# damaged round (\d+): fsync (\d+)\.\.(\d+) ns wrote back (\d+) of (\d+) "
                     r"dirty pages, missed pgoff (\S+)")
    for line in open(os.path.join(out, name + ".tap")):
        m = pat.match(line)
        if m:
            missed = set()
            for part in m.group(6).split(","):
                a, _, b = part.partition("-")
                missed.update(range(int(a), int(b or a) + 1))
            rounds.append(dict(round=int(m.group(1)), t0=int(m.group(2)), t1=int(m.group(3)),
                               missed=missed))
        if line.startswith("# fsync_locked_skip:"):
            summary = line.strip()
    return rounds, summary


table = []
for name in ("racer", "control"):
    live = jsonl(name + ".jsonl")
    replay = jsonl(name + ".replay.jsonl")
    w2 = [j for j in live if j["type"] == "finding" and j["rule"] == "W2"]
    summ = [j for j in live if j["type"] == "summary"]
    s = summ[-1] if summ else {}
    rounds, wl = damaged_rounds(name)
    check(wl, f"{name}: the reproducer finished ({wl})")
    check(summ, f"{name}: daxtrace ended with a summary ({s.get('events', 0)} events, "
                f"{s.get('lost', 0)} lost)")
    matched, uncertain = 0, 0
    used = set()
    for r in rounds:
        hits = [i for i, f in enumerate(w2)
                if f["window_start_ns"] >= r["t0"] and f["window_end_ns"] <= r["t1"]
                and any(f["pgoff_first"] <= p <= f["pgoff_last"] for p in r["missed"])]
        if hits:
            matched += 1
            used.update(hits)
        print(f"# {name} damaged round {r['round']}: missed {sorted(r['missed'])[:8]}, "
              f"W2 {[ (w2[i]['pgoff_first'], w2[i]['pgoff_last']) for i in hits]}")
    for f in w2:
        types = [e["type"].removeprefix("DT_") for e in f["evidence"]]
        uncertain += f["uncertain"]
        ok = types and "WB_RANGE_ENTER" in types and "WB_RANGE_EXIT" in types and \
            "FAULT_ENTER" in types
        if not ok:
            check(False, f"{name}: W2 evidence has the walk and the fault: {types}")
    stray = [f for i, f in enumerate(w2) if i not in used]
    table.append((name, len(rounds), len(w2), matched, len(stray), uncertain))
    check(matched == len(rounds),
          f"{name}: every damaged round has a W2 naming a missed page ({matched} of {len(rounds)})")
    check(not stray, f"{name}: no W2 outside a damaged round ({len(stray)}"
                     f"{': ' + str([(f['window_start_ns'], f['pgoff_first']) for f in stray[:3]]) if stray else ''})")
    rf = [j for j in replay if j["type"] == "finding"]
    lf = [j for j in live if j["type"] == "finding"]
    check(sorted(map(key, rf)) == sorted(map(key, lf)),
          f"{name}: replay gives the same {len(lf)} findings ({len(rf)})")
    if name == "control":
        check(not rounds and not w2, f"control (--no-racer): no damaged round ({len(rounds)}) "
                                     f"and no W2 ({len(w2)})")
    elif expect == "damage":
        check(rounds, f"racer: the reproducer saw damaged rounds on this kernel ({len(rounds)})")
    elif expect == "clean":
        check(not rounds and not w2, f"racer: no damage ({len(rounds)}) and no W2 ({len(w2)}) on a fixed kernel")

print("# run | damaged rounds | W2 findings | damaged rounds with W2 | W2 outside damage | uncertain W2")
for row in table:
    print("# " + " | ".join(map(str, row)))
sys.exit(ktap.finish())
EOF
