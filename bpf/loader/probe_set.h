// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// daxtrace probes: the user-space side of bpf/progs/daxtrace.bpf.c.
//
//   dtprobe::Options opt;                 // filters, ring size, ...
//   dtprobe::ProbeSet probes(opt);
//   probes.attach();                      // throws dtprobe::ProbeError
//   for (auto &h : probes.hooks()) ...    // per-hook status
//   probes.coverage_json();               // per race class
//   while (running) probes.poll(100, [](const dt_event *ev, size_t n) { ... });
//   probes.detach();                      // or let the destructor do it
//
// Events arrive as the ABI's struct dt_event (daxtrace_abi.h), expanded
// from the compact ring records of daxtrace_ring.h.  Drops are
// never silent: when the per-CPU drop counter grows, poll() delivers a
// synthesised DT_LOST event (dtabi::make_lost_event: hook DT_HOOK_USER,
// cpu, ret = events lost).
//
// The logical hooks, their hook points and their fallback order come from
// the registry (bpf/abi/daxtrace_registry.def, C++ view in registry.h);
// names, JSON and race-class letters of events are dtabi:: functions.  A
// hook point's programs are found in the BPF object by section target, so
// the loader has no table of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daxtrace_abi.h"
#include "registry.h"

namespace dtprobe {

// How a hook is attached, in order of preference.
enum class Mechanism { None, TpBtf, RawTp, Fentry, Kprobe };
const char *mechanism_name(Mechanism m);      // "tp_btf", "raw_tp", ...
bool parse_mechanism(const std::string &s, Mechanism *out);

struct Filters {
	uint64_t dev = 0;        // sb->s_dev, kernel encoding (major << 20 | minor); 0 = any
	uint64_t ino = 0;        // 0 = any
	uint32_t pid = 0;        // thread-group id; 0 = any
	uint64_t cgroup_id = 0;  // cgroup v2 id; 0 = any
};

struct Options {
	Filters filters;
	size_t ringbuf_bytes = 8u << 20;         // power of two, >= page size
	// Batch consumer wake-ups: each CPU wakes poll() once per this many
	// bytes it submitted (0 = on every record; all CPUs' together at most
	// a quarter of the ring).  poll()'s timeout bounds the latency of
	// what waits unwoken.  Each wake-up costs the consumer a context
	// switch and its caches: in the lab, 64 KiB woke it ~50 times a
	// second under one fault-heavy workload, 512 KiB ~14 (mostly the
	// poll timeout), and dtprobe used 30% less CPU.
	size_t wakeup_bytes = 512u << 10;
	std::set<Mechanism> forbid;               // never use these (tests, --no-fentry)
	std::set<std::string> disable;            // logical hook names to leave off
	// Send a PTE fault that runs without a task switch as one record (the
	// fault_join hook group; bpf/README.md): ~15% less BPF run time per
	// fault, for about what the consumer's ordering of held faults
	// (held_fault_order.h) costs it.
	bool join_faults = true;
	// Measurement only (bench_bpf.sh): attach the same programs, each
	// returning at once, for what the hooks cost before any work.
	bool empty_programs = false;
	bool libbpf_debug = false;                // libbpf's own messages to stderr
};

struct HoldBackStats {
	uint64_t held_back = 0;
	uint64_t given_up = 0;
};

// Status of one logical hook after attach().
// One per registry DT_GROUP, in registry order.
struct HookStatus {
	std::string name;                 // e.g. "dax_fault" (the registry group)
	std::string what;                 // one line: what it observes
	unsigned classes = 0;             // DT_CLASS_* bits
	std::string fs;                   // "", "ext4" or "xfs"
	bool new_tracepoint = false;      // exists only with patches/ applied
	bool applicable = true;           // false: its filesystem is not in this kernel
	bool attached = false;
	Mechanism mechanism = Mechanism::None;
	std::vector<std::string> targets;  // what it attached to (tracepoint event or function)
	// The registry hook points (enum dt_hook) attached for it: the events
	// it delivers carry these ids; dtabi::hook_name(id) names them.
	std::vector<uint16_t> hook_ids;
	std::vector<std::string> tried;    // "fentry: refused by the kernel (EPERM)", ...
	std::string reason;                // why it is not attached ("" if attached)
};

enum class CoverageLevel { Full, Partial, Blind };
const char *coverage_name(CoverageLevel c);    // "full", "partial", "blind"

struct ClassCoverage {
	unsigned cls = 0;
	CoverageLevel level = CoverageLevel::Blind;
	std::vector<std::string> attached;
	std::vector<std::string> missing;          // "name: reason"
	std::vector<std::string> not_applicable;   // "name: reason"
};

struct ProgStats {
	std::string prog;       // BPF program name
	std::string hook;       // logical hook
	uint64_t run_cnt = 0;
	uint64_t run_time_ns = 0;  // needs kernel.bpf_stats_enabled=1
};

// A fatal, user-facing error: missing privileges, no BTF, nothing attached.
class ProbeError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

class ProbeSet {
public:
	explicit ProbeSet(Options opt = {});
	~ProbeSet();
	ProbeSet(const ProbeSet &) = delete;
	ProbeSet &operator=(const ProbeSet &) = delete;

	// Choose a mechanism per hook, load, attach (with fallbacks).  Throws
	// ProbeError when the probes cannot run at all; a missing individual
	// hook is not an error, it is reported by hooks() and coverage().
	void attach();
	// Stop the probes.  The ring buffer and the counters stay: poll()
	// drains what the probes wrote before, total_stats() still counts.
	void detach();
	bool attached() const;

	const std::vector<HookStatus> &hooks() const;
	// Registry names of every attached hook point, e.g.
	// "fs_dax:dax_pte_fault", "dax_iomap_fault" (trace headers, evidence).
	std::vector<std::string> attached_hook_names() const;
	std::vector<ClassCoverage> coverage() const;
	nlohmann::json coverage_json() const;   // {"kernel":..,"hooks":[..],"classes":[..]}

	// A run of events in time order, valid while the call lasts.  Runs,
	// not single events: a call per event (and the callee's own call per
	// event into the engine) cost the live reader more than its work.
	using EventsFn = std::function<void(const dt_event *, size_t)>;
	// Wait up to timeout_ms for events and deliver them; then check the
	// drop counters and deliver DT_LOST events.  Returns the number of
	// events delivered (>= 0) or -errno.
	int poll(int timeout_ms, const EventsFn &fn);
	int ring_fd() const;   // epoll-able fd of the ring buffer

	dt_cpu_stats total_stats() const;
	std::vector<dt_cpu_stats> cpu_stats() const;
	// With Options::join_faults: events poll() held back behind a held
	// fault, and held faults it stopped waiting for (their events may
	// then reach the engine late).
	HoldBackStats hold_back_stats() const;
	std::vector<ProgStats> prog_stats() const;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// "" when this process may load and attach the probes, else a sentence
// naming the missing capabilities (CAP_BPF and CAP_PERFMON, or
// CAP_SYS_ADMIN) and how to grant them.  attach() checks it first; tools
// may call it to fail early.
std::string missing_privileges();

// Programs of the BPF object whose section target names no registry hook
// point of their kind, and registry hook points no program implements:
// one line each, empty when object and registry agree.  attach() refuses
// to run on a mismatch; sections are "tp_btf/dax_pte_fault", ...
std::vector<std::string> registry_mismatches(const std::vector<std::string> &sections);
// The section names of the compiled-in object (no privileges needed).
std::vector<std::string> object_sections();

}  // namespace dtprobe
