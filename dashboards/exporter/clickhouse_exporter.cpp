// Rows and batches: which rows each table gets from a run (the row sources
// of rows.h; schema.cpp says what each column takes of them), sealed into
// the spill directory for the sender (delivery.h).
#include "clickhouse_exporter.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <unistd.h>

#include "clickhouse_http.h"
#include "delivery.h"
#include "registry.h"
#include "row.h"
#include "rows.h"
#include "schema.h"
#include "spill_queue.h"

namespace dtch {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// "host_port" of a URL: names a destination's spill directory.
std::string url_key(const std::string &url)
{
	std::string key;
	auto scheme = url.find("://");
	for (char c : url.substr(scheme == std::string::npos ? 0 : scheme + 3))
		key += isalnum((unsigned char)c) || c == '.' || c == '-' ? c : '_';
	while (!key.empty() && key.back() == '_')
		key.pop_back();
	return key;
}

std::vector<std::string> shard_urls(const Options &o)
{
	std::vector<std::string> v;
	for (size_t pos = 0;;) {
		size_t comma = o.url.find(',', pos);
		v.push_back(o.url.substr(pos, comma == std::string::npos ? comma : comma - pos));
		if (comma == std::string::npos)
			return v;
		pos = comma + 1;
	}
}

// The shard of a host: FNV-1a of its name.  Any fixed function would do
// (reads go through the Distributed tables, which ask every shard); a
// host's rows staying on one shard keeps its queries and its batches on
// one server.
size_t shard_of(const std::string &host, size_t shards)
{
	uint64_t h = 1469598103934665603ULL;
	for (unsigned char c : host)
		h = (h ^ c) * 1099511628211ULL;
	return size_t(h % shards);
}

std::string default_spill_dir(const Options &opt)
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
	// One directory per destination: a batch never goes to another server
	// (on a cluster, a subdirectory per shard below this one).
	if (!opt.cluster.empty())
		return base + "/cluster-" + opt.cluster + "-" + opt.database;
	return base + "/" + url_key(opt.url) + "-" + opt.database;
}

// Bad options fail before anything is created (the spill directory).
bool plain_name(const std::string &n)
{
	bool plain = !n.empty() && n.size() <= 64 && !isdigit((unsigned char)n[0]);
	for (char c : n)
		plain = plain && (isalnum((unsigned char)c) || c == '_');
	return plain;
}

const Options &checked(const Options &o)
{
	auto urls = shard_urls(o);
	if (urls.size() > 1 && o.cluster.empty())
		throw std::runtime_error("several URLs are the shards of a cluster: name it with --clickhouse-cluster");
	for (auto &u : urls)
		ClickHouseHttp validate(u, "", "");   // throws on a malformed URL
	// Checked here, not by the server: the default spill directory is
	// named after the database and is created right after this.  Plain
	// identifiers only, which every ClickHouse takes without quoting.
	if (!plain_name(o.database))
		throw std::runtime_error("--clickhouse-db: '" + o.database +
					 "' is not a usable database name (letters, digits and _, not starting "
					 "with a digit, at most 64)");
	if (!o.cluster.empty() && !plain_name(o.cluster))
		throw std::runtime_error("--clickhouse-cluster: '" + o.cluster +
					 "' is not a usable cluster name (letters, digits and _, not starting "
					 "with a digit, at most 64)");
	return o;
}

// Rows in the batches of dir whose names start with prefix.
uint64_t pending_rows(const SpillQueue &q, const std::string &prefix)
{
	uint64_t rows = 0;
	std::string content;
	for (auto &n : q.list())
		if (n.rfind(prefix, 0) == 0 && q.read(n, &content)) {
			// header: magic, table, batch_id, rows, columns
			size_t t1 = content.find('\t'), t2 = content.find('\t', t1 + 1),
			       t3 = content.find('\t', t2 + 1);
			if (t3 != std::string::npos)
				rows += strtoull(content.c_str() + t3 + 1, nullptr, 10);
		}
	return rows;
}

}  // namespace

