#!/usr/bin/env python3
"""Assert the event sequences the daxtrace probes recorded in the lab.

check_events.py --events EV.jsonl --coverage COV.json --manifest MANIFEST

MANIFEST lines: "<scenario> <inode> [<hold_ms>]", scenario one of
hole-write, msync, pin-punch, pin-truncate.  Prints KTAP; exit 1 on any
failure.

A step whose hook did not attach is not silently passed: the test then
asserts that the coverage report names the hook as missing for its race
class (and that the class is not reported "full").
"""
import argparse
import glob
import json
import os
import sys

F_WRITE, F_BUSY, F_TRUNC = 1, 4, 8
IOMAP_MAPPED, IOMAP_F_NEW = 2, 1
VM_FAULT_FALLBACK = 0x800
ROP = {"pin-punch": 2, "pin-truncate": 1}


class Ktap:
    def __init__(self):
        self.results = []

    def ok(self, cond, name, diag=""):
        self.results.append(("ok" if cond else "not ok", name, diag))
        return cond

    def skip(self, name, why):
        self.results.append(("ok", name, "# SKIP " + why))

    def report(self):
        print("KTAP version 1")
        print(f"1..{len(self.results)}")
        bad = 0
        for i, (st, name, diag) in enumerate(self.results, 1):
            line = f"{st} {i} {name}"
            if diag:
                line += " " + (diag if diag.startswith("#") else "# " + diag)
            print(line)
            bad += st != "ok"
        print(f"# {len(self.results) - bad} passed, {bad} failed")
        return bad


REMOVE_OPS = ["unknown", "truncate", "punch", "zero_range", "collapse", "insert",
              "swap_boot", "swapext", "pagecache"]


def normalise(e):
    """dtprobe prints dtabi::event_json: type "DT_FAULT_ENTER", hook by its
    registry name, op by name, sector for a block, ret/refcount only when
    they say something.  The checks below read plain fields."""
    e["type"] = e["type"].removeprefix("DT_").lower()
    if isinstance(e.get("op"), str) and e["type"].startswith("remove_"):
        e["op"] = REMOVE_OPS.index(e["op"])
    if "sector" in e:
        e["block"] = e["sector"]
    e.setdefault("ret", 0)
    e.setdefault("refcount", 0)
    e.setdefault("op", 0)
    return e


def load_events(path):
    evs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                evs.append(normalise(json.loads(line)))
    evs.sort(key=lambda e: e["ts"])
    return evs


def first(evs, pred, after=None, before=None):
    for e in evs:
        if after is not None and e["ts"] < after["ts"]:
            continue
        if after is not None and e is after:
            continue
        if before is not None and e["ts"] > before["ts"]:
            break
        if pred(e):
            return e
    return None


def last(evs, pred, after=None, before=None):
    found = None
    for e in evs:
        if after is not None and e["ts"] <= after["ts"]:
            continue
        if before is not None and e["ts"] > before["ts"]:
            break
        if pred(e):
            found = e
    return found


