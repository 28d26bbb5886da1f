// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// daxtrace probes: the user-space side of bpf/daxtrace.bpf.c.
//
//   dtprobe::Options opt;                 // filters, ring size, ...
//   dtprobe::ProbeSet probes(opt);
//   probes.attach();                      // throws dtprobe::ProbeError
//   for (auto &h : probes.hooks()) ...    // per-hook status
//   probes.coverage_json();               // per race class
//   while (running) probes.poll(100, [](const dt_event &e) { ... });
//   probes.detach();                      // or let the destructor do it
//
// Events arrive as the ABI's struct dt_event (daxtrace_abi.h).  Drops are
// never silent: when the per-CPU drop counter grows, poll() delivers a
// synthesised DT_LOST event (hook DT_HOOK_USER, cpu, ret = events lost).
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

namespace dtprobe {

// How a hook is attached, in order of preference.
enum class Mechanism { None, TpBtf, RawTp, Fentry, Kprobe };
const char *mechanism_name(Mechanism m);      // "tp_btf", "raw_tp", ...
bool parse_mechanism(const std::string &s, Mechanism *out);

// Race classes (DESIGN.md §1), as a bit set.
enum RaceClass : unsigned { kClassZ = 1, kClassW = 2, kClassL = 4, kClassT = 8 };
const char *class_letter(unsigned one_class);  // "Z", "W", "L", "T"
const char *class_title(unsigned one_class);

struct Filters {
	uint64_t dev = 0;        // sb->s_dev, kernel encoding (major << 20 | minor); 0 = any
	uint64_t ino = 0;        // 0 = any
	uint32_t pid = 0;        // thread-group id; 0 = any
	uint64_t cgroup_id = 0;  // cgroup v2 id; 0 = any
};

struct Options {
	Filters filters;
	size_t ringbuf_bytes = 8u << 20;         // power of two, >= page size
	// Batch consumer wake-ups: the kernel wakes poll() only once this many
	// bytes wait (0 = on every event).  poll()'s timeout bounds latency.
	size_t wakeup_bytes = 64u << 10;
	std::set<Mechanism> forbid;               // never use these (tests, --no-fentry)
	std::set<std::string> disable;            // logical hook names to leave off
	bool libbpf_debug = false;                // libbpf's own messages to stderr
};

// Status of one logical hook after attach().
struct HookStatus {
	std::string name;                 // e.g. "dax_fault"
	std::string what;                 // one line: what it observes
	unsigned classes = 0;             // RaceClass bits
	std::string fs;                   // "", "ext4" or "xfs"
	bool new_tracepoint = false;      // exists only with patches/ applied
	bool applicable = true;           // false: its filesystem is not in this kernel
	bool attached = false;
	Mechanism mechanism = Mechanism::None;
	std::vector<std::string> targets;  // what it attached to
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
	void detach();
	bool attached() const;

	const std::vector<HookStatus> &hooks() const;
	std::vector<ClassCoverage> coverage() const;
	nlohmann::json coverage_json() const;   // {"kernel":..,"hooks":[..],"classes":[..]}

	using EventFn = std::function<void(const dt_event &)>;
	// Wait up to timeout_ms for events and deliver them; then check the
	// drop counters and deliver DT_LOST events.  Returns the number of
	// events delivered (>= 0) or -errno.
	int poll(int timeout_ms, const EventFn &fn);
	int ring_fd() const;   // epoll-able fd of the ring buffer

	dt_cpu_stats total_stats() const;
	std::vector<dt_cpu_stats> cpu_stats() const;
	std::vector<ProgStats> prog_stats() const;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// Helpers for the JSON output of tools.
nlohmann::json event_json(const dt_event &e);
const char *event_type_name(unsigned type);
const char *hook_id_name(unsigned hook);

}  // namespace dtprobe
