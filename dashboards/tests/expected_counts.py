#!/usr/bin/env python3
"""Rows a replay must put in each ClickHouse table, from `daxtrace replay
--json TRACE` (read on stdin).  Prints "table count" lines."""
import json
import sys

events = findings = evidence = hooks = 0
near = 0
nm_distances = 0
for line in sys.stdin:
    j = json.loads(line)
    t = j.get("type")
    if t == "start":
        hooks = len(j.get("hooks", []))
    elif t == "finding":
        findings += 1
        evidence += len(j.get("evidence", []))
    elif t == "summary":
        events = j["events"]
        nm = j.get("near_misses", {})
        near = 4  # one "total" row per race class, even when empty
        for cls in nm.values():
            near += len(cls.get("per_fs", [])) + len(cls.get("per_inode", []))
            nm_distances += cls.get("total", {}).get("count", 0)
print("runs 1")
print("coverage", hooks)
print("events", events)
print("findings", findings)
print("finding_evidence", evidence)
print("near_misses", near)
print("stats 1")
print("near_miss_distances", nm_distances)