struct Exporter::Impl {
	struct Batch {
		explicit Batch(const Table &t) : table(t) {}
		const Table &table;
		std::string body;
		size_t rows = 0;
		Clock::time_point first;
		uint64_t seq = 0;
		std::string id;   // in every row of the batch
	};

	explicit Impl(const Options &o);
	template <class Source>
	void add(Batch &b, const Source &source);
	void seal(Batch &b);
	void seal_old(bool all);
	uint64_t wall(uint64_t ts) const { return uint64_t(int64_t(ts) + wall_offset); }
	void snapshot(const Snapshot &s, bool final);
	void add_devices(uint64_t now_ns);

	// A destination: the server, or on a cluster one shard, with its own
	// spill directory and sender.  This run writes to shards[target]; the
	// other senders deliver what earlier runs left for their shard.
	struct Shard {
		std::string url;
		std::unique_ptr<SpillQueue> spill;
		std::unique_ptr<Delivery> delivery;
	};
	SpillQueue &spill() { return *shards[target].spill; }
	Delivery &delivery() { return *shards[target].delivery; }

	Options opt;
	std::string spill_base;
	std::vector<Shard> shards;
	size_t target = 0;
	std::string run_id, name_prefix, host = "unknown";
	uint64_t created_ns = 0;
	int64_t wall_offset = 0;
	bool replay = false, finished = false;
	std::string failure;   // after finish()
	uint64_t start_ns = 0;
	uint64_t batch_seq = 0, event_seq = 0, finding_no = 0, snapshot_no = 0;
	uint64_t exported_events = 0, check_counter = 0;
	Batch events{table_of<EventRow>()}, findings{table_of<FindingRow>()}, evidence{table_of<EvidenceRow>()};
	std::map<uint64_t, std::string> devices, devices_sent;   // dev -> fs
	Clock::time_point last_stats{};
	uint64_t sealed_batches = 0, sealed_rows = 0, lost_rows = 0, events_dropped_rows = 0;
	double flush_timeout_s = 15;
	uint64_t spill_max_bytes = 1024ULL << 20;
};

Exporter::Impl::Impl(const Options &o)
	: opt(checked(o)), spill_base(o.spill_dir.empty() ? default_spill_dir(o) : o.spill_dir)
{
	if (opt.batch_rows == 0)
		opt.batch_rows = 1;
	std::string user, password;
	clickhouse_credentials(opt.credentials_file, &user, &password);
	if (const char *p = getenv("DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT"))
		flush_timeout_s = atof(p);
	if (const char *p = getenv("DAXTRACE_CLICKHOUSE_SPILL_MAX_MB"))
		spill_max_bytes = strtoull(p, nullptr, 10) << 20;   // 0 = unbounded
	created_ns = clock_ns(CLOCK_REALTIME);
	std::random_device rd;
	char id[32];
	snprintf(id, sizeof(id), "%08x%08x", rd(), rd() ^ unsigned(getpid()));
	run_id = id;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%020lu-%s-", (unsigned long)created_ns, run_id.c_str());
	name_prefix = prefix;
	wall_offset = int64_t(clock_ns(CLOCK_REALTIME)) - int64_t(clock_ns(CLOCK_MONOTONIC));
	for (auto &u : shard_urls(opt)) {
		Shard sh;
		sh.url = u;
		sh.spill = std::make_unique<SpillQueue>(opt.cluster.empty() ? spill_base : spill_base + "/" + url_key(u));
		sh.delivery = std::make_unique<Delivery>(std::make_unique<ClickHouseHttp>(u, user, password),
							 opt.database, opt.cluster, *sh.spill, name_prefix);
		if (const char *p = getenv("DAXTRACE_CLICKHOUSE_TEST_PACE_MS"))
			sh.delivery->set_pace_ms(unsigned(atoi(p)));
		shards.push_back(std::move(sh));
	}
}

