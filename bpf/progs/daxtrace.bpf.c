// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * daxtrace BPF programs: one object with every hook point of the registry
 * (bpf/abi/daxtrace_registry.def) in every attach flavour it can have:
 * tp_btf and raw_tp for a tracepoint, fentry/fexit and kprobe/kretprobe
 * for a function.  Each program reports what it saw as a compact record
 * (daxtrace_ring.h) written in place into one ring buffer; the loader
 * expands the records into the ABI's struct dt_event.  The loader (bpf/loader) finds each program's hook
 * by its section target, turns on per logical hook the first flavour the
 * running kernel accepts and turns the others off before load, so one
 * compiled object runs on every kernel we support.
 *
 * The code is split by race class; the files are included into this one
 * translation unit so that they share one set of maps and configuration
 * (core.bpf.h) and the skeleton stays one object:
 *
 *   core.bpf.h           config, maps, task storage, filter/reserve/submit
 *   faults.bpf.h         Z W T  DAX page faults
 *   iomap.bpf.h          Z T    the filesystem's mapping answer
 *   zeroing.bpf.h        Z      zeroing of newly allocated blocks
 *   writeback.bpf.h      W      first write (pfn_mkwrite) and writeback
 *   layout_breaks.bpf.h  L      layout breaks and busy pages
 *   block_removal.bpf.h  L T    punch/truncate/... and the entries they drop
 *
 * A new hook: its DT_HOOK line in the registry, and its programs in the
 * file of its race class, with the section target named as in the
 * registry (the tracepoint's event, or the function).
 */
#include "core.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "faults.bpf.h"
#include "iomap.bpf.h"
#include "zeroing.bpf.h"
#include "writeback.bpf.h"
#include "layout_breaks.bpf.h"
#include "block_removal.bpf.h"
