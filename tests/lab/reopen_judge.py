#!/usr/bin/env python3
"""Judge a race lab matrix (the results directory of reopen_matrix.sh).

OUT/FS/CLASS-mMODE.{tap,jsonl,replay.jsonl} are one reproducer run under
live daxtrace and its replay.  A round the reproducer saw damaged is
caught when a finding of the class's rule names the round's inode and
page with its window inside the round.  Checks (KTAP), per FS x class:
  - mode 1 (race re-opened): the reproducer saw damage, every damaged
    round is caught, and every finding of the rule belongs to a damaged
    round;
  - modes 0 and 2 (race closed): no damaged round and no finding of the
    class at all;
  - always: the replay of the recording gives exactly the live findings,
    and the reproducer finished.
Prints the table (markdown), and writes it to --table FILE if given.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ktap import Ktap  # noqa: E402  (tests/ktap.py)

RULE = {"Z": "Z1", "W": "W1", "T": "T1", "L3": "L3"}
CLASS = {"Z": "Z", "W": "W", "T": "T", "L3": "L"}
WORKLOAD = {"Z": "zero_store_wiped", "W": "mkwrite_wb_lost", "T": "punch_fault_stale",
            "L3": "busy_scan_locked"}
MODE = {"0": "off (patched kernel)", "1": "on (race re-opened)",
        "2": "off, same delay (serialised twin)"}
ROUND = re.compile(r"^# round (\d+): (\d+)\.\.(\d+) ns ino (\d+) pgoff (-?\d+) damaged ([01]) \((.*)\)")
SLACK_NS = 1_000_000


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def key(f):
    return (f["rule"], f["dev"], f["ino"], f["pgoff_first"], f["pgoff_last"],
            f["window_start_ns"], f["window_end_ns"], f["uncertain"])


def rounds_of(path):
    rounds, summary = [], None
    if os.path.exists(path):
        for line in open(path):
            m = ROUND.match(line)
            if m:
                rounds.append(dict(round=int(m[1]), t0=int(m[2]), t1=int(m[3]), ino=int(m[4]),
                                   pgoff=int(m[5]), damaged=m[6] == "1", what=m[7]))
            elif re.match(r"^# [a-z_]+: rounds \d+ damaged \d+", line):
                summary = line.strip()
    return rounds, summary


def in_round(f, r):
    return (f["ino"] == r["ino"] and f["pgoff_first"] <= r["pgoff"] <= f["pgoff_last"] and
            f["window_start_ns"] >= r["t0"] - SLACK_NS and f["window_end_ns"] <= r["t1"] + SLACK_NS)


def judge_cell(ktap, out, fs, cls, mode):
    base = os.path.join(out, fs, f"{cls}-m{mode}")
    rounds, summary = rounds_of(base + ".tap")
    live, replay = jsonl(base + ".jsonl"), jsonl(base + ".replay.jsonl")
    findings = [j for j in live if j["type"] == "finding"]
    rule_f = [f for f in findings if f["rule"] == RULE[cls]]
    class_f = [f for f in findings if f["class"] == CLASS[cls]]
    tag = f"{fs} {cls} mode {mode}"
    ktap.check(summary and rounds, f"{tag}: {WORKLOAD[cls]} finished ({summary})")
    damaged = [r for r in rounds if r["damaged"]]
    caught, used = 0, set()
    for r in damaged:
        hits = [i for i, f in enumerate(rule_f) if in_round(f, r)]
        used.update(hits)
        caught += bool(hits)
        if not hits:
            print(f"# {tag} round {r['round']} damaged, no {RULE[cls]}: {r['what']}")
    stray = [f for i, f in enumerate(rule_f) if i not in used]
    uncertain = sum(f["uncertain"] for f in rule_f)
    for f in rule_f:
        types = [e["type"].removeprefix("DT_") for e in f.get("evidence", [])]
        if not types:
            ktap.check(False, f"{tag}: {RULE[cls]} finding has evidence")
    if mode == "1":
        ktap.check(damaged, f"{tag}: the reproducer saw the race ({len(damaged)} of {len(rounds)} rounds)")
        ktap.check(caught == len(damaged),
                   f"{tag}: every damaged round has a {RULE[cls]} naming its page ({caught} of {len(damaged)})")
        ktap.check(not stray, f"{tag}: no {RULE[cls]} outside a damaged round ({len(stray)})",
                   *[json.dumps({k: f[k] for k in ('pgoff_first', 'window_start_ns', 'window_end_ns')})
                     for f in stray[:3]])
    else:
        ktap.check(not damaged, f"{tag}: no damaged round ({len(damaged)} of {len(rounds)})")
        ktap.check(not class_f, f"{tag}: no class {CLASS[cls]} finding "
                                f"({len(class_f)}: {sorted({f['rule'] for f in class_f})})")
    rf = [j for j in replay if j["type"] == "finding"]
    ktap.check(live and sorted(map(key, rf)) == sorted(map(key, findings)),
               f"{tag}: replay gives the same {len(findings)} findings ({len(rf)})")
    others = sorted({f["rule"] for f in findings if f["class"] != CLASS[cls]})
    return dict(fs=fs, cls=cls, mode=mode, rounds=len(rounds), damaged=len(damaged),
                rule_rounds=caught, missed=len(damaged) - caught, rule_findings=len(rule_f),
                stray=len(stray), class_findings=len(class_f), uncertain=uncertain,
                other=",".join(sorted({f["rule"] for f in class_f if f["rule"] != RULE[cls]})),
                other_classes=",".join(others),
                replay_same=sorted(map(key, rf)) == sorted(map(key, findings)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--fs", default="ext4,xfs")
    p.add_argument("--classes", default="Z,W,T,L3")
    p.add_argument("--modes", default="1,2")
    p.add_argument("--table")
    a = p.parse_args()
    ktap = Ktap()
    rows = []
    for fs in a.fs.split(","):
        for cls in a.classes.split(","):
            for mode in a.modes.split(","):
                rows.append(judge_cell(ktap, a.out, fs, cls, mode))
    lines = ["| fs | class (rule) | switch | runs | damaged runs | damaged runs with the finding "
             "| damaged runs missed | findings of the rule (outside damage) | findings of the class "
             "| replay same |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        extra = f" (+{r['other']})" if r["other"] else ""
        lines.append(f"| {r['fs']} | {r['cls']} ({RULE[r['cls']]}) | {MODE[r['mode']]} | {r['rounds']} "
                     f"| {r['damaged']} | {r['rule_rounds']} | {r['missed']} "
                     f"| {r['rule_findings']} ({r['stray']}) | {r['class_findings']}{extra} "
                     f"| {'yes' if r['replay_same'] else 'NO'} |")
    table = "\n".join(lines)
    print(table)
    if a.table:
        with open(a.table, "w") as f:
            f.write(table + "\n")
    return ktap.finish()


if __name__ == "__main__":
    sys.exit(main())
