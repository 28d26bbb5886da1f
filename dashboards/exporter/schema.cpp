// The one column specification of every table: each column's name, type,
// DEFAULT or comment, and what the exporter writes into it (a function of
// the table's row source, rows.h).  The CREATE TABLE statements the
// exporter runs, the column list of its INSERTs, the rows themselves
// (row.h: append_row) and ../clickhouse/schema.sql (for people;
// schema_test.sh keeps it equal to `clickhouse_schema`'s output) all come
// from here: a new column is one line below, plus the SQL that reads it.
#include "schema.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <map>
#include <stdexcept>
#include <set>
#include <sstream>
#include <vector>

#include "ch_errors.h"
#include "clickhouse_http.h"
#include "registry.h"
#include "row.h"
#include "rows.h"

namespace dtch {
namespace {

// A column the exporter writes: value(source) is its field, source being
// the table's row source (rows.h).  Checked at compile time: a value whose
// kind does not fit the column's type (a string for a UInt32) does not
// compile.
template <class Source, class Value>
consteval Column col(std::string_view name, std::string_view type, std::string_view comment, Value)
{
	if (value_kind<std::invoke_result_t<Value, const Source &>>() != field_kind(type))
		throw "the value of a column does not fit its type";
	return {name, type, "", comment, field_kind(type), [](Row &row, const Origin &, const void *s) {
			row.put(Value{}(*static_cast<const Source *>(s)));
		}};
}

// A column the server fills itself.
consteval Column derived(std::string_view name, std::string_view type, std::string_view default_expr)
{
	return {name, type, default_expr, "", field_kind(type)};
}

// host, run_id, batch_id: in every table, from the row's Origin.
template <std::string_view Origin::*member>
consteval Column origin(std::string_view name)
{
	return {name, "String", "", "", FieldKind::String,
		[](Row &row, const Origin &o, const void *) { row.put(o.*member); }};
}
constexpr Column c_host = origin<&Origin::host>("host");
constexpr Column c_run_id = origin<&Origin::run_id>("run_id");
constexpr Column c_batch_id = origin<&Origin::batch_id>("batch_id");

template <size_t... N>
consteval auto cat(const std::array<Column, N> &...parts)
{
	std::array<Column, (N + ...)> all{};
	size_t i = 0;
	((std::copy(parts.begin(), parts.end(), all.begin() + i), i += N), ...);
	return all;
}

// ClickHouse Strings are bytes: comm arrives exactly as the kernel gave it
// (the export tests check odd bytes byte for byte).
std::string_view raw_comm(const dt_event &e) { return {e.comm, strnlen(e.comm, DT_COMM_LEN)}; }

std::string op_of(const dt_event &e)
{
	if (e.type == DT_ZERO)
		return std::string(dtabi::zero_op_name(e.op));
	if (e.type == DT_REMOVE_ENTER || e.type == DT_REMOVE_EXIT)
		return std::string(dtabi::remove_op_name(e.op));
	return e.op ? std::to_string(e.op) : std::string();
}

std::string dev_or_empty(uint64_t dev) { return dev ? dtabi::dev_name(dev) : std::string(); }

template <class T>
std::vector<T> of_tasks(const daxtrace::Finding &f, T daxtrace::TaskRef::*field)
{
	std::vector<T> v;
	for (const auto &t : f.tasks)
		v.push_back(t.*field);
	return v;
}

// The fields of a dt_event (Source::e), which events and finding_evidence
// share.
template <class S>
consteval auto event_columns()
{
	return std::to_array<Column>({
		col<S>("type", "String", "DT_FAULT_ENTER ...", [](auto &r) { return dtabi::type_name(r.e.type); }),
		col<S>("hook", "String", "", [](auto &r) { return dtabi::hook_name(r.e.hook); }),
		col<S>("cpu", "UInt16", "", [](auto &r) { return r.e.cpu; }),
		col<S>("op", "String", "", [](auto &r) { return op_of(r.e); }),
		col<S>("pid", "UInt32", "", [](auto &r) { return r.e.pid; }),
		col<S>("tid", "UInt32", "", [](auto &r) { return r.e.tid; }),
		col<S>("comm", "String", "", [](auto &r) { return raw_comm(r.e); }),
		col<S>("dev", "UInt64", "kernel encoding (major << 20 | minor)", [](auto &r) { return r.e.dev; }),
		col<S>("dev_name", "String", "\"259:0\"", [](auto &r) { return dev_or_empty(r.e.dev); }),
		col<S>("ino", "UInt64", "", [](auto &r) { return r.e.ino; }),
		col<S>("pgoff", "UInt64", "", [](auto &r) { return r.e.pgoff; }),
		col<S>("nr_pages", "UInt64", "", [](auto &r) { return r.e.nr_pages; }),
		col<S>("block", "UInt64", "", [](auto &r) { return r.e.block; }),
		col<S>("len", "UInt64", "", [](auto &r) { return r.e.len; }),
		col<S>("ret", "Int64", "", [](auto &r) { return r.e.ret; }),
		col<S>("flags", "UInt32", "", [](auto &r) { return r.e.flags; }),
		col<S>("refcount", "UInt32", "", [](auto &r) { return r.e.refcount; }),
	});
}

// The columns of a snapshot (stats, near_misses) before its own.
template <class S>
consteval auto snapshot_columns()
{
	return std::to_array<Column>({
		col<S>("snapshot_ns", "UInt64", "", [](auto &r) { return r.snapshot_ns; }),
		derived("snapshot_time", "DateTime", "toDateTime(intDiv(snapshot_ns, 1000000000))"),
		derived("snapshot_date", "Date", "toDate(snapshot_time)"),
		c_host,
		c_run_id,
		col<S>("snapshot_no", "UInt32", "", [](auto &r) { return r.no; }),
		col<S>("is_final", "UInt8", "1: the run's last snapshot", [](auto &r) { return r.final; }),
		c_batch_id,
	});
}

// Runs unchanged on ClickHouse 18.16 (Debian's) and current releases: no
// DateTime64, no LowCardinality, no TTL clause.
using SchemaInfo = SchemaInfoRow;
constexpr Column k_schema_info[] = {
	col<SchemaInfo>("schema_version", "UInt32", "", [](auto &r) { return r.version; }),
	derived("created", "DateTime", "now()"),
};

using Run = RunRow;
constexpr Column k_runs[] = {
	col<Run>("start_ns", "UInt64", "wall clock", [](auto &r) { return r.start_ns; }),
	derived("start_time", "DateTime", "toDateTime(intDiv(start_ns, 1000000000))"),
	derived("run_date", "Date", "toDate(start_time)"),
	c_host,
	c_run_id,
	c_batch_id,
	col<Run>("source", "String", "'live' or 'replay'", [](auto &r) { return r.run.live ? "live" : "replay"; }),
	col<Run>("kernel", "String", "", [](auto &r) { return r.run.kernel; }),
	col<Run>("trace_file", "String", "replay: the trace; live: --record file", [](auto &r) { return r.run.trace_file; }),
	col<Run>("daxtrace_version", "String", "", [](auto &) { return "daxtrace 0.1"; }),
	col<Run>("event_sample", "UInt32", "events table holds every Nth event (0 = none)",
		 [](auto &r) { return r.event_sample; }),
	col<Run>("hooks", "Array(String)", "hook:mechanism of every attached hook", [](auto &r) { return r.run.hooks; }),
	col<Run>("coverage_json", "String", "live: doctor's coverage object", [](auto &r) {
		return r.run.coverage.is_object() ? r.run.coverage.dump() : std::string();
	}),
};

using Coverage = CoverageRow;
constexpr Column k_coverage[] = {
	col<Coverage>("start_ns", "UInt64", "", [](auto &r) { return r.start_ns; }),
	derived("start_time", "DateTime", "toDateTime(intDiv(start_ns, 1000000000))"),
	derived("run_date", "Date", "toDate(start_time)"),
	c_host,
	c_run_id,
	c_batch_id,
	col<Coverage>("kind", "String", "'hook' or 'class'", [](auto &r) { return r.kind; }),
	col<Coverage>("name", "String", "hook name or race class (Z W L T)", [](auto &r) { return r.name; }),
	col<Coverage>("mechanism", "String", "tp_btf, raw_tp, fentry, kprobe ('' for classes)",
		      [](auto &r) { return r.mechanism; }),
	col<Coverage>("attached", "UInt8", "hook attached / class fully covered", [](auto &r) { return r.attached; }),
	col<Coverage>("detail", "String", "class: full|partial|none; hook: reason", [](auto &r) { return r.detail; }),
};

using Event = EventRow;
constexpr auto k_events = cat(
	std::to_array<Column>({
		col<Event>("wall_ns", "UInt64", "", [](auto &r) { return r.wall_ns; }),
		derived("event_time", "DateTime", "toDateTime(intDiv(wall_ns, 1000000000))"),
		derived("event_date", "Date", "toDate(event_time)"),
		col<Event>("ts_ns", "UInt64", "", [](auto &r) { return r.e.ts; }),
		c_host,
		c_run_id,
		col<Event>("seq", "UInt64", "per-run event number (before sampling)", [](auto &r) { return r.seq; }),
		c_batch_id,
		col<Event>("sample", "UInt32", "events this row stands for", [](auto &r) { return r.sample; }),
	}),
	event_columns<Event>(),
	std::to_array<Column>({
		col<Event>("iomap_type", "UInt16", "", [](auto &r) { return r.e.iomap_type; }),
		col<Event>("iomap_flags", "UInt16", "", [](auto &r) { return r.e.iomap_flags; }),
	}));

using Finding = FindingRow;
constexpr Column k_findings[] = {
	col<Finding>("wall_start_ns", "UInt64", "window start, wall clock", [](auto &r) { return r.wall_start_ns; }),
	derived("finding_time", "DateTime", "toDateTime(intDiv(wall_start_ns, 1000000000))"),
	derived("finding_date", "Date", "toDate(finding_time)"),
	c_host,
	c_run_id,
	col<Finding>("finding_no", "UInt32", "per-run number", [](auto &r) { return r.no; }),
	c_batch_id,
	col<Finding>("rule", "String", "L2", [](auto &r) { return r.f.id(); }),
	col<Finding>("rule_name", "String", "disassociate-pinned-entry", [](auto &r) { return r.f.name(); }),
	col<Finding>("class", "String", "Z W L T", [](auto &r) { return daxtrace::class_name(r.f.race_class()); }),
	col<Finding>("dev", "UInt64", "", [](auto &r) { return r.f.dev; }),
	col<Finding>("dev_name", "String", "", [](auto &r) { return dtabi::dev_name(r.f.dev); }),
	col<Finding>("ino", "UInt64", "", [](auto &r) { return r.f.ino; }),
	col<Finding>("pgoff_first", "UInt64", "", [](auto &r) { return r.f.pgoff_first; }),
	col<Finding>("pgoff_last", "UInt64", "", [](auto &r) { return r.f.pgoff_last; }),
	col<Finding>("window_start_ns", "UInt64", "trace clock", [](auto &r) { return r.f.window_start_ns; }),
	col<Finding>("window_end_ns", "UInt64", "", [](auto &r) { return r.f.window_end_ns; }),
	col<Finding>("width_ns", "UInt64", "", [](auto &r) { return r.f.width_ns(); }),
	col<Finding>("uncertain", "UInt8", "", [](auto &r) { return r.f.uncertain; }),
	col<Finding>("uncertain_reason", "String", "", [](auto &r) { return r.f.uncertain_reason; }),
	col<Finding>("summary", "String", "", [](auto &r) { return r.f.summary; }),
	col<Finding>("task_pid", "Array(UInt32)", "", [](auto &r) { return of_tasks(r.f, &daxtrace::TaskRef::pid); }),
	col<Finding>("task_tid", "Array(UInt32)", "", [](auto &r) { return of_tasks(r.f, &daxtrace::TaskRef::tid); }),
	col<Finding>("task_comm", "Array(String)", "", [](auto &r) { return of_tasks(r.f, &daxtrace::TaskRef::comm); }),
	col<Finding>("task_role", "Array(String)", "", [](auto &r) { return of_tasks(r.f, &daxtrace::TaskRef::role); }),
	col<Finding>("evidence_count", "UInt32", "", [](auto &r) { return r.f.evidence.size(); }),
	col<Finding>("evidence_omitted", "UInt64", "", [](auto &r) { return r.f.evidence_omitted; }),
};

using Evidence = EvidenceRow;
constexpr auto k_finding_evidence = cat(
	std::to_array<Column>({
		col<Evidence>("wall_start_ns", "UInt64", "the finding's window start",
			      [](auto &r) { return r.wall_start_ns; }),
		derived("finding_time", "DateTime", "toDateTime(intDiv(wall_start_ns, 1000000000))"),
		derived("finding_date", "Date", "toDate(finding_time)"),
		c_host,
		c_run_id,
		col<Evidence>("finding_no", "UInt32", "", [](auto &r) { return r.no; }),
		col<Evidence>("idx", "UInt32", "", [](auto &r) { return r.idx; }),
		c_batch_id,
		col<Evidence>("rule", "String", "", [](auto &r) { return r.f.id(); }),
		col<Evidence>("class", "String", "", [](auto &r) { return daxtrace::class_name(r.f.race_class()); }),
		col<Evidence>("wall_ns", "UInt64", "", [](auto &r) { return r.wall_ns; }),
		col<Evidence>("ts_ns", "UInt64", "", [](auto &r) { return r.e.ts; }),
		col<Evidence>("offset_ns", "Int64", "from the first evidence event", [](auto &r) { return r.offset_ns; }),
	}),
	event_columns<Evidence>());

using NearMiss = NearMissRow;
constexpr auto k_near_misses = cat(
	snapshot_columns<NearMiss>(),
	std::to_array<Column>({
		col<NearMiss>("scope", "String", "'total', 'fs', 'inode'", [](auto &r) { return r.scope; }),
		col<NearMiss>("class", "String", "",
			      [](auto &r) { return daxtrace::class_name(daxtrace::RaceClass(r.cls)); }),
		col<NearMiss>("dev", "UInt64", "", [](auto &r) { return r.dev; }),
		col<NearMiss>("dev_name", "String", "", [](auto &r) { return dev_or_empty(r.dev); }),
		col<NearMiss>("ino", "UInt64", "", [](auto &r) { return r.ino; }),
		col<NearMiss>("n", "UInt64", "distances recorded", [](auto &r) { return r.h.count(); }),
		col<NearMiss>("min_ns", "UInt64", "", [](auto &r) { return r.h.min(); }),
		col<NearMiss>("max_ns", "UInt64", "", [](auto &r) { return r.h.max(); }),
		col<NearMiss>("sum_ns", "UInt64", "", [](auto &r) { return r.h.sum(); }),
		col<NearMiss>("buckets", "Array(UInt64)", "48 counts", [](auto &r) {
			std::vector<uint64_t> b(daxtrace::Histogram::kBuckets);
			for (int i = 0; i < daxtrace::Histogram::kBuckets; i++)
				b[i] = r.h.bucket(i);
			return b;
		}),
	}));

using Stats = StatsRow;
constexpr auto k_stats = cat(
	snapshot_columns<Stats>(),
	std::to_array<Column>({
		col<Stats>("elapsed_s", "Float64", "", [](auto &r) { return r.s.elapsed_s; }),
		col<Stats>("events", "UInt64", "", [](auto &r) { return r.s.events; }),
		col<Stats>("lost", "UInt64", "events the ring buffer dropped (DT_LOST)", [](auto &r) { return r.s.lost; }),
		col<Stats>("filtered", "UInt64", "", [](auto &r) { return r.s.filtered; }),
		col<Stats>("late", "UInt64", "", [](auto &r) { return r.s.engine.late; }),
		col<Stats>("findings", "UInt64", "", [](auto &r) { return r.s.findings; }),
		col<Stats>("uncertain_findings", "UInt64", "", [](auto &r) { return r.s.engine.uncertain_findings; }),
		col<Stats>("near_misses", "UInt64", "", [](auto &r) { return r.s.engine.near_misses; }),
		col<Stats>("engine_memory_bytes", "UInt64", "", [](auto &r) { return r.s.engine.memory_bytes; }),
		col<Stats>("exported_events", "UInt64", "rows this run put in the events table so far",
			   [](auto &r) { return r.exported_events; }),
		col<Stats>("export_failures", "UInt64", "failed deliveries so far (retried)",
			   [](auto &r) { return r.export_failures; }),
	}));

using Device = DeviceRow;
constexpr Column k_devices[] = {
	col<Device>("seen_ns", "UInt64", "", [](auto &r) { return r.seen_ns; }),
	derived("seen_time", "DateTime", "toDateTime(intDiv(seen_ns, 1000000000))"),
	derived("seen_date", "Date", "toDate(seen_time)"),
	c_host,
	c_run_id,
	c_batch_id,
	col<Device>("dev", "UInt64", "", [](auto &r) { return r.dev; }),
	col<Device>("dev_name", "String", "", [](auto &r) { return dtabi::dev_name(r.dev); }),
	col<Device>("fs", "String", "ext4, xfs, '' when no fs-specific hook fired", [](auto &r) { return r.fs; }),
};

// Which row source (rows.h) a table's rows are made from.
template <class Source>
constexpr char source_tag = 0;

constexpr Table kTableList[] = {
	{"schema_info", "", k_schema_info, "ENGINE = ReplacingMergeTree ORDER BY schema_version", &source_tag<SchemaInfo>},
	{"runs", "One row per run: what was traced, where, with which probes.", k_runs, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(run_date) ORDER BY (host, run_date, run_id)", &source_tag<Run>},
	{"coverage", "Coverage: which hooks and race classes a run could see.", k_coverage, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(run_date) ORDER BY (host, run_date, run_id, kind, name)", &source_tag<Coverage>},
	{"events", "Events (all, or every Nth with --clickhouse-sample N).", k_events, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (host, event_date, dev, ino, ts_ns, run_id, seq)", &source_tag<Event>},
	{"findings", "Findings: one row per race window, tasks as parallel arrays.", k_findings, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(finding_date) ORDER BY (host, finding_date, class, rule, dev, ino, run_id, finding_no)", &source_tag<Finding>},
	{"finding_evidence", "The evidence of each finding, one row per event, in order.", k_finding_evidence, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(finding_date) ORDER BY (host, finding_date, run_id, finding_no, idx)", &source_tag<Evidence>},
	{"near_misses", "Near-miss histograms (log2 buckets of ns: bucket i counts distances in [2^i, 2^(i+1)), bucket 0 also 0).  Cumulative per run: a snapshot each minute (scope total and fs) and at the end (also scope inode).  Use the latest snapshot of each run (argMax by snapshot_no).", k_near_misses, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(snapshot_date) ORDER BY (host, snapshot_date, run_id, snapshot_no, scope, class, dev, ino)", &source_tag<NearMiss>},
	{"stats", "Counters of a run (cumulative): events, drops, filtered, late, findings.", k_stats, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(snapshot_date) ORDER BY (host, snapshot_date, run_id, snapshot_no)", &source_tag<Stats>},
	{"devices", "Filesystems seen, for the dashboards' filesystem/device variables.", k_devices, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(seen_date) ORDER BY (host, dev, run_id)", &source_tag<Device>},
};

// Every column the exporter writes takes a field a Row can write.
constexpr bool rows_can_fill(const Table &t)
{
	for (const Column &c : t.columns)
		if (c.default_expr.empty() && c.kind == FieldKind::Other)
			return false;
	return true;
}
static_assert(std::all_of(std::begin(kTableList), std::end(kTableList), rows_can_fill));

constexpr const char kPreamble[] =
	"-- daxtrace's ClickHouse schema (dashboards/README.md explains it).\n"
	"--\n"
	"-- Runs unchanged on Debian's ClickHouse 18.16 and on current releases: no\n"
	"-- DateTime64, no LowCardinality, no TTL clause (see \"Retention\" below), no\n"
	"-- toStartOfInterval in the dashboards.\n"
	"--\n"
	"-- GENERATED from dashboards/exporter/schema.cpp, the one specification of\n"
	"-- every column (clickhouse_schema > schema.sql; the dashboards.schema_sql\n"
	"-- test keeps them equal).  The exporter (daxtrace --clickhouse) creates the\n"
	"-- same tables itself, each with IF NOT EXISTS, in the database given by\n"
	"-- --clickhouse-db (default daxtrace); by hand:\n"
	"--   clickhouse-client -q 'CREATE DATABASE IF NOT EXISTS daxtrace'\n"
	"--   clickhouse-client -d daxtrace -n < schema.sql\n"
	"--\n"
	"-- Time: ts_ns is the trace clock (CLOCK_MONOTONIC ns, as the probes see it);\n"
	"-- wall_ns / *_time are wall-clock, mapped with the trace header's\n"
	"-- (wallclock, monotonic) pair.  Every row carries the host, the run (one\n"
	"-- daxtrace process or replay) and the batch that delivered it.\n"
	"--\n"
	"-- Idempotency: the exporter delivers every batch with one INSERT into one\n"
	"-- table (one atomic part).  A batch whose delivery was in doubt (the server\n"
	"-- died before answering) is looked up by batch_id before it is sent again,\n"
	"-- so it is never inserted twice.  As a second line of defence every table is\n"
	"-- a ReplacingMergeTree whose sorting key ends with the row's identity\n"
	"-- (run_id + per-run sequence number): duplicates that did get in collapse at\n"
	"-- merge time (and SELECT ... FINAL never shows them).\n"
	"--\n"
	"-- Retention: ClickHouse >= 19.6 takes a TTL per table, e.g.\n"
	"--   ALTER TABLE events MODIFY TTL event_date + INTERVAL 14 DAY;\n"
	"--   ALTER TABLE finding_evidence MODIFY TTL finding_date + INTERVAL 365 DAY;\n"
	"-- On 18.16 drop whole months (tables are partitioned by month):\n"
	"--   ALTER TABLE events DROP PARTITION 201811;\n"
	"-- Events are the bulk; sample them with --clickhouse-sample N (the \"sample\"\n"
	"-- column says how many events each row stands for).\n"
	"--\n"
	"-- schema_version: bump when a column changes; the exporter checks it.\n";

}  // namespace

std::span<const Table> tables() { return kTableList; }

const Table &table(std::string_view name)
{
	for (const Table &t : kTableList)
		if (t.name == name)
			return t;
	throw std::logic_error("no ClickHouse table " + std::string(name));
}

template <class Source>
const Table &table_of()
{
	static const Table &t = [] () -> const Table & {
		for (const Table &t : kTableList)
			if (t.source == &source_tag<Source>)
				return t;
		throw std::logic_error("no ClickHouse table for this row source");
	}();
	return t;
}
template const Table &table_of<SchemaInfoRow>();
template const Table &table_of<RunRow>();
template const Table &table_of<CoverageRow>();
template const Table &table_of<EventRow>();
template const Table &table_of<FindingRow>();
template const Table &table_of<EvidenceRow>();
template const Table &table_of<NearMissRow>();
template const Table &table_of<StatsRow>();
template const Table &table_of<DeviceRow>();

size_t Table::inserted() const
{
	size_t n = 0;
	for (const Column &c : columns)
		n += c.default_expr.empty();
	return n;
}

std::string Table::insert_columns() const
{
	std::string s;
	for (const Column &c : columns)
		if (c.default_expr.empty()) {
			if (!s.empty())
				s += ',';
			s += c.name;
		}
	return s;
}

std::string Table::insert_table(bool cluster) const
{
	return std::string(name) + (cluster && sharded() ? std::string(kLocalSuffix) : "");
}

std::string Table::distributed_sql(const std::string &cluster, const std::string &db) const
{
	// No sharding key: ClickHouse then refuses INSERTs into the Distributed
	// table of a cluster of several shards, so rows only arrive the way
	// the exporter writes them (clickhouse_exporter.h: per-shard batches,
	// exactly once).
	std::string n(name);
	return "CREATE TABLE IF NOT EXISTS " + n + " AS " + n + std::string(kLocalSuffix) +
	       " ENGINE = Distributed(" + cluster + ", " + db + ", " + n + std::string(kLocalSuffix) + ")";
}

std::string Table::create_sql(bool comments, std::string_view suffix) const
{
	std::string s = "CREATE TABLE IF NOT EXISTS " + std::string(name) + std::string(suffix) + "\n(\n";
	for (size_t i = 0; i < columns.size(); i++) {
		const Column &c = columns[i];
		std::string def = "    " + std::string(c.name) + " " + std::string(c.type) +
				  (c.default_expr.empty() ? "" : " DEFAULT " + std::string(c.default_expr)) +
				  (i + 1 < columns.size() ? "," : "");
		if (comments && !c.comment.empty()) {
			def.resize(std::max(def.size() + 1, size_t(32)), ' ');
			def += "-- " + std::string(c.comment);
		}
		s += def + "\n";
	}
	return s + ") " + std::string(engine);
}

std::string schema_sql(const std::string &cluster, const std::string &db)
{
	std::string s = kPreamble;
	if (!cluster.empty())
		s += "--\n"
		     "-- CLUSTER VARIANT for cluster " + cluster + ", database " + db + "\n"
		     "-- (clickhouse_schema --cluster NAME --db DB): run it on every server of\n"
		     "-- the cluster.  Each holds NAME_local tables (its shard's\n"
		     "-- rows) and Distributed tables NAME over all shards, which every query\n"
		     "-- uses.  The exporter (daxtrace --clickhouse URL1,URL2,...\n"
		     "-- --clickhouse-cluster " + cluster + ") writes each host's rows into the\n"
		     "-- NAME_local tables of one shard (dashboards/README.md, \"Fleet\").\n";
	for (const Table &t : kTableList) {
		s += "\n";
		// Table comments wrapped at 76 columns.
		std::string line;
		for (size_t pos = 0; pos < t.comment.size();) {
			size_t sp = t.comment.find(' ', pos);
			std::string_view word = t.comment.substr(pos, sp == std::string_view::npos ? sp : sp - pos);
			if (!line.empty() && line.size() + 1 + word.size() > 76) {
				s += line + "\n";
				line.clear();
			}
			line += (line.empty() ? "-- " : " ") + std::string(word);
			pos = sp == std::string_view::npos ? t.comment.size() : sp + 1;
		}
		if (!line.empty())
			s += line + "\n";
		if (cluster.empty() || !t.sharded()) {
			s += t.create_sql(true) + ";\n";
			continue;
		}
		s += t.create_sql(true, kLocalSuffix) + ";\n";
		s += t.distributed_sql(cluster, db) + ";\n";
	}
	return s;
}

}  // namespace dtch

namespace dtch {
namespace {

using ColumnsByTable = std::map<std::string, std::set<std::string>, std::less<>>;

ChResult existing_columns(ClickHouseHttp &http, const std::string &db, ColumnsByTable *cols)
{
	ChResult r = http.query("SELECT table, name FROM system.columns WHERE database = " + sql_quote(db) +
				" FORMAT TabSeparated");
	if (!r.ok)
		return r;
	cols->clear();
	std::istringstream in(r.body);
	for (std::string line; std::getline(in, line);) {
		auto tab = line.find('\t');
		if (tab != std::string::npos)
			(*cols)[line.substr(0, tab)].insert(line.substr(tab + 1));
	}
	return r;
}

// What the server's tables lack, "" if nothing.
std::string missing(const ColumnsByTable &cols, bool cluster)
{
	std::string m;
	for (const Table &t : tables()) {
		std::vector<std::string> names{std::string(t.name)};
		if (cluster && t.sharded())
			names.push_back(t.insert_table(true));
		for (const std::string &tn : names) {
		auto it = cols.find(tn);
		if (it == cols.end()) {
			m += std::string(m.empty() ? "" : "; ") + "no table " + tn;
			continue;
		}
		std::string lacks;
		int nlack = 0;
		for (const Column &c : t.columns)
			if (!it->second.count(std::string(c.name)) && nlack++ < 4)
				lacks += (lacks.empty() ? "" : ", ") + std::string(c.name);
		if (nlack > 4)
			lacks += " and " + std::to_string(nlack - 4) + " more";
		if (!lacks.empty())
			m += std::string(m.empty() ? "" : "; ") + tn + " lacks " + lacks;
		}
	}
	return m;
}

}  // namespace

std::string apply_schema(ClickHouseHttp &http, const std::string &db, const std::string &cluster,
			 bool *unreachable)
{
	*unreachable = false;
	ChResult p = http.ping(5);
	if (!p.ok) {
		*unreachable = true;
		return p.transport_error() ? describe(p, http.url())
					   : http.url() + " is not ClickHouse's HTTP interface (" + p.error + ")";
	}
	ColumnsByTable cols;
	ChResult r = existing_columns(http, db, &cols);
	if (!r.ok)
		return describe(r, http.url());
	bool on_cluster = !cluster.empty();
	if (missing(cols, on_cluster).empty())
		return "";
	std::string qdb = ident(db);
	r = http.query("CREATE DATABASE IF NOT EXISTS " + qdb);
	for (const Table &t : tables()) {
		if (r.ok)
			r = http.query(t.create_sql(false, on_cluster && t.sharded() ? kLocalSuffix : ""), db);
		if (r.ok && on_cluster && t.sharded())
			r = http.query(t.distributed_sql(cluster, db), db);
	}
	if (!r.ok)
		return r.transport_error() ? describe(r, http.url())
					   : "ClickHouse at " + http.url() + " refused daxtrace's schema (database " +
						     db + "): " + r.error;
	if (!(r = existing_columns(http, db, &cols)).ok)
		return describe(r, http.url());
	if (std::string m = missing(cols, on_cluster); !m.empty())
		return "the tables in ClickHouse database " + db + " at " + http.url() +
		       " do not fit daxtrace's schema (" + m + "): drop them or use another --clickhouse-db";
	std::string row;
	append_row(row, Origin{}, SchemaInfoRow{kSchemaVersion});
	http.query("INSERT INTO " + qdb + ".schema_info (" + table_of<SchemaInfoRow>().insert_columns() +
			   ") FORMAT TabSeparated",
		   "", &row);
	return "";
}

}  // namespace dtch
