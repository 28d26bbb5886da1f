// The one column specification of every table (name, type, DEFAULT,
// comment).  The CREATE TABLE statements the exporter runs, the column list
// of its INSERTs, the field count its rows are checked against and
// ../clickhouse/schema.sql (for people; schema_test.sh keeps it equal to
// `clickhouse_schema`'s output) all come from here.
#include "schema.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <stdexcept>
#include <set>
#include <sstream>
#include <vector>

#include "ch_errors.h"
#include "clickhouse_http.h"

namespace dtch {
namespace {

// Runs unchanged on ClickHouse 18.16 (Debian's) and current releases: no
// DateTime64, no LowCardinality, no TTL clause.
constexpr Column k_schema_info[] = {
	{"schema_version", "UInt32", "", ""},
	{"created", "DateTime", "now()", ""},
};
constexpr Column k_runs[] = {
	{"start_ns", "UInt64", "", "wall clock"},
	{"start_time", "DateTime", "toDateTime(intDiv(start_ns, 1000000000))", ""},
	{"run_date", "Date", "toDate(start_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"batch_id", "String", "", ""},
	{"source", "String", "", "'live' or 'replay'"},
	{"kernel", "String", "", ""},
	{"trace_file", "String", "", "replay: the trace; live: --record file"},
	{"daxtrace_version", "String", "", ""},
	{"event_sample", "UInt32", "", "events table holds every Nth event (0 = none)"},
	{"hooks", "Array(String)", "", "hook:mechanism of every attached hook"},
	{"coverage_json", "String", "", "live: doctor's coverage object"},
};
constexpr Column k_coverage[] = {
	{"start_ns", "UInt64", "", ""},
	{"start_time", "DateTime", "toDateTime(intDiv(start_ns, 1000000000))", ""},
	{"run_date", "Date", "toDate(start_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"batch_id", "String", "", ""},
	{"kind", "String", "", "'hook' or 'class'"},
	{"name", "String", "", "hook name or race class (Z W L T)"},
	{"mechanism", "String", "", "tp_btf, raw_tp, fentry, kprobe ('' for classes)"},
	{"attached", "UInt8", "", "hook attached / class fully covered"},
	{"detail", "String", "", "class: full|partial|none; hook: reason"},
};
constexpr Column k_events[] = {
	{"wall_ns", "UInt64", "", ""},
	{"event_time", "DateTime", "toDateTime(intDiv(wall_ns, 1000000000))", ""},
	{"event_date", "Date", "toDate(event_time)", ""},
	{"ts_ns", "UInt64", "", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"seq", "UInt64", "", "per-run event number (before sampling)"},
	{"batch_id", "String", "", ""},
	{"sample", "UInt32", "", "events this row stands for"},
	{"type", "String", "", "DT_FAULT_ENTER ..."},
	{"hook", "String", "", ""},
	{"cpu", "UInt16", "", ""},
	{"op", "String", "", ""},
	{"pid", "UInt32", "", ""},
	{"tid", "UInt32", "", ""},
	{"comm", "String", "", ""},
	{"dev", "UInt64", "", "kernel encoding (major << 20 | minor)"},
	{"dev_name", "String", "", "\"259:0\""},
	{"ino", "UInt64", "", ""},
	{"pgoff", "UInt64", "", ""},
	{"nr_pages", "UInt64", "", ""},
	{"block", "UInt64", "", ""},
	{"len", "UInt64", "", ""},
	{"ret", "Int64", "", ""},
	{"flags", "UInt32", "", ""},
	{"refcount", "UInt32", "", ""},
	{"iomap_type", "UInt16", "", ""},
	{"iomap_flags", "UInt16", "", ""},
};
constexpr Column k_findings[] = {
	{"wall_start_ns", "UInt64", "", "window start, wall clock"},
	{"finding_time", "DateTime", "toDateTime(intDiv(wall_start_ns, 1000000000))", ""},
	{"finding_date", "Date", "toDate(finding_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"finding_no", "UInt32", "", "per-run number"},
	{"batch_id", "String", "", ""},
	{"rule", "String", "", "L2"},
	{"rule_name", "String", "", "disassociate-pinned-entry"},
	{"class", "String", "", "Z W L T"},
	{"dev", "UInt64", "", ""},
	{"dev_name", "String", "", ""},
	{"ino", "UInt64", "", ""},
	{"pgoff_first", "UInt64", "", ""},
	{"pgoff_last", "UInt64", "", ""},
	{"window_start_ns", "UInt64", "", "trace clock"},
	{"window_end_ns", "UInt64", "", ""},
	{"width_ns", "UInt64", "", ""},
	{"uncertain", "UInt8", "", ""},
	{"uncertain_reason", "String", "", ""},
	{"summary", "String", "", ""},
	{"task_pid", "Array(UInt32)", "", ""},
	{"task_tid", "Array(UInt32)", "", ""},
	{"task_comm", "Array(String)", "", ""},
	{"task_role", "Array(String)", "", ""},
	{"evidence_count", "UInt32", "", ""},
	{"evidence_omitted", "UInt64", "", ""},
};
constexpr Column k_finding_evidence[] = {
	{"wall_start_ns", "UInt64", "", "the finding's window start"},
	{"finding_time", "DateTime", "toDateTime(intDiv(wall_start_ns, 1000000000))", ""},
	{"finding_date", "Date", "toDate(finding_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"finding_no", "UInt32", "", ""},
	{"idx", "UInt32", "", ""},
	{"batch_id", "String", "", ""},
	{"rule", "String", "", ""},
	{"class", "String", "", ""},
	{"wall_ns", "UInt64", "", ""},
	{"ts_ns", "UInt64", "", ""},
	{"offset_ns", "Int64", "", "from the first evidence event"},
	{"type", "String", "", ""},
	{"hook", "String", "", ""},
	{"cpu", "UInt16", "", ""},
	{"op", "String", "", ""},
	{"pid", "UInt32", "", ""},
	{"tid", "UInt32", "", ""},
	{"comm", "String", "", ""},
	{"dev", "UInt64", "", ""},
	{"dev_name", "String", "", ""},
	{"ino", "UInt64", "", ""},
	{"pgoff", "UInt64", "", ""},
	{"nr_pages", "UInt64", "", ""},
	{"block", "UInt64", "", ""},
	{"len", "UInt64", "", ""},
	{"ret", "Int64", "", ""},
	{"flags", "UInt32", "", ""},
	{"refcount", "UInt32", "", ""},
};
constexpr Column k_near_misses[] = {
	{"snapshot_ns", "UInt64", "", ""},
	{"snapshot_time", "DateTime", "toDateTime(intDiv(snapshot_ns, 1000000000))", ""},
	{"snapshot_date", "Date", "toDate(snapshot_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"snapshot_no", "UInt32", "", ""},
	{"is_final", "UInt8", "", "1: the run's last snapshot"},
	{"batch_id", "String", "", ""},
	{"scope", "String", "", "'total', 'fs', 'inode'"},
	{"class", "String", "", ""},
	{"dev", "UInt64", "", ""},
	{"dev_name", "String", "", ""},
	{"ino", "UInt64", "", ""},
	{"n", "UInt64", "", "distances recorded"},
	{"min_ns", "UInt64", "", ""},
	{"max_ns", "UInt64", "", ""},
	{"sum_ns", "UInt64", "", ""},
	{"buckets", "Array(UInt64)", "", "48 counts"},
};
constexpr Column k_stats[] = {
	{"snapshot_ns", "UInt64", "", ""},
	{"snapshot_time", "DateTime", "toDateTime(intDiv(snapshot_ns, 1000000000))", ""},
	{"snapshot_date", "Date", "toDate(snapshot_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"snapshot_no", "UInt32", "", ""},
	{"is_final", "UInt8", "", ""},
	{"batch_id", "String", "", ""},
	{"elapsed_s", "Float64", "", ""},
	{"events", "UInt64", "", ""},
	{"lost", "UInt64", "", "events the ring buffer dropped (DT_LOST)"},
	{"filtered", "UInt64", "", ""},
	{"late", "UInt64", "", ""},
	{"findings", "UInt64", "", ""},
	{"uncertain_findings", "UInt64", "", ""},
	{"near_misses", "UInt64", "", ""},
	{"engine_memory_bytes", "UInt64", "", ""},
	{"exported_events", "UInt64", "", "rows this run put in the events table so far"},
	{"export_failures", "UInt64", "", "failed deliveries so far (retried)"},
};
constexpr Column k_devices[] = {
	{"seen_ns", "UInt64", "", ""},
	{"seen_time", "DateTime", "toDateTime(intDiv(seen_ns, 1000000000))", ""},
	{"seen_date", "Date", "toDate(seen_time)", ""},
	{"host", "String", "", ""},
	{"run_id", "String", "", ""},
	{"batch_id", "String", "", ""},
	{"dev", "UInt64", "", ""},
	{"dev_name", "String", "", ""},
	{"fs", "String", "", "ext4, xfs, '' when no fs-specific hook fired"},
};

constexpr Table kTableList[] = {
	{"schema_info", "", k_schema_info, "ENGINE = ReplacingMergeTree ORDER BY schema_version"},
	{"runs", "One row per run: what was traced, where, with which probes.", k_runs, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(run_date) ORDER BY (host, run_date, run_id)"},
	{"coverage", "Coverage: which hooks and race classes a run could see.", k_coverage, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(run_date) ORDER BY (host, run_date, run_id, kind, name)"},
	{"events", "Events (all, or every Nth with --clickhouse-sample N).", k_events, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (host, event_date, dev, ino, ts_ns, run_id, seq)"},
	{"findings", "Findings: one row per race window, tasks as parallel arrays.", k_findings, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(finding_date) ORDER BY (host, finding_date, class, rule, dev, ino, run_id, finding_no)"},
	{"finding_evidence", "The evidence of each finding, one row per event, in order.", k_finding_evidence, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(finding_date) ORDER BY (host, finding_date, run_id, finding_no, idx)"},
	{"near_misses", "Near-miss histograms (log2 buckets of ns: bucket i counts distances in [2^i, 2^(i+1)), bucket 0 also 0).  Cumulative per run: a snapshot each minute (scope total and fs) and at the end (also scope inode).  Use the latest snapshot of each run (argMax by snapshot_no).", k_near_misses, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(snapshot_date) ORDER BY (host, snapshot_date, run_id, snapshot_no, scope, class, dev, ino)"},
	{"stats", "Counters of a run (cumulative): events, drops, filtered, late, findings.", k_stats, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(snapshot_date) ORDER BY (host, snapshot_date, run_id, snapshot_no)"},
	{"devices", "Filesystems seen, for the dashboards' filesystem/device variables.", k_devices, "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(seen_date) ORDER BY (host, dev, run_id)"},
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
		if (c.default_expr.empty())
			s += (s.empty() ? "" : ",") + std::string(c.name);
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
	std::string row = std::to_string(kSchemaVersion) + "\n";
	http.query("INSERT INTO " + qdb + ".schema_info (schema_version) FORMAT TabSeparated", "", &row);
	return "";
}

}  // namespace dtch