// One row made from source into b, whose table must be source's.
template <class Source>
void Exporter::Impl::add(Batch &b, const Source &source)
{
	if (&b.table != &table_of<Source>()) {
		fprintf(stderr, "daxtrace: bug: a row for %.*s added to a %.*s batch\n",
			int(table_of<Source>().name.size()), table_of<Source>().name.data(),
			int(b.table.name.size()), b.table.name.data());
		abort();
	}
	if (!b.rows) {
		b.first = Clock::now();
		b.seq = batch_seq++;
		char id[96];
		snprintf(id, sizeof(id), "%s-%06lu-%.*s", run_id.c_str(), (unsigned long)b.seq,
			 int(b.table.name.size()), b.table.name.data());
		b.id = id;
	}
	b.rows++;
	append_row(b.body, Origin{host, run_id, b.id}, source);
}

void Exporter::Impl::seal(Batch &b)
{
	if (!b.rows)
		return;
	std::string tname = b.table.insert_table(!opt.cluster.empty());
	std::string content = std::string(kBatchMagic) + "\t" + tname + "\t" + b.id + "\t" +
			      std::to_string(b.rows) + "\t" + b.table.insert_columns() + "\n" + b.body;
	char name[128];
	snprintf(name, sizeof(name), "%s%06lu-%s", name_prefix.c_str(), (unsigned long)b.seq, tname.c_str());
	// A server down for long: the spill directory is bounded; events give
	// way first (findings, evidence, histograms and counters are small and
	// always kept).
	if (&b == &events && spill_max_bytes && spill().bytes() + content.size() > spill_max_bytes) {
		if (!events_dropped_rows)
			warn("spill directory %s is full (%lu MiB, DAXTRACE_CLICKHOUSE_SPILL_MAX_MB): event rows "
			     "are dropped until ClickHouse takes the waiting batches; findings are kept",
			     spill().dir().c_str(), (unsigned long)(spill_max_bytes >> 20));
		events_dropped_rows += b.rows;
		b.body.clear();
		b.rows = 0;
		return;
	}
	try {
		spill().put(name, content);
		sealed_batches++;
		sealed_rows += b.rows;
	} catch (const std::exception &e) {
		lost_rows += b.rows;
		warn("%s; %zu %s rows lost", e.what(), b.rows, tname.c_str());
	}
	b.body.clear();
	b.rows = 0;
	delivery().notify();
}

void Exporter::Impl::seal_old(bool all)
{
	auto now = Clock::now();
	auto old = std::chrono::duration<double>(opt.batch_seconds);
	for (Batch *b : {&events, &findings, &evidence})
		if (b->rows && (all || now - b->first >= old))
			seal(*b);
}

void Exporter::Impl::add_devices(uint64_t now_ns)
{
	Batch b{table_of<DeviceRow>()};
	for (auto &[dev, fs] : devices) {
		auto it = devices_sent.find(dev);
		if (it != devices_sent.end() && it->second == fs)
			continue;
		devices_sent[dev] = fs;
		add(b, DeviceRow{.seen_ns = now_ns, .dev = dev, .fs = fs});
	}
	seal(b);
}

void Exporter::Impl::snapshot(const Snapshot &s, bool final)
{
	// A replay describes the trace's own period: stamp its snapshots with
	// the trace's time, as its events and findings are, not with the time
	// of the export (which left them outside every dashboard window).
	uint64_t now_ns = replay && s.last_ts ? wall(s.last_ts) : clock_ns(CLOCK_REALTIME);
	uint32_t no = uint32_t(snapshot_no++);
	Batch stats{table_of<StatsRow>()};
	add(stats, StatsRow{.snapshot_ns = now_ns, .no = no, .final = final, .s = s,
			    .exported_events = exported_events, .export_failures = delivery().failures()});
	seal(stats);

	Batch nm{table_of<NearMissRow>()};
	auto histogram = [&](std::string_view scope, int cls, uint64_t dev, uint64_t ino, const daxtrace::Histogram &h) {
		add(nm, NearMissRow{.snapshot_ns = now_ns, .no = no, .final = final, .scope = scope, .cls = cls,
				    .dev = dev, .ino = ino, .h = h});
	};
	if (const daxtrace::NearMissTable *t = s.near_misses) {
		for (int c = 0; c < daxtrace::kRaceClasses; c++)
			histogram("total", c, 0, 0, t->total(daxtrace::RaceClass(c)));
		for (auto &[k, h] : t->fs_map())
			histogram("fs", k.cls, k.dev, 0, h);
		if (final)
			for (auto &[k, h] : t->inode_map())
				histogram("inode", k.cls, k.dev, k.ino, h);
	}
	seal(nm);
	add_devices(now_ns);
}

