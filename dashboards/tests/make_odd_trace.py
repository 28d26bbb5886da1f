#!/usr/bin/env python3
"""Writes a small trace file (analyzer/TRACE_FORMAT.md) whose strings hold
everything TabSeparated must escape: tab, newline, backslash, quote, NUL,
control and non-UTF-8 bytes, in comm (events table) and in the hostname and
hook names (runs.host, runs.hooks array).  Needs the zstd command.
  make_odd_trace.py OUT.dxt  -> prints the comms (hex) it wrote, one a line"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analyzer", "app"))
from dxt_write import EVENT, write_trace  # noqa: E402

COMMS = [b"tab\there", b"nl\nx", b"back\\slash", b"q'uote\"", b"ctl\x01\x1f", b"\xff\xfe-bin",
         b"plain", b"sixteen-chars-xx"]
out = sys.argv[1]
meta = {"abi_version": 1, "hostname": "odd\thost'\\", "kernel_release": "6.1-odd",
        "hooks": ["it's:fentry", "back\\slash\ttab:kprobe"],
        "start_wallclock_ns": 1763700000000000000,
        "start_monotonic_ns": 5000000000}
events = []
ts = 5000000000
for i, c in enumerate(COMMS):
    ts += 1000
    events.append(struct.pack(EVENT, ts, 1, 1, 0, 0, 100 + i, 100 + i, (259 << 20), 12, i, 1, 0, 0,
                              0, 0, 0, 0, 0, 0, c[:16]))
write_trace(out, meta, events)
for c in COMMS:
    print(c[:16].hex().upper())
