// One analysis session, live or replayed: every event goes to the recorder
// (if any), the race engine and the per-inode activity table; findings go
// to the output as the engine publishes them.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daxtrace/engine.h"
#include "daxtrace/trace.h"
#include "probe_set.h"

namespace dtcli {

class Output;

// Nanoseconds on this clock; CLOCK_MONOTONIC is bpf_ktime_get_ns()'s.
uint64_t clock_ns(clockid_t id);
// uname's release, "unknown" if uname fails.
std::string kernel_release();

// The header of a live recording: this host, this kernel, now, and the
// registry names of the kernel hook points that attached, with their
// mechanism ("fs_dax:dax_pte_fault@tp_btf"; hooks_from_names() reads them).
daxtrace::TraceHeader live_trace_header(const dtprobe::ProbeSet &probes);

// What one inode has been through: the columns of the live view.
struct InodeActivity {
	enum Kind { Fault, Zero, Writeback, Break, Remove, kKinds };
	uint64_t dev = 0, ino = 0;
	uint64_t count[kKinds] = {};
	uint64_t last_ts = 0;
	char last_comm[DT_COMM_LEN] = {};   // as the kernel gave it: not NUL-terminated if full
	uint64_t total() const;
};

class Session {
public:
	Session(const daxtrace::EngineConfig &cfg, Output &out, dtprobe::Filters filters = {},
		std::unique_ptr<daxtrace::TraceWriter> recorder = nullptr);

	// A run of events in time order (ProbeSet::poll(), a replay).
	void on_events(const dt_event *ev, size_t n);
	void on_event(const dt_event &e) { on_events(&e, 1); }
	// Live mode, after each ring-buffer poll that delivered `delivered`
	// events: once the ring is empty, trace time has reached now minus
	// the delivery slack even if no event came, so findings that are due
	// get published, and the recorder writes out events that have waited
	// a flush interval.
	void after_poll(int delivered);
	// Drain the engine, publish what it holds, close the recording.
	void finish();

	const daxtrace::Engine &engine() const { return engine_; }
	const std::vector<daxtrace::Finding> &findings() const { return findings_; }
	std::vector<InodeActivity> busiest_inodes(size_t n) const;
	// The inode table's bound: when full, the least busy half is forgotten.
	static constexpr size_t kMaxInodes = 1u << 16;
	uint64_t events() const { return events_; }
	uint64_t lost() const { return lost_; }
	uint64_t filtered() const { return filtered_; }
	uint64_t first_ts() const { return first_ts_; }
	uint64_t last_ts() const { return last_ts_; }
	const daxtrace::TraceWriter *recorder() const { return recorder_.get(); }

private:
	daxtrace::Engine engine_;
	Output &out_;
	dtprobe::Filters filters_;
	std::unique_ptr<daxtrace::TraceWriter> recorder_;
	// The live view's table (Output::shows_inodes()): kept only for an
	// output that shows it, at most kMaxInodes.  last_inode_ is the entry
	// of the last event's inode: map nodes do not move.
	bool track_inodes_;
	std::map<std::pair<uint64_t, uint64_t>, InodeActivity> inodes_;
	InodeActivity *last_inode_ = nullptr;
	void count_activity(const dt_event &e, int kind);
	void analyse(const dt_event *ev, size_t n);
	std::vector<daxtrace::Finding> findings_;
	uint64_t events_ = 0, lost_ = 0, filtered_ = 0, first_ts_ = 0, last_ts_ = 0;
};

}  // namespace dtcli