Exporter::Exporter(const Options &opt) : impl_(std::make_unique<Impl>(opt)) {}

Exporter::~Exporter() = default;

void Exporter::start(const RunInfo &run)
{
	Impl &x = *impl_;
	x.host = !x.opt.host_name.empty() ? x.opt.host_name : run.host.empty() ? "unknown" : run.host;
	x.target = shard_of(x.host, x.shards.size());
	if (run.start_wallclock_ns && run.start_monotonic_ns)
		x.wall_offset = int64_t(run.start_wallclock_ns) - int64_t(run.start_monotonic_ns);
	x.start_ns = run.start_wallclock_ns ? run.start_wallclock_ns : clock_ns(CLOCK_REALTIME);
	x.replay = !run.live;
	Impl::Batch runs{table_of<RunRow>()}, cov{table_of<CoverageRow>()};
	x.add(runs, RunRow{.start_ns = x.start_ns, .run = run, .event_sample = x.opt.event_sample});
	auto coverage = [&](std::string_view kind, const std::string &name, const std::string &mechanism,
			    bool attached, const std::string &detail) {
		x.add(cov, CoverageRow{.start_ns = x.start_ns, .kind = kind, .name = name, .mechanism = mechanism,
				       .attached = attached, .detail = detail});
	};
	if (run.coverage.is_object()) {
		for (auto &h : run.coverage.value("hooks", nlohmann::json::array())) {
			bool att = h.value("attached", false);
			coverage("hook", h.value("name", std::string()), att ? h.value("mechanism", std::string()) : "",
				 att, att ? h.value("what", std::string()) : h.value("reason", std::string()));
		}
		for (auto &c : run.coverage.value("classes", nlohmann::json::array())) {
			std::string level = c.value("coverage", std::string());
			coverage("class", c.value("class", std::string()), "", level == "full", level);
		}
	} else {
		for (auto &h : run.hooks) {
			auto [name, mech] = dtabi::hook_and_mechanism(h);
			coverage("hook", std::string(name), std::string(mech), true, "");
		}
	}
	x.seal(runs);
	x.seal(cov);
}

void Exporter::event(const dt_event &e)
{
	Impl &x = *impl_;
	uint64_t seq = x.event_seq++;
	if (e.dev) {
		// The filesystem of a device: the registry says which hooks probe
		// fs-specific code.
		auto &fs = x.devices[e.dev];
		if (const dtabi::HookInfo *h = dtabi::hook_info(e.hook); fs.empty() && h)
			fs = h->fs;
	}
	// Drop markers are always exported (the drops dashboard needs them all).
	bool lost = e.type == DT_LOST;
	if (lost || (x.opt.event_sample && seq % x.opt.event_sample == 0)) {
		x.add(x.events, EventRow{.wall_ns = x.wall(e.ts), .seq = seq,
					 .sample = lost ? 1u : x.opt.event_sample, .e = e});
		x.exported_events++;
		if (x.events.rows >= x.opt.batch_rows)
			x.seal(x.events);
	}
	if ((++x.check_counter & 1023) == 0)
		x.seal_old(false);
}

void Exporter::finding(const daxtrace::Finding &f)
{
	Impl &x = *impl_;
	uint64_t no = x.finding_no++;
	uint64_t wstart = x.wall(f.window_start_ns);
	x.add(x.findings, FindingRow{.wall_start_ns = wstart, .no = no, .f = f});
	uint64_t t0 = f.evidence.empty() ? 0 : f.evidence.front().ts;
	uint32_t idx = 0;
	for (auto &e : f.evidence)
		x.add(x.evidence, EvidenceRow{.wall_start_ns = wstart, .no = no, .idx = idx++, .f = f,
					      .wall_ns = x.wall(e.ts), .offset_ns = int64_t(e.ts) - int64_t(t0),
					      .e = e});
	if (x.findings.rows >= x.opt.batch_rows)
		x.seal(x.findings);
	if (x.evidence.rows >= x.opt.batch_rows)
		x.seal(x.evidence);
}

