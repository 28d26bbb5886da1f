#!/usr/bin/env python3
"""Judge a daxtrace lab run (the results directory of daxtrace_races.sh).

Prints KTAP and exits non-zero when a check fails:
  --expect CLASS:COMM    at least one finding of CLASS whose task is COMM*,
                         not one marked uncertain for lost events
  --forbid CLASS[:COMM]  no finding of CLASS (involving COMM*); CLASS may
                         also be one rule (W1).  A finding the engine marked
                         uncertain because the ring dropped events near it
                         is listed but not counted: with events missing it
                         cannot tell a race from its own gap, and says so.
                         Any other finding, certain or not, fails.
  --near-miss CLASS      the summary has near misses of CLASS
  --workload-fails NAME  workload NAME shows the race itself (fails a check)
  --no-kernel-warnings   the guest kernel log has no WARN/BUG/oops
Always: the replay of the recorded trace gives exactly the live findings,
and every other workload passed its own checks.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ktap import Ktap  # noqa: E402  (tests/ktap.py, found through the path above)


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def involves(finding, comm):
    return any(t.get("comm", "").startswith(comm[:15]) for t in finding.get("tasks", []))


def lost_near(f):
    """The engine marked f uncertain because events were dropped near it."""
    return f.get("uncertain") and "lost" in f.get("uncertain_reason", "")


def key(f):
    return (f["rule"], f["dev"], f["ino"], f["pgoff_first"], f["pgoff_last"],
            f["window_start_ns"], f["window_end_ns"], f["uncertain"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outdir")
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--forbid", action="append", default=[])
    p.add_argument("--near-miss", action="append", default=[])
    p.add_argument("--workload-fails", action="append", default=[])
    p.add_argument("--no-kernel-warnings", action="store_true")
    a = p.parse_args()

    live = load_jsonl(os.path.join(a.outdir, "daxtrace.jsonl"))
    replay = load_jsonl(os.path.join(a.outdir, "replay.jsonl"))
    findings = [j for j in live if j["type"] == "finding"]
    summary = [j for j in live if j["type"] == "summary"]
    ktap = Ktap()
    check = ktap.check

    check(summary, "live run ended with a summary (clean SIGINT)")
    s = summary[-1] if summary else {}
    print(f"# {s.get('events', 0)} events, {s.get('lost', 0)} lost, "
          f"findings by rule: {s.get('findings_by_rule', {})}")
    for f in findings:
        print(f"# finding {f['rule']} {f['name']} ino {f['ino']} "
              f"tasks {[t['comm'] for t in f['tasks']]} window {f['window_ns']} ns")
    check(s.get("events", 0) > 0, f"daxtrace saw events ({s.get('events', 0)})")

    for spec in a.expect:
        cls, comm = spec.split(":", 1)
        hits = [f for f in findings if f["class"] == cls and involves(f, comm)
                and not lost_near(f)]
        check(hits, f"a class {cls} finding for {comm} ({len(hits)}: "
                    f"{sorted({f['rule'] for f in hits})})")
    for spec in a.forbid:
        cls, _, comm = spec.partition(":")
        hits = [f for f in findings if cls in (f["class"], f["rule"]) and
                (not comm or involves(f, comm))]
        gaps = [f for f in hits if lost_near(f)]
        hits = [f for f in hits if not lost_near(f)]
        check(not hits, f"no class {cls} finding{' for ' + comm if comm else ''} "
                        f"({len(hits)}: {sorted({f['rule'] for f in hits})}"
                        f"{f'; {len(gaps)} more marked uncertain for lost events' if gaps else ''})")
    # The uncertain findings let through above are only honest if the run
    # really lost events: the summary's count is the kernel side's.
    gaps = [f for f in findings if lost_near(f)]
    if gaps:
        check(s.get("lost", 0) > 0, f"{len(gaps)} findings uncertain for lost events, "
                                    f"and the run reported {s.get('lost', 0)} lost")
    nm = s.get("near_misses", {})
    for cls in a.near_miss:
        n = nm.get(cls, {}).get("total", {}).get("count", 0)
        check(n > 0, f"class {cls} near misses recorded ({n})")

    rfind = [j for j in replay if j["type"] == "finding"]
    check(sorted(map(key, rfind)) == sorted(map(key, findings)),
          f"replay of the recorded trace gives the same {len(findings)} findings ({len(rfind)})")

    # workloads.tap: "# ---- NAME" then that workload's KTAP.
    failing, name = {}, None
    for line in open(os.path.join(a.outdir, "workloads.tap")):
        if line.startswith("# ---- "):
            name = line[7:].strip()
            failing.setdefault(name, [])
        elif line.startswith("not ok") and name:
            failing[name].append(line.strip())
    for name in a.workload_fails:
        check(failing.get(name), f"{name} shows the race itself: {failing.get(name)}")
    others = {n: f for n, f in failing.items() if f and n not in a.workload_fails}
    check(failing and not others, f"the other {len(failing) - len(a.workload_fails)} workloads "
          f"passed their own checks{': ' + str(others) if others else ''}")

    if a.no_kernel_warnings:
        path = os.path.join(a.outdir, "kernel-warnings.txt")
        warn = open(path).read().splitlines() if os.path.exists(path) else []
        check(not warn, f"no WARN/BUG/oops in the guest kernel log ({len(warn)})")

    return ktap.finish()


if __name__ == "__main__":
    sys.exit(main())
