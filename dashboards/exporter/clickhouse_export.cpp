// The ClickHouse exporter (daxtrace --clickhouse URL): events, findings
// with their evidence, near-miss histograms, drop counters and run/host/
// coverage metadata, in batches, over ClickHouse's HTTP interface.
//
// Every batch is one INSERT into one table.  The main thread formats rows
// (TabSeparated) and, when a batch is full or old enough, writes it to the
// spill directory (spill_queue.h); a sender thread delivers the directory's
// batches in order and removes each one the server has taken.  So a server
// that is down, slow or refusing costs detection nothing: batches wait on
// disk and are delivered when it answers, by this run or the next.
//
// Exactly once: each batch carries a batch_id (column of every table).  A
// batch whose fate is unknown (an attempt failed, or it was left by an
// earlier run) is first looked up by batch_id and sent again only if the
// server does not have it.  The schema (dashboards/clickhouse/schema.sql,
// compiled in) is created by the exporter when missing.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clickhouse_http.h"
#include "daxtrace/engine.h"
#include "daxtrace/events.h"
#include "export_options.h"
#include "filters.h"
#include "output.h"
#include "session.h"
#include "spill_queue.h"

namespace dtcli {
namespace {

using Clock = std::chrono::steady_clock;

const char kSchemaSql[] =
#include "clickhouse_schema.inc"
	;
constexpr unsigned kSchemaVersion = 1;
constexpr const char *kBatchMagic = "daxtrace-batch 1";

// The columns the exporter writes, in the order of its TSV fields.
struct TableDef {
	const char *name;
	const char *columns;
};
const TableDef kRuns{"runs",
	"start_ns,host,run_id,batch_id,source,kernel,trace_file,daxtrace_version,event_sample,hooks,"
	"coverage_json"};
const TableDef kCoverage{"coverage", "start_ns,host,run_id,batch_id,kind,name,mechanism,attached,detail"};
const TableDef kEvents{"events",
	"wall_ns,ts_ns,host,run_id,seq,batch_id,sample,type,hook,cpu,op,pid,tid,comm,dev,dev_name,ino,"
	"pgoff,nr_pages,block,len,ret,flags,refcount,iomap_type,iomap_flags"};
const TableDef kFindings{"findings",
	"wall_start_ns,host,run_id,finding_no,batch_id,rule,rule_name,class,dev,dev_name,ino,pgoff_first,"
	"pgoff_last,window_start_ns,window_end_ns,width_ns,uncertain,uncertain_reason,summary,task_pid,"
	"task_tid,task_comm,task_role,evidence_count,evidence_omitted"};
const TableDef kEvidence{"finding_evidence",
	"wall_start_ns,host,run_id,finding_no,idx,batch_id,rule,class,wall_ns,ts_ns,offset_ns,type,hook,"
	"cpu,op,pid,tid,comm,dev,dev_name,ino,pgoff,nr_pages,block,len,ret,flags,refcount"};
const TableDef kNearMisses{"near_misses",
	"snapshot_ns,host,run_id,snapshot_no,is_final,batch_id,scope,class,dev,dev_name,ino,n,min_ns,"
	"max_ns,sum_ns,buckets"};
const TableDef kStats{"stats",
	"snapshot_ns,host,run_id,snapshot_no,is_final,batch_id,elapsed_s,events,lost,filtered,late,"
	"findings,uncertain_findings,near_misses,engine_memory_bytes,exported_events,export_failures"};
const TableDef kDevices{"devices", "seen_ns,host,run_id,batch_id,dev,dev_name,fs"};
const TableDef *const kTables[] = {&kRuns, &kCoverage, &kEvents, &kFindings, &kEvidence,
				   &kNearMisses, &kStats, &kDevices};

uint64_t realtime_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

uint64_t monotonic_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// --- TabSeparated rows ------------------------------------------------------

class Row {
public:
	explicit Row(std::string &out) : out_(out) {}
	~Row() { out_ += '\n'; }
	template <typename T>
	Row &num(T v)
	{
		sep();
		char buf[32];
		auto r = std::to_chars(buf, buf + sizeof(buf), v);
		out_.append(buf, r.ptr);
		return *this;
	}
	Row &str(std::string_view s)
	{
		sep();
		escape(s, false);
		return *this;
	}
	Row &strs(const std::vector<std::string> &v)
	{
		sep();
		out_ += '[';
		for (size_t i = 0; i < v.size(); i++) {
			if (i)
				out_ += ',';
			out_ += '\'';
			escape(v[i], true);
			out_ += '\'';
		}
		out_ += ']';
		return *this;
	}
	template <typename T>
	Row &nums(const std::vector<T> &v)
	{
		sep();
		out_ += '[';
		char buf[32];
		for (size_t i = 0; i < v.size(); i++) {
			if (i)
				out_ += ',';
			auto r = std::to_chars(buf, buf + sizeof(buf), v[i]);
			out_.append(buf, r.ptr);
		}
		out_ += ']';
		return *this;
	}

private:
	void sep()
	{
		if (!first_)
			out_ += '\t';
		first_ = false;
	}
	void escape(std::string_view s, bool quoted)
	{
		for (char c : s) {
			switch (c) {
			case '\\': out_ += "\\\\"; break;
			case '\t': out_ += "\\t"; break;
			case '\n': out_ += "\\n"; break;
			case '\r': out_ += "\\r"; break;
			case '\0': out_ += "\\0"; break;
			case '\'':
				if (quoted)
					out_ += "\\'";
				else
					out_ += c;
				break;
			default: out_ += c;
			}
		}
	}
	std::string &out_;
	bool first_ = true;
};

std::string comm_of(const dt_event &e)
{
	return std::string(e.comm, strnlen(e.comm, sizeof(e.comm)));
}

std::string op_of(const dt_event &e)
{
	if (e.type == DT_ZERO)
		return std::string(daxtrace::zero_op_name(e.op));
	if (e.type == DT_REMOVE_ENTER || e.type == DT_REMOVE_EXIT)
		return std::string(daxtrace::remove_op_name(e.op));
	return e.op ? std::to_string(e.op) : std::string();
}

std::string sql_quote(const std::string &s)
{
	std::string r = "'";
	for (char c : s) {
		if (c == '\\' || c == '\'')
			r += '\\';
		r += c;
	}
	return r + "'";
}

std::string ident(const std::string &s)
{
	std::string r = "`";
	for (char c : s) {
		if (c == '`' || c == '\\')
			r += '\\';
		r += c;
	}
	return r + "`";
}

std::vector<std::string> schema_statements()
{
	std::string sql;
	std::istringstream in(kSchemaSql);
	for (std::string line; std::getline(in, line);) {
		auto c = line.find("--");
		sql += (c == std::string::npos ? line : line.substr(0, c)) + "\n";
	}
	std::vector<std::string> out;
	size_t pos = 0;
	while (pos < sql.size()) {
		size_t semi = sql.find(';', pos);
		std::string st = sql.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
		pos = semi == std::string::npos ? sql.size() : semi + 1;
		if (st.find_first_not_of(" \t\n") != std::string::npos)
			out.push_back(st);
	}
	return out;
}

std::vector<std::string> split(const std::string &s, char sep)
{
	std::vector<std::string> v;
	size_t pos = 0;
	for (;;) {
		size_t e = s.find(sep, pos);
		v.push_back(s.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
		if (e == std::string::npos)
			return v;
		pos = e + 1;
	}
}

std::string default_spill_dir(const ClickHouseOptions &opt)
{
	std::string base;
	if (geteuid() == 0) {
		base = "/var/lib/daxtrace/clickhouse-spill";
	} else {
		const char *st = getenv("XDG_STATE_HOME");
		const char *home = getenv("HOME");
		base = st && *st ? std::string(st) + "/daxtrace/clickhouse-spill"
				 : std::string(home && *home ? home : "/tmp") + "/.local/state/daxtrace/clickhouse-spill";
	}
	// One directory per destination: a batch never goes to another server.
	std::string key;
	for (char c : opt.url.substr(opt.url.find("://") == std::string::npos ? 0 : opt.url.find("://") + 3))
		key += isalnum((unsigned char)c) || c == '.' || c == '-' ? c : '_';
	while (!key.empty() && key.back() == '_')
		key.pop_back();
	return base + "/" + key + "-" + opt.database;
}

// --- the exporter -------------------------------------------------------------

class ClickHouseOutput : public Output {
public:
	explicit ClickHouseOutput(const ClickHouseOptions &opt);
	~ClickHouseOutput() override;

	void start(const nlohmann::json &meta) override;
	void event(const dt_event &e) override;
	void finding(const daxtrace::Finding &f) override;
	void tick(const Session &s, double elapsed_s) override;
	void summary(const Session &s, double elapsed_s) override;
	void warning(const std::string &) override {}

private:
	struct Batch {
		explicit Batch(const TableDef *t) : table(t) {}
		const TableDef *table;
		std::string body;
		size_t rows = 0;
		Clock::time_point first;
		uint64_t seq = 0;
		std::string id;   // in every row of the batch
	};
	void begin_row(Batch &b)
	{
		if (!b.rows) {
			b.first = Clock::now();
			b.seq = batch_seq_++;
			b.id = next_batch_id(*b.table, b.seq);
		}
		b.rows++;
	}
	void seal(Batch &b);
	void seal_old(bool all);
	std::string next_batch_id(const TableDef &t, uint64_t seq);
	uint64_t wall(uint64_t ts) const { return uint64_t(int64_t(ts) + wall_offset_); }
	void snapshot(const Session &s, double elapsed_s, bool final);
	void add_devices(uint64_t now_ns);

	// sender thread
	void sender_main();
	bool ensure_schema();
	enum Delivery { Delivered, Failed, Rejected };
	Delivery deliver(const std::string &name);
	void report_error(const std::string &msg);
	void warn(const char *fmt, ...) __attribute__((format(printf, 2, 3)));

	ClickHouseOptions opt_;
	std::unique_ptr<ClickHouseHttp> http_;
	std::string user_;
	SpillQueue spill_;
	std::string run_id_, name_prefix_, host_ = "unknown";
	uint64_t created_ns_ = 0;
	int64_t wall_offset_ = 0;
	bool replay_ = false;
	uint64_t start_ns_ = 0;
	uint64_t batch_seq_ = 0, event_seq_ = 0, finding_no_ = 0, snapshot_no_ = 0;
	uint64_t exported_events_ = 0;
	Batch events_{&kEvents}, findings_{&kFindings},
		evidence_{&kEvidence};
	std::map<uint64_t, std::string> devices_;      // dev -> fs
	std::map<uint64_t, std::string> devices_sent_;
	Clock::time_point last_stats_{}, last_nm_{};
	uint64_t check_counter_ = 0;
	bool started_ = false, finished_ = false;
	uint64_t sealed_batches_ = 0, sealed_rows_ = 0, lost_rows_ = 0;

	std::thread sender_;
	std::mutex m_;
	std::condition_variable cv_, drained_cv_;
	bool stop_ = false, dirty_ = true, idle_ = false, draining_ = false;
	std::atomic<uint64_t> delivered_batches_{0}, delivered_rows_{0}, failures_{0},
		dup_skipped_{0}, rejected_{0};
	std::atomic<uint64_t> progress_ns_{0};
	bool schema_ok_ = false;
	std::set<std::string> attempted_;
	std::string last_error_;
	Clock::time_point last_warn_{};
	uint64_t suppressed_ = 0;
	unsigned pace_ms_ = 0;
	double flush_timeout_s_ = 15;
	bool in_failure_ = false;
	uint64_t spill_max_bytes_ = 1024ULL << 20;
	uint64_t events_dropped_rows_ = 0;
};

ClickHouseOutput::ClickHouseOutput(const ClickHouseOptions &opt)
	: opt_(opt), http_(std::make_unique<ClickHouseHttp>(opt.url, "", "")), spill_(opt.spill_dir.empty() ? default_spill_dir(opt) : opt.spill_dir)
{
	if (opt_.database.empty() || opt_.database.find_first_of("`\\/") != std::string::npos)
		throw std::runtime_error("--clickhouse-db: '" + opt_.database + "' is not a usable database name");
	if (opt_.batch_rows == 0)
		opt_.batch_rows = 1;
	std::string password;
	clickhouse_credentials(opt_.credentials_file, &user_, &password);
	http_ = std::make_unique<ClickHouseHttp>(opt_.url, user_, password);
	if (const char *p = getenv("DAXTRACE_CLICKHOUSE_TEST_PACE_MS"))
		pace_ms_ = unsigned(atoi(p));
	if (const char *p = getenv("DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT"))
		flush_timeout_s_ = atof(p);
	if (const char *p = getenv("DAXTRACE_CLICKHOUSE_SPILL_MAX_MB"))
		spill_max_bytes_ = strtoull(p, nullptr, 10) << 20;   // 0 = unbounded
	created_ns_ = realtime_ns();
	std::random_device rd;
	char id[32];
	snprintf(id, sizeof(id), "%08x%08x", rd(), rd() ^ unsigned(getpid()));
	run_id_ = id;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%020lu-%s-", (unsigned long)created_ns_, run_id_.c_str());
	name_prefix_ = prefix;
	wall_offset_ = int64_t(realtime_ns()) - int64_t(monotonic_ns());
	sender_ = std::thread([this] { sender_main(); });
}

ClickHouseOutput::~ClickHouseOutput()
{
	{
		std::lock_guard<std::mutex> g(m_);
		stop_ = true;
	}
	cv_.notify_all();
	if (sender_.joinable())
		sender_.join();
}

void ClickHouseOutput::warn(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "daxtrace: warning: clickhouse: %s\n", buf);
}

std::string ClickHouseOutput::next_batch_id(const TableDef &t, uint64_t seq)
{
	char b[96];
	snprintf(b, sizeof(b), "%s-%06lu-%s", run_id_.c_str(), (unsigned long)seq, t.name);
	return b;
}

void ClickHouseOutput::seal(Batch &b)
{
	if (!b.rows)
		return;
	std::string content = std::string(kBatchMagic) + "\t" + b.table->name + "\t" + b.id + "\t" +
			      std::to_string(b.rows) + "\t" + b.table->columns + "\n" + b.body;
	char name[128];
	snprintf(name, sizeof(name), "%s%06lu-%s", name_prefix_.c_str(), (unsigned long)b.seq,
		 b.table->name);
	// A server down for long: the spill directory is bounded; events give
	// way first (findings, evidence, histograms and counters are small and
	// always kept).
	if (b.table == &kEvents && spill_max_bytes_ && spill_.bytes() + content.size() > spill_max_bytes_) {
		if (!events_dropped_rows_)
			warn("spill directory %s is full (%lu MiB, DAXTRACE_CLICKHOUSE_SPILL_MAX_MB): event rows "
			     "are dropped until ClickHouse takes the waiting batches; findings are kept",
			     spill_.dir().c_str(), (unsigned long)(spill_max_bytes_ >> 20));
		events_dropped_rows_ += b.rows;
		b.body.clear();
		b.rows = 0;
		return;
	}
	try {
		spill_.put(name, content);
		sealed_batches_++;
		sealed_rows_ += b.rows;
	} catch (const std::exception &e) {
		lost_rows_ += b.rows;
		warn("%s; %zu %s rows lost", e.what(), b.rows, b.table->name);
	}
	b.body.clear();
	b.rows = 0;
	{
		std::lock_guard<std::mutex> g(m_);
		dirty_ = true;
	}
	cv_.notify_all();
}

void ClickHouseOutput::seal_old(bool all)
{
	auto now = Clock::now();
	auto old = std::chrono::duration<double>(opt_.batch_seconds);
	for (Batch *b : {&events_, &findings_, &evidence_})
		if (b->rows && (all || now - b->first >= old))
			seal(*b);
}

void ClickHouseOutput::start(const nlohmann::json &meta)
{
	started_ = true;
	host_ = meta.value("host", std::string("unknown"));
	uint64_t wall0 = meta.value("start_wallclock_ns", uint64_t(0));
	uint64_t mono0 = meta.value("start_monotonic_ns", uint64_t(0));
	if (wall0 && mono0)
		wall_offset_ = int64_t(wall0) - int64_t(mono0);
	start_ns_ = wall0 ? wall0 : realtime_ns();
	bool live = meta.contains("coverage");
	replay_ = !live;
	std::vector<std::string> hooks;
	if (meta.contains("hooks") && meta["hooks"].is_array())
		for (auto &h : meta["hooks"])
			hooks.push_back(h.get<std::string>());
	Batch runs{&kRuns}, cov{&kCoverage};
	std::string trace = live ? meta.value("record", std::string()) : meta.value("trace", std::string());
	if (live) {
		for (auto &h : meta["coverage"].value("hooks", nlohmann::json::array()))
			if (h.value("attached", false))
				hooks.push_back(h.value("name", std::string()) + ":" + h.value("mechanism", std::string()));
	}
	begin_row(runs);
	Row(runs.body).num(start_ns_).str(host_).str(run_id_).str(runs.id)
		.str(live ? "live" : "replay").str(meta.value("kernel", std::string()))
		.str(trace).str("daxtrace 0.1").num(opt_.event_sample).strs(hooks)
		.str(live ? meta["coverage"].dump() : std::string());
	if (live) {
		for (auto &h : meta["coverage"].value("hooks", nlohmann::json::array())) {
			begin_row(cov);
			bool att = h.value("attached", false);
			Row(cov.body).num(start_ns_).str(host_).str(run_id_).str(cov.id).str("hook")
				.str(h.value("name", std::string())).str(att ? h.value("mechanism", std::string()) : "")
				.num(att ? 1 : 0).str(att ? h.value("what", std::string()) : h.value("reason", std::string()));
		}
		for (auto &c : meta["coverage"].value("classes", nlohmann::json::array())) {
			begin_row(cov);
			std::string level = c.value("coverage", std::string());
			Row(cov.body).num(start_ns_).str(host_).str(run_id_).str(cov.id).str("class")
				.str(c.value("class", std::string())).str("").num(level == "full" ? 1 : 0).str(level);
		}
	} else {
		for (auto &h : hooks) {
			auto colon = h.rfind(':');
			begin_row(cov);
			Row(cov.body).num(start_ns_).str(host_).str(run_id_).str(cov.id).str("hook")
				.str(colon == std::string::npos ? h : h.substr(0, colon))
				.str(colon == std::string::npos ? "" : h.substr(colon + 1)).num(1).str("");
		}
	}
	seal(runs);
	seal(cov);
}

void ClickHouseOutput::event(const dt_event &e)
{
	uint64_t seq = event_seq_++;
	std::string_view hook = daxtrace::hook_name(e.hook);
	if (e.dev) {
		auto &fs = devices_[e.dev];
		if (fs.empty()) {
			if (hook.rfind("fn:ext4_", 0) == 0)
				fs = "ext4";
			else if (hook.rfind("fn:xfs_", 0) == 0)
				fs = "xfs";
		}
	}
	// Drop markers are always exported (the drops dashboard needs them all).
	bool lost = e.type == DT_LOST;
	if (lost || (opt_.event_sample && seq % opt_.event_sample == 0)) {
		begin_row(events_);
		Row(events_.body).num(wall(e.ts)).num(e.ts).str(host_).str(run_id_).num(seq)
			.str(events_.id).num(lost ? 1u : opt_.event_sample).str(daxtrace::type_name(e.type)).str(hook)
			.num(e.cpu).str(op_of(e)).num(e.pid).num(e.tid).str(comm_of(e)).num(e.dev)
			.str(e.dev ? dev_string(e.dev) : "").num(e.ino).num(e.pgoff).num(e.nr_pages)
			.num(e.block).num(e.len).num(e.ret).num(e.flags).num(e.refcount).num(e.iomap_type)
			.num(e.iomap_flags);
		exported_events_++;
		if (events_.rows >= opt_.batch_rows)
			seal(events_);
	}
	if ((++check_counter_ & 1023) == 0)
		seal_old(false);
}

void ClickHouseOutput::finding(const daxtrace::Finding &f)
{
	uint64_t no = finding_no_++;
	std::vector<uint32_t> pids, tids;
	std::vector<std::string> comms, roles;
	for (auto &t : f.tasks) {
		pids.push_back(t.pid);
		tids.push_back(t.tid);
		comms.push_back(t.comm);
		roles.push_back(t.role);
	}
	std::string cls(daxtrace::class_name(f.race_class()));
	uint64_t wstart = wall(f.window_start_ns);
	begin_row(findings_);
	Row(findings_.body).num(wstart).str(host_).str(run_id_).num(no).str(findings_.id)
		.str(f.id()).str(f.name()).str(cls).num(f.dev).str(dev_string(f.dev)).num(f.ino)
		.num(f.pgoff_first).num(f.pgoff_last).num(f.window_start_ns).num(f.window_end_ns)
		.num(f.width_ns()).num(f.uncertain ? 1 : 0).str(f.uncertain_reason).str(f.summary)
		.nums(pids).nums(tids).strs(comms).strs(roles).num(f.evidence.size()).num(f.evidence_omitted);
	uint64_t t0 = f.evidence.empty() ? 0 : f.evidence.front().ts;
	uint32_t idx = 0;
	for (auto &e : f.evidence) {
		begin_row(evidence_);
		Row(evidence_.body).num(wstart).str(host_).str(run_id_).num(no).num(idx++)
			.str(evidence_.id).str(f.id()).str(cls).num(wall(e.ts)).num(e.ts)
			.num(int64_t(e.ts) - int64_t(t0)).str(daxtrace::type_name(e.type))
			.str(daxtrace::hook_name(e.hook)).num(e.cpu).str(op_of(e)).num(e.pid).num(e.tid)
			.str(comm_of(e)).num(e.dev).str(e.dev ? dev_string(e.dev) : "").num(e.ino)
			.num(e.pgoff).num(e.nr_pages).num(e.block).num(e.len).num(e.ret).num(e.flags)
			.num(e.refcount);
	}
	if (findings_.rows >= opt_.batch_rows)
		seal(findings_);
	if (evidence_.rows >= opt_.batch_rows)
		seal(evidence_);
}

void ClickHouseOutput::add_devices(uint64_t now_ns)
{
	Batch b{&kDevices};
	for (auto &[dev, fs] : devices_) {
		auto it = devices_sent_.find(dev);
		if (it != devices_sent_.end() && it->second == fs)
			continue;
		devices_sent_[dev] = fs;
		begin_row(b);
		Row(b.body).num(now_ns).str(host_).str(run_id_).str(b.id).num(dev)
			.str(dev_string(dev)).str(fs);
	}
	seal(b);
}

void ClickHouseOutput::snapshot(const Session &s, double elapsed_s, bool final)
{
	// A replay describes the trace's own period: stamp its snapshots with
	// the trace's time, as its events and findings are, not with the time
	// of the export (which left them outside every dashboard window).
	uint64_t now_ns = replay_ && s.events() ? wall(s.last_ts()) : realtime_ns();
	uint32_t no = uint32_t(snapshot_no_++);
	auto st = s.engine().stats();
	Batch stats{&kStats};
	begin_row(stats);
	Row(stats.body).num(now_ns).str(host_).str(run_id_).num(no).num(final ? 1 : 0)
		.str(stats.id).num(elapsed_s).num(s.events()).num(s.lost()).num(s.filtered())
		.num(st.late).num(s.findings().size()).num(st.uncertain_findings).num(st.near_misses)
		.num(st.memory_bytes).num(exported_events_).num(failures_.load());
	seal(stats);

	Batch nm{&kNearMisses};
	auto &t = s.engine().near_misses();
	auto add = [&](const char *scope, int cls, uint64_t dev, uint64_t ino, const daxtrace::Histogram &h) {
		std::vector<uint64_t> b(daxtrace::Histogram::kBuckets);
		for (int i = 0; i < daxtrace::Histogram::kBuckets; i++)
			b[i] = h.bucket(i);
		begin_row(nm);
		Row(nm.body).num(now_ns).str(host_).str(run_id_).num(no).num(final ? 1 : 0)
			.str(nm.id).str(scope).str(daxtrace::class_name(daxtrace::RaceClass(cls)))
			.num(dev).str(dev ? dev_string(dev) : "").num(ino).num(h.count()).num(h.min())
			.num(h.max()).num(h.sum()).nums(b);
	};
	for (int c = 0; c < daxtrace::kRaceClasses; c++)
		add("total", c, 0, 0, t.total(daxtrace::RaceClass(c)));
	for (auto &[k, h] : t.fs_map())
		add("fs", k.cls, k.dev, 0, h);
	if (final)
		for (auto &[k, h] : t.inode_map())
			add("inode", k.cls, k.dev, k.ino, h);
	seal(nm);
	add_devices(now_ns);
}

void ClickHouseOutput::tick(const Session &s, double elapsed_s)
{
	seal_old(false);
	auto now = Clock::now();
	if (now - last_stats_ >= std::chrono::seconds(60) || last_stats_ == Clock::time_point{}) {
		last_stats_ = now;
		snapshot(s, elapsed_s, false);
	}
}

void ClickHouseOutput::summary(const Session &s, double elapsed_s)
{
	if (finished_)
		return;
	finished_ = true;
	seal_old(true);
	snapshot(s, elapsed_s, true);

	// Wait for the sender: until the directory is empty, or no batch could
	// be delivered for flush_timeout_s_.
	{
		std::unique_lock<std::mutex> g(m_);
		draining_ = true;
		dirty_ = true;
		cv_.notify_all();
		progress_ns_ = monotonic_ns();
		while (true) {
			drained_cv_.wait_for(g, std::chrono::milliseconds(200));
			if (idle_ && spill_.list().empty())
				break;
			double stalled = (monotonic_ns() - progress_ns_.load()) / 1e9;
			if (stalled > flush_timeout_s_ || (!spill_.locked() && stalled > 1.0))
				break;
		}
		stop_ = true;
	}
	cv_.notify_all();
	if (sender_.joinable())
		sender_.join();
	size_t ours = 0, others = 0;
	for (auto &n : spill_.list())
		(n.rfind(name_prefix_, 0) == 0 ? ours : others)++;
	fprintf(stderr,
		"daxtrace: clickhouse: run %s: %lu rows in %lu batches sealed (%lu events); delivered %lu "
		"rows in %lu batches to %s database %s%s\n",
		run_id_.c_str(), (unsigned long)sealed_rows_, (unsigned long)sealed_batches_,
		(unsigned long)exported_events_, (unsigned long)delivered_rows_.load(),
		(unsigned long)delivered_batches_.load(), opt_.url.c_str(), opt_.database.c_str(),
		dup_skipped_ ? (", " + std::to_string(dup_skipped_.load()) + " already there (not sent twice)").c_str() : "");
	if (ours + others)
		warn("%zu batches (%zu of this run) wait in %s: %s; the next daxtrace --clickhouse run "
		     "with this spill directory delivers them",
		     ours + others, ours, spill_.dir().c_str(),
		     spill_.locked() ? (last_error_.empty() ? "not delivered in time" : last_error_.c_str())
				     : "another daxtrace holds the directory and delivers them");
	if (events_dropped_rows_)
		warn("%lu event rows were not exported: the spill directory was full",
		     (unsigned long)events_dropped_rows_);
	if (rejected_)
		warn("%lu batches were refused by the server and set aside in %s/rejected",
		     (unsigned long)rejected_.load(), spill_.dir().c_str());
}

// --- sender thread -------------------------------------------------------------

void ClickHouseOutput::report_error(const std::string &msg)
{
	failures_++;
	auto now = Clock::now();
	if (msg != last_error_ || now - last_warn_ > std::chrono::seconds(30)) {
		if (suppressed_)
			fprintf(stderr, "daxtrace: warning: clickhouse: (%lu more failures)\n",
				(unsigned long)suppressed_);
		warn("%s; batches wait in %s and are retried (detection continues)", msg.c_str(),
		     spill_.dir().c_str());
		last_warn_ = now;
		suppressed_ = 0;
	} else {
		suppressed_++;
	}
	last_error_ = msg;
	in_failure_ = true;
}

static std::string describe(const ChResult &r, const std::string &url)
{
	if (r.transport_error())
		return "cannot reach ClickHouse at " + url + ": " + r.error;
	switch (r.ch_code) {
	case 192: case 193: case 194: case 516:
		return "ClickHouse at " + url + " refused the credentials (" + r.error + ")";
	default:
		return "ClickHouse at " + url + ": " + r.error;
	}
}

bool ClickHouseOutput::ensure_schema()
{
	ChResult p = http_->ping(5);
	if (!p.ok) {
		report_error(p.transport_error() ? describe(p, opt_.url)
						 : opt_.url + " is not ClickHouse's HTTP interface (" + p.error + ")");
		return false;
	}
	auto existing_columns = [&](std::map<std::string, std::set<std::string>> *cols) {
		ChResult r = http_->query("SELECT table, name FROM system.columns WHERE database = " +
					 sql_quote(opt_.database) + " FORMAT TabSeparated");
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
	};
	auto missing = [&](const std::map<std::string, std::set<std::string>> &cols) {
		std::string m;
		for (auto *t : kTables) {
			auto it = cols.find(t->name);
			if (it == cols.end()) {
				m += std::string(m.empty() ? "" : "; ") + "no table " + t->name;
				continue;
			}
			std::string lacks;
			int nlack = 0;
			for (auto &c : split(t->columns, ','))
				if (!it->second.count(c) && nlack++ < 4)
					lacks += (lacks.empty() ? "" : ", ") + c;
			if (nlack > 4)
				lacks += " and " + std::to_string(nlack - 4) + " more";
			if (!lacks.empty())
				m += std::string(m.empty() ? "" : "; ") + t->name + " lacks " + lacks;
		}
		return m;
	};
	std::map<std::string, std::set<std::string>> cols;
	ChResult r = existing_columns(&cols);
	if (!r.ok) {
		report_error(describe(r, opt_.url));
		return false;
	}
	if (!missing(cols).empty()) {
		r = http_->query("CREATE DATABASE IF NOT EXISTS " + ident(opt_.database));
		for (auto &st : r.ok ? schema_statements() : std::vector<std::string>{}) {
			r = http_->query(st, opt_.database);
			if (!r.ok)
				break;
		}
		if (!r.ok) {
			report_error(r.transport_error() ? describe(r, opt_.url)
				     : "ClickHouse at " + opt_.url + " refused daxtrace's schema (database " +
					       opt_.database + "): " + r.error);
			return false;
		}
		if (!(r = existing_columns(&cols)).ok) {
			report_error(describe(r, opt_.url));
			return false;
		}
		std::string m = missing(cols);
		if (!m.empty()) {
			report_error("the tables in ClickHouse database " + opt_.database + " at " + opt_.url +
				     " do not fit daxtrace's schema (" + m +
				     "): drop them or use another --clickhouse-db");
			return false;
		}
		std::string row = std::to_string(kSchemaVersion) + "\n";
		http_->query("INSERT INTO " + ident(opt_.database) + ".schema_info (schema_version) FORMAT TabSeparated",
			    "", &row);
	}
	schema_ok_ = true;
	return true;
}

ClickHouseOutput::Delivery ClickHouseOutput::deliver(const std::string &name)
{
	std::string content;
	if (!spill_.read(name, &content))
		return Delivered;   // gone (another process took it)
	size_t nl = content.find('\n');
	auto hdr = split(content.substr(0, nl == std::string::npos ? 0 : nl), '\t');
	if (nl == std::string::npos || hdr.size() != 5 || hdr[0] != kBatchMagic) {
		warn("%s/%s.batch is not a daxtrace batch; set aside", spill_.dir().c_str(), name.c_str());
		spill_.reject(name);
		rejected_++;
		return Rejected;
	}
	const std::string &table = hdr[1], &id = hdr[2], &columns = hdr[4];
	uint64_t rows = strtoull(hdr[3].c_str(), nullptr, 10);
	std::string qtable = ident(opt_.database) + "." + ident(table);
	bool doubt = attempted_.count(name) || name.rfind(name_prefix_, 0) != 0;
	if (doubt) {
		// Did the server take it before (answer lost)?  One INSERT of one
		// batch is one part: it has all the rows or none.
		ChResult r = http_->query("SELECT count() FROM " + qtable + " WHERE batch_id = " + sql_quote(id));
		if (!r.ok) {
			report_error(describe(r, opt_.url));
			if (r.ch_code == 60 || r.ch_code == 81 || r.ch_code == 47)
				schema_ok_ = false;
			return Failed;
		}
		if (strtoull(r.body.c_str(), nullptr, 10) > 0) {
			spill_.remove(name);
			dup_skipped_++;
			return Delivered;
		}
	}
	attempted_.insert(name);
	if (pace_ms_)
		std::this_thread::sleep_for(std::chrono::milliseconds(pace_ms_));
	std::string body = content.substr(nl + 1);
	ChResult r = http_->query("INSERT INTO " + qtable + " (" + columns + ") FORMAT TabSeparated", "",
				 &body, 120);
	if (r.ok) {
		spill_.remove(name);
		delivered_batches_++;
		delivered_rows_ += rows;
		return Delivered;
	}
	switch (r.ch_code) {
	case 60: case 81: case 16: case 47:   // unknown table/database/column: schema
		schema_ok_ = false;
		report_error(describe(r, opt_.url));
		return Failed;
	case 26: case 27: case 6: case 38: case 41: case 53: case 69: case 70: case 72: case 117:
		warn("ClickHouse refused batch %s (%s); set aside in %s/rejected", id.c_str(),
		     r.error.c_str(), spill_.dir().c_str());
		spill_.reject(name);
		rejected_++;
		return Rejected;
	default:
		report_error(describe(r, opt_.url));
		return Failed;
	}
}

void ClickHouseOutput::sender_main()
{
	double backoff = 0.25;
	bool failed = false;
	for (;;) {
		{
			std::unique_lock<std::mutex> g(m_);
			idle_ = true;
			drained_cv_.notify_all();
			auto wait = failed ? std::chrono::duration<double>(backoff) : std::chrono::duration<double>(1.0);
			cv_.wait_for(g, wait, [&] { return stop_ || (dirty_ && !failed); });
			if (stop_)
				return;
			dirty_ = false;
			idle_ = false;
		}
		if (!spill_.try_lock()) {
			failed = true;
			backoff = 1.0;
			continue;
		}
		if (!schema_ok_ && !ensure_schema()) {
			failed = true;
			backoff = std::min(backoff * 2, draining_ ? 2.0 : 10.0);
			continue;
		}
		failed = false;
		for (auto &name : spill_.list()) {
			{
				std::lock_guard<std::mutex> g(m_);
				if (stop_)
					return;
			}
			Delivery d = deliver(name);
			if (d == Failed) {
				failed = true;
				break;
			}
			progress_ns_ = monotonic_ns();
			if (in_failure_) {
				in_failure_ = false;
				fprintf(stderr, "daxtrace: clickhouse: %s answers again; delivering the waiting batches\n",
					opt_.url.c_str());
				last_error_.clear();
			}
		}
		if (failed)
			backoff = std::min(backoff * 2, draining_ ? 2.0 : 10.0);
		else
			backoff = 0.25;
		if (!failed) {
			std::lock_guard<std::mutex> g(m_);
			// Anything sealed meanwhile is picked up on the next pass.
		}
	}
}

}  // namespace

std::unique_ptr<Output> make_clickhouse_output(const ClickHouseOptions &opt)
{
	return std::make_unique<ClickHouseOutput>(opt);
}

}  // namespace dtcli