void Exporter::tick(const Snapshot &s)
{
	Impl &x = *impl_;
	x.seal_old(false);
	auto now = Clock::now();
	if (now - x.last_stats >= std::chrono::seconds(60) || x.last_stats == Clock::time_point{}) {
		x.last_stats = now;
		x.snapshot(s, false);
	}
}

void Exporter::finish(const Snapshot &s)
{
	Impl &x = *impl_;
	if (x.finished)
		return;
	x.finished = true;
	x.seal_old(true);
	x.snapshot(s, true);
	// This run's shard first: its batches are the ones the exit status
	// is about.
	x.delivery().drain(x.flush_timeout_s, x.opt.interrupts);
	for (auto &sh : x.shards)
		if (sh.delivery.get() != &x.delivery())
			sh.delivery->drain(x.flush_timeout_s, x.opt.interrupts);
	uint64_t rows = 0, batches = 0, dups = 0, rejected = 0;
	for (auto &sh : x.shards) {
		rows += sh.delivery->delivered_rows();
		batches += sh.delivery->delivered_batches();
		dups += sh.delivery->duplicates_skipped();
		rejected += sh.delivery->rejected();
	}
	std::string where = x.shards[x.target].url;
	if (!x.opt.cluster.empty())
		where += " (shard " + std::to_string(x.target + 1) + " of " + std::to_string(x.shards.size()) +
			 " of cluster " + x.opt.cluster + ")";
	message(false,
		"clickhouse: run %s: %lu rows in %lu batches sealed (%lu events); delivered %lu "
		"rows in %lu batches to %s database %s%s",
		x.run_id.c_str(), (unsigned long)x.sealed_rows, (unsigned long)x.sealed_batches,
		(unsigned long)x.exported_events, (unsigned long)rows, (unsigned long)batches, where.c_str(),
		x.opt.database.c_str(),
		dups ? (", " + std::to_string(dups) + " already there (not sent twice)").c_str() : "");

	size_t ours = 0;
	uint64_t our_rows = 0;
	std::string last_error = x.delivery().last_error();
	for (auto &sh : x.shards) {
		size_t mine = 0, others = 0;
		for (auto &n : sh.spill->list())
			(n.rfind(x.name_prefix, 0) == 0 ? mine : others)++;
		if (!(mine + others))
			continue;
		uint64_t mine_rows = mine ? pending_rows(*sh.spill, x.name_prefix) : 0;
		std::string err = sh.delivery->last_error();
		// Counted, never silent: what waits, where, why, and who takes it.
		warn("%zu batches (%zu of this run: %lu rows) wait in %s: %s; the next daxtrace --clickhouse "
		     "run with this spill directory, or daxtrace flush, delivers them",
		     mine + others, mine, (unsigned long)mine_rows, sh.spill->dir().c_str(),
		     sh.spill->locked() ? (err.empty() ? "not delivered in time" : err.c_str())
					: "another daxtrace holds the directory and delivers them");
		if (sh.spill->locked()) {
			ours += mine;
			our_rows += mine_rows;
		}
	}
	if (x.events_dropped_rows)
		warn("%lu event rows were not exported: the spill directory was full",
		     (unsigned long)x.events_dropped_rows);
	if (rejected)
		warn("%lu batches were refused by the server and set aside in %s/rejected",
		     (unsigned long)rejected, x.spill().dir().c_str());
	if (ours)
		x.failure = "clickhouse: " + std::to_string(ours) + " of " + std::to_string(x.sealed_batches) +
			    " batches of this run (" + std::to_string(our_rows) + " rows) not delivered to " +
			    where + " (" + (last_error.empty() ? std::string("not delivered in time") : last_error) + ")";
	else if (rejected)
		x.failure = "clickhouse: " + std::to_string(rejected) + " batches refused by the server (" +
			    (last_error.empty() ? std::string("rejected") : last_error) + ")";
}

std::string Exporter::failure() const { return impl_->failure; }

}  // namespace dtch
