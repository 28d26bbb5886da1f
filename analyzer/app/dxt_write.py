"""Writes a small trace file (analyzer/TRACE_FORMAT.md, version 1: header,
one zstd block, end marker) for tests that need strings no recording
would give.  Needs the zstd command."""
import json
import struct
import subprocess

EVENT = "<QHHHHIIQQQQQQqIIHHI16s"   # struct dt_event, 112 bytes


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def write_trace(path, meta, events):
    """meta: the header's JSON object; events: packed dt_event records."""
    meta = json.dumps(meta).encode()
    hdr = struct.pack("<8sHHIII", b"DAXTRACE", 1, 0, 1, 112, len(meta)) + struct.pack("<I", crc32c(meta))
    hdr += struct.pack("<I", crc32c(hdr))
    body = b"".join(events)
    assert len(body) == 112 * len(events)
    payload = subprocess.run(["zstd", "-q", "-c", "-3"], input=body, stdout=subprocess.PIPE,
                             check=True).stdout
    first_ts = struct.unpack_from("<Q", body)[0]
    bh = struct.pack("<IIIIQI", 0x4B425444, 0, len(events), len(payload), first_ts, crc32c(payload))
    bh += struct.pack("<I", crc32c(bh))
    end = struct.pack("<IIIIQI", 0x444E5444, 1, 0, 0, len(events), 0)
    end += struct.pack("<I", crc32c(end))
    with open(path, "wb") as f:
        f.write(hdr + meta + bh + payload + end)
