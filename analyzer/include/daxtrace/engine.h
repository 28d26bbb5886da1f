// The race-window engine: dt_events in, findings, near misses and
// statistics out.
//
//   daxtrace::Engine eng(daxtrace::EngineConfig{});
//   for (each event) eng.push(ev);      // any order within the window
//   eng.flush();                        // end of trace / Ctrl-C
//   for (auto &f : eng.take_findings()) puts(to_json(f).dump().c_str());
//
// Events are reordered by timestamp in a bounded window, then fed to the
// rules (rules_z/w/l/t.cpp).  Findings are published once no DT_LOST can
// still arrive for their window (config.loss_grace_ns after their end, or
// at flush()).
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daxtrace/finding.h"
#include "daxtrace/near_miss.h"
#include "daxtrace_abi.h"

namespace daxtrace {

struct EngineConfig {
	// Events are held this long (in trace time, against the newest
	// timestamp seen) before they are analysed; an event older than what
	// was already analysed is "late": counted and treated as lost.
	uint64_t reorder_window_ns = 10'000'000; // 10 ms
	// Per-page, per-task and per-inode state idle this long is retired.
	uint64_t idle_horizon_ns = 10'000'000'000ULL; // 10 s
	// Near misses farther apart than this are not recorded.
	uint64_t near_miss_horizon_ns = 1'000'000'000ULL; // 1 s
	// A finding is held this long (trace time, after its window ends) so
	// that a DT_LOST reported late can still mark it uncertain.
	uint64_t loss_grace_ns = 1'000'000'000ULL; // 1 s
	// W1: how long after a first-write fault completed its writer's
	// retried store may still fault again, which shows that a writeback
	// inside the fault write-protected the page in time (rules_w.cpp).
	uint64_t w1_refault_horizon_ns = 1'000'000'000ULL; // 1 s
	// Which hooks the probes attached (bit per enum dt_hook).  Empty =
	// unknown: every hook is assumed attached.  Rules that infer from the
	// absence of an event mark their findings uncertain when the hooks
	// that would have shown it were not attached.
	std::bitset<DT_HOOK_MAX> hooks_attached{};
	// Cap on per-inode near-miss histograms.
	size_t max_inode_histograms = 4096;
};

struct EngineStats {
	uint64_t events_in = 0;        // push() calls
	uint64_t events_analysed = 0;  // released from the reorder window
	uint64_t reordered = 0;        // arrived out of order, within the window
	uint64_t late = 0;             // arrived later than the window: not analysed
	uint64_t lost_markers = 0;     // DT_LOST events
	uint64_t lost_events = 0;      // sum of their counts
	uint64_t invalid = 0;          // unknown type: counted, ignored
	uint64_t findings = 0;
	uint64_t uncertain_findings = 0;
	// Published findings (gap sensitive) that a DT_LOST reported after
	// their publication may cover: they could not be marked any more.
	// Non-zero means DT_LOST markers arrive later than loss_grace_ns.
	uint64_t findings_before_late_loss = 0;
	uint64_t near_misses = 0;
	uint64_t unmatched_zeroing = 0; // DT_ZERO we could not map to pages
	uint64_t teardown_outside_removal = 0;
	uint64_t retired_pages = 0;
	uint64_t active_pages = 0;     // per-page state entries
	uint64_t active_tasks = 0;
	uint64_t active_inodes = 0;
	uint64_t open_removals = 0;
	uint64_t reorder_depth = 0;    // events waiting in the window now
	uint64_t reorder_depth_max = 0;
	uint64_t page_state_bytes = 0; // page table (capacity * slot size)
	uint64_t reorder_bytes = 0;    // reorder buffer storage
	uint64_t memory_bytes = 0;     // everything the engine holds
};
nlohmann::json to_json(const EngineStats &s);

class Engine {
public:
	explicit Engine(EngineConfig cfg = {});
	~Engine();
	Engine(const Engine &) = delete;
	Engine &operator=(const Engine &) = delete;

	void push(const dt_event &ev);
	void push(const dt_event *ev, size_t n);
	// Live use: trace time (CLOCK_MONOTONIC ns, the clock of dt_event.ts)
	// has reached now_ns even if no event came.  Releases what the window
	// no longer needs to hold and publishes findings that are due, so a
	// quiet stream does not delay them.  Call it e.g. on every poll timeout.
	void advance_to(uint64_t now_ns);
	// Analyse everything still in the reorder window, close the analysis
	// of open operations, publish all held findings.  push() may continue
	// afterwards (events older than the flushed ones are then late).
	void flush();

	// Called for each published finding (in addition to take_findings()).
	void set_callback(std::function<void(const Finding &)> cb);
	std::vector<Finding> take_findings();

	EngineStats stats() const;
	const NearMissTable &near_misses() const;
	const EngineConfig &config() const;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

} // namespace daxtrace
