#!/usr/bin/env python3
"""Writes a trace file (analyzer/TRACE_FORMAT.md) whose strings a terminal
or a JSON parser must not trust: a comm cut by the kernel in the middle of
a UTF-8 character (prctl(PR_SET_NAME, "app_сервис") keeps 15 bytes),
terminal escape sequences in a comm, the hostname and the kernel release,
and invalid UTF-8.  The events are an EXT4_IOC_SWAP_BOOT over a mapped,
pinned page, so the bad comms appear in findings (L1, L2) and their
evidence.  Needs the zstd command.
  make_unsafe_trace.py OUT.dxt"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dxt_write import EVENT, write_trace  # noqa: E402

FAULT_ENTER, FAULT_EXIT, IOMAP = 1, 2, 3
REMOVE_ENTER, REMOVE_EXIT, ENTRY_DELETE, ENTRY_DISASSOC = 18, 19, 20, 21
ROP_SWAP_BOOT, ROP_PAGECACHE = 6, 8
F_WRITE, F_TRUNC = 1, 8
MAPPER = "app_сервис".encode()[:15]          # the kernel cuts inside "и"
# The remover's comm is what findings show: a terminal escape (clear
# screen) and a name cut inside a UTF-8 character.
REMOVER = b"\x1b[2J" + "app_сервис".encode()[:9]
T0 = 5_000_000_000
DEV = (259 << 20) | 0


def ev(ts, typ, comm, tid, pgoff=0, nr=1, op=0, flags=0, ref=0, ret=0, block=0, length=0,
       iomap_type=0):
    # ts type hook cpu op pid tid dev ino pgoff nr_pages block len ret flags
    # refcount iomap_type iomap_flags reserved comm
    return struct.pack(EVENT, T0 + ts, typ, 0, 0, op, tid, tid, DEV, 12,
                       pgoff, nr, block, length, ret, flags, ref, iomap_type, 0, 0, comm)


events = [
    ev(100_000, FAULT_ENTER, MAPPER, 100, flags=F_WRITE),
    ev(110_000, IOMAP, MAPPER, 100, block=2048, length=4096, iomap_type=2),
    ev(120_000, FAULT_EXIT, MAPPER, 100, ret=0x100),
    ev(1_000_000, REMOVE_ENTER, REMOVER, 200, op=ROP_SWAP_BOOT),
    ev(1_100_000, REMOVE_ENTER, REMOVER, 200, op=ROP_PAGECACHE),
    ev(1_200_000, ENTRY_DELETE, REMOVER, 200),
    ev(1_300_000, ENTRY_DISASSOC, REMOVER, 200, flags=F_TRUNC, ref=3),
    ev(1_400_000, REMOVE_EXIT, REMOVER, 200, op=ROP_PAGECACHE),
    ev(1_500_000, REMOVE_EXIT, REMOVER, 200, op=ROP_SWAP_BOOT),
]
# The header is JSON: control characters arrive as \u001b escapes, which
# decode to raw ESC bytes.
write_trace(sys.argv[1], {"abi_version": 1, "hostname": "host\x1b[31mred",
                          "kernel_release": "6.1.0-\x1b[2Jx",
                          "hooks": ["fs_dax:dax_pte_fault@tp_btf", "ext4_ioctl@fentry"],
                          "start_wallclock_ns": 1763700000000000000,
                          "start_monotonic_ns": T0}, events)
