// The ClickHouse exporter: events, findings with their evidence, near-miss
// histograms, counters, and run/host/coverage metadata, in batches, over
// ClickHouse's HTTP interface into the tables of schema.cpp.
//
// A library of its own: it knows the engine's results (daxtrace_analyzer)
// and the registry (daxtrace_abi), not the application that feeds it.
//
// Every batch is one INSERT into one table.  The caller's thread formats
// rows (TabSeparated, row.h) and, when a batch is full or old enough,
// writes it to the spill directory (spill_queue.h); the sender thread
// (delivery.h) delivers them.  So a server that is down, slow or refusing
// costs detection nothing: batches wait on disk until it answers, for this
// run or the next.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daxtrace/engine.h"
#include "daxtrace/finding.h"
#include "daxtrace/near_miss.h"

namespace dtch {

struct Options {
	std::string url;               // http://host:8123/ (ClickHouse HTTP interface)
	std::string database = "daxtrace";
	std::string credentials_file;  // "user:password" in a file; else the environment
	std::string spill_dir;         // batches that could not be delivered wait here
	size_t batch_rows = 10000;     // flush when a batch has this many rows ...
	double batch_seconds = 2.0;    // ... or is this old
	unsigned event_sample = 1;     // export every Nth event (1 = all, 0 = none)
	// SIGINTs seen by the caller: from the second on, finish() stops
	// waiting for delivery (batches stay in the spill directory).
	const std::atomic<int> *interrupts = nullptr;
};

struct RunInfo {
	bool live = false;
	std::string host, kernel;
	std::string trace_file;          // live: the --record file; replay: the trace
	std::vector<std::string> hooks;  // registry hook names (trace header form)
	nlohmann::json coverage;         // live: the probes' coverage object; else null
	uint64_t start_wallclock_ns = 0, start_monotonic_ns = 0;
};

// A run's cumulative counters at one moment.
struct Snapshot {
	double elapsed_s = 0;
	uint64_t events = 0, lost = 0, filtered = 0, findings = 0;
	uint64_t last_ts = 0;            // trace clock of the latest event (0: none)
	daxtrace::EngineStats engine;
	const daxtrace::NearMissTable *near_misses = nullptr;
};

class Exporter {
public:
	// Throws std::runtime_error with a one-line message on bad options.
	explicit Exporter(const Options &opt);
	~Exporter();
	Exporter(const Exporter &) = delete;
	Exporter &operator=(const Exporter &) = delete;

	void start(const RunInfo &run);
	void event(const dt_event &e);
	void finding(const daxtrace::Finding &f);
	// Periodic: seals old batches, a stats/near-miss snapshot each minute.
	void tick(const Snapshot &s);
	// The final snapshot, then delivery of everything (bounded wait).
	void finish(const Snapshot &s);
	// After finish(): why batches of this run were not delivered, one
	// line; "" when all were (or another daxtrace took them over).
	std::string failure() const;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

}  // namespace dtch
