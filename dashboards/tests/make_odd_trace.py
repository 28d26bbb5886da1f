#!/usr/bin/env python3
"""Writes a small trace file (analyzer/TRACE_FORMAT.md) whose strings hold
everything TabSeparated must escape: tab, newline, backslash, quote, NUL,
control and non-UTF-8 bytes, in comm (events table) and in the hostname and
hook names (runs.host, runs.hooks array).  Needs the zstd command.
  make_odd_trace.py OUT.dxt  -> prints the comms (hex) it wrote, one a line"""
import json
import struct
import subprocess
import sys


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


COMMS = [b"tab\there", b"nl\nx", b"back\\slash", b"q'uote\"", b"ctl\x01\x1f", b"\xff\xfe-bin",
         b"plain", b"sixteen-chars-xx"]
out = sys.argv[1]
meta = json.dumps({"abi_version": 1, "hostname": "odd\thost'\\", "kernel_release": "6.1-odd",
                   "hooks": ["it's:fentry", "back\\slash\ttab:kprobe"],
                   "start_wallclock_ns": 1763700000000000000,
                   "start_monotonic_ns": 5000000000}).encode()
hdr = struct.pack("<8sHHIII", b"DAXTRACE", 1, 0, 1, 112, len(meta)) + struct.pack("<I", crc32c(meta))
hdr += struct.pack("<I", crc32c(hdr))
events = b""
ts = 5000000000
for i, c in enumerate(COMMS):
    ts += 1000
    # ts type hook cpu op pid tid dev ino pgoff nr_pages block len ret flags refcount
    # iomap_type iomap_flags reserved comm
    events += struct.pack("<QHHHHIIQQQQQQqIIHHI16s", ts, 1, 1, 0, 0, 100 + i, 100 + i,
                          (259 << 20), 12, i, 1, 0, 0, 0, 0, 0, 0, 0, 0, c[:16])
assert len(events) == 112 * len(COMMS)
payload = subprocess.run(["zstd", "-q", "-c", "-3"], input=events, stdout=subprocess.PIPE, check=True).stdout
bh = struct.pack("<IIIIQI", 0x4B425444, 0, len(COMMS), len(payload), 5000001000, crc32c(payload))
bh += struct.pack("<I", crc32c(bh))
end = struct.pack("<IIIIQI", 0x444E5444, 1, 0, 0, len(COMMS), 0)
end += struct.pack("<I", crc32c(end))
with open(out, "wb") as f:
    f.write(hdr + meta + bh + payload + end)
for c in COMMS:
    print(c[:16].hex().upper())