def kernel_has_tracepoint(name):
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if glob.glob(f"{root}/events/*/{name}/format"):
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", required=True)
    ap.add_argument("--coverage", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--stats", help="dtprobe --stats output")
    a = ap.parse_args()

    t = Ktap()
    cov = json.load(open(a.coverage))
    evs = load_events(a.events)
    hooks = {h["name"]: h for h in cov["hooks"]}
    classes = {c["class"]: c for c in cov["classes"]}

    def attached(name):
        return hooks.get(name, {}).get("attached", False)

    def missing_reported(name):
        """The coverage report must say a hook that did not attach is missing."""
        h = hooks[name]
        if not h["applicable"]:
            return True
        ok = True
        for c in h["classes"]:
            cc = classes[c]
            listed = any(m.startswith(name + ":") for m in cc["missing"])
            ok &= listed and cc["coverage"] != "full"
        return ok

    def need(name, test_name):
        """True if the hook is attached; else record the coverage check."""
        if attached(name):
            return True
        t.ok(missing_reported(name),
             f"{test_name}: hook {name} not attached, coverage report says so",
             hooks.get(name, {}).get("reason", ""))
        return False

    # --- the coverage report itself
    t.ok(set(classes) == {"Z", "W", "L", "T"} and len(hooks) >= 20,
         "coverage report lists the four race classes and every hook")
    consistent = True
    for h in cov["hooks"]:
        if h["attached"]:
            consistent &= bool(h["targets"]) and h["mechanism"] != "none"
        elif h["applicable"]:
            consistent &= missing_reported(h["name"])
    t.ok(consistent, "coverage report: every unattached hook is listed as missing "
         "in its classes, every attached hook names its targets")
    for name, tps in (("entry_mkdirty", ["dax_entry_mkdirty"]),
                      ("entry_mkclean", ["dax_entry_mkclean"]),
                      ("layout_break", ["dax_layout_break_begin"]),
                      ("busy_page", ["dax_busy_page"]),
                      ("layout_wait", ["dax_layout_wait"])):
        present = all(kernel_has_tracepoint(x) for x in tps)
        t.ok(attached(name) == present,
             f"coverage: new tracepoint hook {name} attached iff the kernel has "
             f"{tps[0]} (kernel has it: {present})")
    t.ok(evs is not None, f"{len(evs)} events recorded")
    folded = 0
    if a.stats:
        st = json.load(open(a.stats))
        folded = st["folded"]
        t.ok(st["delivered"] == st["emitted"] + st["lost_reported"] and
             st["dropped"] == st["lost_reported"] and len(evs) == st["delivered"],
             "every event the kernel side emitted reached user space",
             f"emitted {st['emitted']}, dropped {st['dropped']}, delivered "
             f"{st['delivered']}, in file {len(evs)}")
        # The faults below reach this file as their usual events whether
        # they were sent one record per fault or part by part; that the
        # joined path ran at all is only visible in the counter.
        if attached("fault_join"):
            t.ok(st["joined"] > 0, "PTE faults sent as one record each (fault_join)",
                 f"{st['joined']} joined")
        else:
            t.ok(st["joined"] == 0, "fault_join not attached: every fault sent part by part",
                 f"{st['joined']} joined")
    lost = [e for e in evs if e["type"] == "lost"]
    t.ok(not lost, "no events lost", f"{sum(e['ret'] for e in lost)} lost" if lost else "")
    # The loader says which registry hook points it attached; every event
    # must come from one of them (or be daxtrace's own DT_LOST marker).
    points = {p for h in cov["hooks"] if h["attached"] for p in h.get("hook_points", [])}
    strays = sorted({e["hook"] for e in evs if e["hook"] not in points | {"daxtrace"}})
    t.ok(points and not strays, "every event comes from a hook point the loader "
         "reported attached", f"not reported: {strays}" if strays else "")

    scen = []
    with open(a.manifest) as f:
        for line in f:
            p = line.split()
            if p:
                scen.append((p[0], int(p[1]), int(p[2]) if len(p) > 2 else 0))

    for name, ino, hold in scen:
        mine = [e for e in evs if e["ino"] == ino]
        dev = mine[0]["dev"] if mine else None
        if name == "hole-write":
            check_hole_write(t, mine, evs, dev, need)
        elif name == "msync":
            check_msync(t, mine, need)
        elif name in ROP:
            check_pinned(t, name, mine, hold, need, folded)
    return 1 if t.report() else 0


def check_hole_write(t, mine, evs, dev, need):
    T = "Z hole-write"
    if not need("dax_fault", T):
        return
    # the fault that handled page 5: a PMD attempt that fell back to PTEs
    # (VM_FAULT_FALLBACK) does not count
    fe = fx = None
    for e in mine:
        if e["type"] == "fault_enter" and e["pgoff"] == 5 and e["flags"] & F_WRITE:
            x = first(mine, lambda y: y["type"] == "fault_exit" and y["pgoff"] == 5
                      and y["tid"] == e["tid"], after=e)
            if x and not x["ret"] & VM_FAULT_FALLBACK:
                fe, fx = e, x
                break
    if not t.ok(fe and fx, f"{T}: write fault on page 5 entered and completed "
                "(not a PMD fallback)"):
        return
    im = None
    if need("iomap", T):
        im = last(mine, lambda e: e["type"] == "iomap" and e["pgoff"] <= 5 <
                  e["pgoff"] + max(e["nr_pages"], 1), after=fe, before=fx)
        t.ok(im and im["iomap_flags"] & IOMAP_F_NEW and im["iomap_type"] == IOMAP_MAPPED,
             f"{T}: iomap inside the fault answers MAPPED with IOMAP_F_NEW",
             json.dumps(im) if im else "no iomap event for page 5 inside the fault")
    zero_hooks = [h for h in ("zero_ext4", "zero_xfs", "zero_blkdev", "alloc_zero")]
    if not any(need(h, T) for h in zero_hooks):
        return
    # the zeroing of the new block: the fs's own (same inode) or the block
    # layer's (same device, sector range containing the mapped block)
    def is_zero_of_block(e):
        if e["type"] != "zero":
            return False
        if im is None or im["block"] in (None, 2**64 - 1):
            return e["ino"] == fe["ino"] or (e["flags"] & 64 and e["dev"] == dev)
        lo, hi = e["block"], e["block"] + e["len"] // 512
        return lo <= im["block"] < hi and (e["ino"] == fe["ino"] or e["flags"] & 64)
    z = first(evs, is_zero_of_block, after=fe, before=fx)
    t.ok(z is not None, f"{T}: the new block is zeroed inside the fault",
         "" if z else "no zeroing event covering the new block")
    if z and im:
        t.ok(z["ts"] < im["ts"],
             f"{T}: zeroed before the mapping was handed to the fault (Z fix)")


def check_msync(t, mine, need):
    T = "W msync"
    if need("dax_fault", T):
        pages = {e["pgoff"] for e in mine if e["type"] == "fault_enter"
                 and e["flags"] & F_WRITE}
        t.ok(set(range(8)) <= pages, f"{T}: write faults on pages 0..7",
             f"faulted {sorted(pages)}")
    if need("entry_mkdirty", T):
        dirtied = {e["pgoff"] for e in mine if e["hook"] == "fs_dax:dax_entry_mkdirty"}
        t.ok(set(range(8)) <= dirtied,
             f"{T}: every written page's entry tagged dirty (mkdirty)",
             f"dirtied {sorted(dirtied)}")
        # The tagging happens inside the write fault, and is delivered so
        # however the fault was sent (part by part, or joined in one record
        # whose dirty part carries only a time and a pfn): same task, page and
        # inode, between that task's FAULT_ENTER and FAULT_EXIT.
        if need("dax_fault", T):
            outside = []
            for d in mine:
                if d["hook"] != "fs_dax:dax_entry_mkdirty" or d["pgoff"] not in range(8):
                    continue
                same = lambda e: e["tid"] == d["tid"] and e["pgoff"] == d["pgoff"] and \
                    e["ino"] == d["ino"]
                fe = last(mine, lambda e: e["type"] == "fault_enter" and same(e), before=d)
                fx = fe and first(mine, lambda e: e["type"] == "fault_exit" and same(e), after=fe)
                if not (fe and fx and fe["ts"] <= d["ts"] <= fx["ts"]):
                    outside.append(d["pgoff"])
            t.ok(not outside, f"{T}: each tagging lies inside its write fault",
                 f"outside: pages {sorted(outside)}")
    if not need("writeback_range", T):
        return
    wr = first(mine, lambda e: e["type"] == "wb_range_enter")
    wx = wr and first(mine, lambda e: e["type"] == "wb_range_exit", after=wr)
    if not t.ok(wr and wx, f"{T}: writeback range entered and finished"):
        return
    if need("writeback_one", T):
        flushed = set()
        for e in mine:
            if e["type"] == "wb_entry" and e["hook"] == "fs_dax:dax_writeback_one" and \
                    wr["ts"] <= e["ts"] <= wx["ts"]:
                flushed.update(range(e["pgoff"], e["pgoff"] + max(e["nr_pages"], 1)))
        t.ok(set(range(8)) <= flushed,
             f"{T}: every dirtied page flushed by per-entry writeback",
             f"flushed {sorted(flushed)}")
    if need("entry_mkclean", T):
        cleaned = {e["pgoff"] for e in mine if e["hook"] == "fs_dax:dax_entry_mkclean"
                   and wr["ts"] <= e["ts"] <= wx["ts"]}
        t.ok(set(range(8)) <= cleaned, f"{T}: every entry cleaned (mkclean)")
    if need("fsync", T):
        fs = last(mine, lambda e: e["type"] == "fsync_enter", before=wr)
        fx = fs and first(mine, lambda e: e["type"] == "fsync_exit"
                          and e["tid"] == fs["tid"], after=wx)
        t.ok(fs and fx and fx["ret"] == 0,
             f"{T}: msync's fsync encloses the writeback and succeeds")


def check_pinned(t, name, mine, hold_ms, need, folded):
    T = f"L {name}"
    rop = ROP[name]
    re_ = rx = None
    remove_hook = "remove_ext4" if any(e["hook"].startswith("ext4") for e in mine) \
        else "remove_xfs"
    if need("remove_ext4", T) | need("remove_xfs", T):
        # the last one: setting up the file (ftruncate up) is a removal too
        re_ = last(mine, lambda e: e["type"] == "remove_enter" and e["op"] == rop)
        rx = re_ and first(mine, lambda e: e["type"] == "remove_exit" and
                           e["tid"] == re_["tid"] and e["op"] == rop, after=re_)
        t.ok(re_ and rx and rx["ret"] == 0,
             f"{T}: block removal (op {rop}) entered and succeeded ({remove_hook})")
    b = [e for e in mine if (re_ is None or re_["ts"] <= e["ts"]) and
         (rx is None or e["ts"] <= rx["ts"])]
    be = None
    if need("break_ext4", T) | need("break_xfs", T) | need("layout_break", T):
        be = first(b, lambda e: e["type"] == "break_enter")
        t.ok(be is not None, f"{T}: layout break begins inside the removal")
    busy = idle = None
    if need("busy_scan", T):
        busy = first(b, lambda e: e["type"] == "busy_scan" and e["flags"] & F_BUSY,
                     after=be)
        t.ok(busy and busy["refcount"] >= 2,
             f"{T}: busy-page scan finds the pinned page (refcount >= 2)",
             json.dumps(busy) if busy else "no busy scan")
        bp = busy and first(b, lambda e: e["type"] == "break_busy", after=busy) \
            or first(b, lambda e: e["type"] == "break_busy")
        t.ok(bp and bp["pgoff"] == 3, f"{T}: the busy page is page 3",
             json.dumps(bp) if bp else "no break_busy event")
        idle = busy and first(b, lambda e: e["type"] == "busy_scan" and
                              not e["flags"] & F_BUSY, after=busy)
        waited = idle and (idle["ts"] - busy["ts"]) / 1e6
        t.ok(idle and waited >= 0.5 * hold_ms,
             f"{T}: break waits for the pin (next scan idle after >= {hold_ms // 2} ms)",
             f"waited {waited:.1f} ms" if idle else "no idle scan after the busy one")
    if need("layout_wait", T):
        w = first(b, lambda e: e["type"] == "break_wait")
        t.ok(w and w["pgoff"] == 3, f"{T}: layout wait on page 3")
    bx = last(b, lambda e: e["type"] == "break_exit")
    if be is not None:
        t.ok(bx and bx["ret"] == 0 and (idle is None or bx["ts"] >= idle["ts"]),
             f"{T}: layout break ends (ret 0) after the page went idle")
    after = idle or bx
    deleted = None
    if need("entry_delete", T):
        deleted = first(b, lambda e: e["type"] == "entry_delete" and e["pgoff"] == 3,
                        after=after)
        t.ok(deleted is not None, f"{T}: entry of page 3 deleted after the break")
        # Inside a removal the deletions are sent a run at a time
        # (struct dt_rec_deletes); each must still arrive once, with its
        # own time stamp.
        dels = [e for e in b if e["type"] == "entry_delete"]
        keys = [(e["ino"], e["pgoff"]) for e in dels]
        stamps = [e["ts"] for e in dels]
        t.ok(len(dels) > 1 and len(set(keys)) == len(keys) and
             len(set(stamps)) == len(stamps) and stamps == sorted(stamps),
             f"{T}: each deletion once, with its own time stamp, in time order",
             f"{len(dels)} deletions, {len(set(keys))} pages, {len(set(stamps))} time stamps")
    if need("disassociate", T):
        d = first(b, lambda e: e["type"] == "entry_disassoc" and e["pgoff"] == 3,
                  after=after)
        if deleted is None:
            t.ok(d and d["refcount"] <= 1 and d["flags"] & F_TRUNC,
                 f"{T}: page 3 disassociated on truncate with no pin left (refcount <= 1)",
                 json.dumps(d) if d else "no disassociation of page 3 after the break")
        else:
            # With the deletion reported, the idle page's disassociation is
            # not sent (bpf/progs/block_removal.bpf.h) but counted.
            t.ok(d is None and folded > 0,
                 f"{T}: page 3's idle disassociation folded into its deletion "
                 f"({folded} folded in the run)",
                 json.dumps(d) if d else "")


if __name__ == "__main__":
    sys.exit(main())
