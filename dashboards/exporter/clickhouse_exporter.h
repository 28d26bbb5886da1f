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
//
// A cluster (Options::cluster) is sharded by the exporter itself, not by
// INSERTs into the Distributed tables: each host's batches go, with their
// own spill directory and sender, straight into the NAME_local tables of
// the one shard its host name maps to.  So a batch is still one INSERT into
// one table on one server -- one part, all rows or none -- and a batch in
// doubt is looked up by batch_id on the very server that would have it:
// the single-server exactly-once argument holds per shard, and a shard
// killed -9 and restarted loses nothing and gets nothing twice.  Through
// the Distributed table neither holds: asynchronous INSERTs (the default)
// queue blocks on the receiving server and re-send one whose answer a
// killed shard never gave (plain MergeTree keeps both copies); synchronous
// ones (insert_distributed_sync) fail on 18.16 while any shard is down,
// stalling every host, and the batch_id lookup through the Distributed
// table fails the same way.  Here a dead shard stalls only its own hosts,
// whose batches wait on disk.
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
	// http://host:8123/ (ClickHouse HTTP interface); on a cluster the
	// shards' URLs, comma-separated, one per shard (any server of it).
	std::string url;
	// "": one server.  Else the cluster (remote_servers) the URLs are the
	// shards of: each host's rows go into the NAME_local tables of one
	// shard, chosen by its host name; Distributed tables NAME read them all.
	std::string cluster;
	std::string host_name;         // the host column ("": the run's host name)
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
