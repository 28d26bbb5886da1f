// What one row of each table is made from.  The exporter fills one of
// these per row (clickhouse_exporter.cpp); which column takes what of it is
// said once, beside the column's name and type, in schema.cpp.  Most are
// the engine's own objects (an event, a finding, a snapshot), so a new
// column that shows one more of their fields is one line in schema.cpp
// (and the SQL that reads it).
#pragma once

#include <cstdint>
#include <string_view>

#include "clickhouse_exporter.h"
#include "daxtrace_abi.h"

namespace dtch {

// In every row but schema_info's: where it comes from and the batch that
// delivers it.  Given to every column's writer beside the row's source.
struct Origin {
	std::string_view host, run_id, batch_id;
};

struct SchemaInfoRow {
	unsigned version;
};

struct RunRow {
	uint64_t start_ns;
	const RunInfo &run;
	unsigned event_sample;
};

// One hook or race class of a run's coverage (from the probes' coverage
// object live, from the trace header's hook list on replay).
struct CoverageRow {
	uint64_t start_ns;
	std::string_view kind, name, mechanism;
	bool attached;
	std::string_view detail;
};

struct EventRow {
	uint64_t wall_ns, seq;
	unsigned sample;   // events this row stands for
	const dt_event &e;
};

struct FindingRow {
	uint64_t wall_start_ns, no;
	const daxtrace::Finding &f;
};

struct EvidenceRow {
	uint64_t wall_start_ns, no;
	uint32_t idx;
	const daxtrace::Finding &f;
	uint64_t wall_ns;
	int64_t offset_ns;   // from the first evidence event
	const dt_event &e;
};

struct StatsRow {
	uint64_t snapshot_ns;
	uint32_t no;
	bool final;
	const Snapshot &s;
	uint64_t exported_events, export_failures;
};

struct NearMissRow {
	uint64_t snapshot_ns;
	uint32_t no;
	bool final;
	std::string_view scope;
	int cls;
	uint64_t dev, ino;
	const daxtrace::Histogram &h;
};

struct DeviceRow {
	uint64_t seen_ns, dev;
	std::string_view fs;
};

}  // namespace dtch
