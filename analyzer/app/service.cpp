#include "service.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <memory>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <vector>

#include "config.h"
#include "daxtrace/events.h"
#include "daxtrace/trace.h"
#include "delivery.h"
#include "export_options.h"
#include "filters.h"
#include "metrics.h"
#include "output.h"
#include "probe_set.h"
#include "session.h"

namespace dtcli {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> s_stop{false};
std::atomic<bool> s_reload{false};

void on_signal(int sig)
{
	if (sig == SIGHUP)
		s_reload = true;
	else
		s_stop = true;
}

// One line per message, syslog priority prefix (sd-daemon(3)), no colour.
void log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log(int prio, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "<%d>%s\n", prio, buf);
	fflush(stderr);
}
enum { ERR = 3, WARNING = 4, NOTICE = 5, INFO = 6 };


struct Settings {
	FilterArgs filters;
	size_t ringbuf_mb = 8;
	std::vector<std::string> forbid;
	bool join_faults = true;
	std::string metrics;
	ClickHouseOptions clickhouse;
	std::string record_dir;
	uint64_t record_max_file_bytes = 64ull << 20;
	double record_max_file_age_s = 3600;
	uint64_t record_max_total_bytes = 1ull << 30;
	unsigned record_max_files = 0; // 0: only the total size bounds them
	double stats_interval_s = 300;
};

const char *kKnownKeys[] = {
	"filter.pid", "filter.cgroup", "filter.dev", "filter.ino", "probes.ringbuf_mb", "probes.forbid",
	"probes.join_faults",
	"metrics.listen", "clickhouse.url", "clickhouse.database", "clickhouse.credentials",
	"clickhouse.spill_dir", "clickhouse.sample", "clickhouse.batch_rows", "clickhouse.batch_seconds",
	"clickhouse.cluster", "clickhouse.hostname", "record.dir", "record.max_file_size",
	"record.max_file_age", "record.max_total_size", "record.max_files", "log.stats_interval",
};

Settings settings_from(const Config &c)
{
	for (auto &[k, v] : c.values) {
		bool known = false;
		for (auto *kk : kKnownKeys)
			known |= k == kk;
		if (!known)
			throw ConfigError(c.origin.at(k) + ": unknown key '" + k + "'");
	}
	Settings s;
	s.filters.pid = c.str("filter.pid");
	s.filters.cgroup = c.str("filter.cgroup");
	s.filters.dev = c.str("filter.dev");
	s.filters.ino = c.str("filter.ino");
	s.ringbuf_mb = size_t(c.num("probes.ringbuf_mb", 8));
	if (s.ringbuf_mb == 0 || (s.ringbuf_mb & (s.ringbuf_mb - 1)))
		throw ConfigError(c.origin.at("probes.ringbuf_mb") + ": probes.ringbuf_mb must be a power of two");
	std::string forbid = c.str("probes.forbid");
	for (size_t p = 0; p < forbid.size();) {
		size_t q = forbid.find_first_of(", ", p);
		if (q == std::string::npos)
			q = forbid.size();
		if (q > p) {
			std::string m = forbid.substr(p, q - p);
			dtprobe::Mechanism mech;
			if (!dtprobe::parse_mechanism(m, &mech))
				throw ConfigError(c.origin.at("probes.forbid") + ": unknown mechanism '" + m + "'");
			s.forbid.push_back(m);
		}
		p = q + 1;
	}
	s.join_faults = c.flag("probes.join_faults", true);
	s.metrics = c.str("metrics.listen");
	s.clickhouse.url = c.str("clickhouse.url");
	s.clickhouse.database = c.str("clickhouse.database", s.clickhouse.database);
	s.clickhouse.cluster = c.str("clickhouse.cluster");
	s.clickhouse.host_name = c.str("clickhouse.hostname");
	s.clickhouse.credentials_file = c.str("clickhouse.credentials");
	s.clickhouse.spill_dir = c.str("clickhouse.spill_dir");
	s.clickhouse.event_sample = unsigned(c.num("clickhouse.sample", s.clickhouse.event_sample));
	s.clickhouse.batch_rows = size_t(c.num("clickhouse.batch_rows", double(s.clickhouse.batch_rows)));
	s.clickhouse.batch_seconds = c.duration("clickhouse.batch_seconds", s.clickhouse.batch_seconds);
	s.record_dir = c.str("record.dir");
	s.record_max_file_bytes = c.size("record.max_file_size", s.record_max_file_bytes);
	s.record_max_file_age_s = c.duration("record.max_file_age", s.record_max_file_age_s);
	s.record_max_total_bytes = c.size("record.max_total_size", s.record_max_total_bytes);
	s.record_max_files = unsigned(c.num("record.max_files", 0));
	s.stats_interval_s = c.duration("log.stats_interval", s.stats_interval_s);
	if (!s.record_dir.empty() && s.record_max_total_bytes < s.record_max_file_bytes)
		throw ConfigError("record.max_total_size must be at least record.max_file_size");
	if (s.clickhouse.batch_rows == 0 || s.clickhouse.batch_seconds <= 0)
		throw ConfigError("clickhouse.batch_rows and clickhouse.batch_seconds must be positive");
	if (s.clickhouse.url.find(',') != std::string::npos && s.clickhouse.cluster.empty())
		throw ConfigError("clickhouse.url lists several servers: name the cluster they are the shards "
				  "of with clickhouse.cluster");
	return s;
}

// Findings, warnings and a periodic stats line, for the journal.
class JournalOutput : public Output {
public:
	explicit JournalOutput(double stats_interval_s) : interval_(stats_interval_s) {}
	void start(const nlohmann::json &meta) override
	{
		std::string cov;
		bool have = meta.contains("coverage") && meta["coverage"].is_object();
		if (have)
			for (auto &c : meta["coverage"]["classes"]) {
				if (!cov.empty())
					cov += ' ';
				cov += c.value("class", std::string()) + "=" +
				       c.value("coverage", std::string());
			}
		log(NOTICE, "attached: kernel %s, coverage %s", meta.value("kernel", std::string()).c_str(),
		    cov.c_str());
		if (have)
			for (auto &c : meta["coverage"]["classes"])
				if (c.value("coverage", std::string()) != "full")
					log(WARNING, "race class %s (%s) has %s coverage", c.value("class", std::string()).c_str(),
					    c.value("title", std::string()).c_str(), c.value("coverage", std::string()).c_str());
	}
	void finding(const daxtrace::Finding &f) override
	{
		log(WARNING, "finding: %s", finding_line(f).c_str());
	}
	void tick(const Session &s, double elapsed_s) override
	{
		if (elapsed_s - last_ < interval_)
			return;
		last_ = elapsed_s;
		log(INFO, "stats: %s", session_stats_json(s, elapsed_s).dump().c_str());
	}
	void summary(const Session &s, double elapsed_s) override
	{
		log(INFO, "session ended: %lu events, %lu lost, %zu findings in %.0f s", (unsigned long)s.events(),
		    (unsigned long)s.lost(), s.findings().size(), elapsed_s);
	}
	void warning(const std::string &msg) override { log(WARNING, "%s", msg.c_str()); }

private:
	double interval_;
	double last_ = 0;
};

// Forwards to an output that outlives the session (the metrics endpoint
// stays up across a reload).
class Borrowed : public Output {
public:
	explicit Borrowed(Output &o) : o_(o) {}
	void start(const nlohmann::json &m) override { o_.start(m); }
	void events(const dt_event *ev, size_t n) override { o_.events(ev, n); }
	void finding(const daxtrace::Finding &f) override { o_.finding(f); }
	void tick(const Session &s, double t) override { o_.tick(s, t); }
	void summary(const Session &s, double t) override { o_.summary(s, t); }
	void warning(const std::string &m) override { o_.warning(m); }

private:
	Output &o_;
};

// Bounded recording: the event stream goes to DIR/daxtrace-<time>.dxt,
// a new file once the current one reaches max_file_bytes or max_file_age;
// the oldest files are deleted so that all of them together stay under
// max_total_bytes (and max_files).  Every file is a complete trace on its
// own (own header, own end marker), so any of them replays alone.
class RotatingRecorder : public Output {
public:
	RotatingRecorder(const Settings &s, daxtrace::TraceHeader hdr) : s_(s), hdr_(std::move(hdr))
	{
		if (mkdir(s_.record_dir.c_str(), 0750) != 0 && errno != EEXIST)
			throw std::runtime_error("record.dir " + s_.record_dir + ": " + strerror(errno));
	}
	~RotatingRecorder() override { close_current(); }
	void start(const nlohmann::json &) override {}
	void events(const dt_event *ev, size_t n) override
	{
		for (size_t i = 0; i < n; i++) {
			if (!w_ && !open_next())
				return;
			w_->append(ev[i]);
			if (w_->failed())
				return fail();
			if (w_->bytes_written() >= s_.record_max_file_bytes)
				rotate();
		}
	}
	void finding(const daxtrace::Finding &) override {}
	void tick(const Session &, double) override
	{
		if (!w_)
			return;
		w_->tick();
		if (w_->failed())
			return fail();
		if (std::chrono::duration<double>(Clock::now() - opened_).count() >= s_.record_max_file_age_s)
			rotate();
	}
	void summary(const Session &, double) override { close_current(); }
	void warning(const std::string &) override {}

private:
	bool open_next()
	{
		if (Clock::now() < retry_after_)
			return false;
		char name[64];
		time_t now = time(nullptr);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(name, sizeof(name), "daxtrace-%Y%m%dT%H%M%SZ", &tm);
		std::string path;
		for (int n = 0;; n++) {
			path = s_.record_dir + "/" + name;
			if (n) {
				path += '-';
				path += std::to_string(n);
			}
			path += ".dxt";
			if (access(path.c_str(), F_OK) != 0)
				break;
		}
		auto hdr = hdr_;
		hdr.start_wallclock_ns = clock_ns(CLOCK_REALTIME);
		hdr.start_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
		daxtrace::TraceWriter::Options o;
		o.mode = daxtrace::TraceWriter::Mode::Exclusive;
		try {
			w_ = std::make_unique<daxtrace::TraceWriter>(path, hdr, o);
		} catch (const daxtrace::TraceError &e) {
			log(ERR, "recording: %s: %s (retrying in 10 s)", path.c_str(), e.what());
			retry_after_ = Clock::now() + std::chrono::seconds(10);
			return false;
		}
		opened_ = Clock::now();
		log(INFO, "recording to %s", path.c_str());
		prune();
		return true;
	}
	void close_current()
	{
		if (!w_)
			return;
		bool ok = w_->close();
		log(ok ? INFO : ERR, "closed %s: %lu events, %lu bytes%s", w_->path().c_str(),
		    (unsigned long)w_->events_on_disk(), (unsigned long)w_->bytes_written(),
		    ok ? "" : (std::string(" (") + w_->error()->what() + ")").c_str());
		w_.reset();
		prune();
	}
	void rotate()
	{
		close_current();
		open_next();
	}
	void fail()
	{
		log(ERR, "recording: %s: %s; closing it, new file in 10 s", w_->path().c_str(), w_->error()->what());
		close_current();
		retry_after_ = Clock::now() + std::chrono::seconds(10);
	}
	// Oldest first: the names sort by time.
	void prune()
	{
		std::vector<std::pair<std::string, uint64_t>> files;
		if (DIR *d = opendir(s_.record_dir.c_str())) {
			while (auto *e = readdir(d)) {
				std::string n = e->d_name;
				if (n.rfind("daxtrace-", 0) != 0 || n.size() < 4 || n.compare(n.size() - 4, 4, ".dxt") != 0)
					continue;
				struct stat st;
				std::string p = s_.record_dir + "/" + n;
				if (stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
					files.push_back({p, uint64_t(st.st_size)});
			}
			closedir(d);
		}
		std::sort(files.begin(), files.end());
		uint64_t total = 0;
		for (auto &f : files)
			total += f.second;
		// The file being written is kept and counted at its full size:
		// the bound holds when it reaches max_file_bytes.
		std::string current = w_ ? w_->path() : "";
		if (w_)
			total += s_.record_max_file_bytes;
		size_t count = files.size();
		for (auto &f : files) {
			bool over = total > s_.record_max_total_bytes || (s_.record_max_files && count > s_.record_max_files);
			if (!over)
				break;
			if (f.first == current)
				continue;
			if (unlink(f.first.c_str()) == 0) {
				log(INFO, "deleted %s (recording bound)", f.first.c_str());
				total -= f.second;
				count--;
			}
		}
	}

	Settings s_;
	daxtrace::TraceHeader hdr_;
	std::unique_ptr<daxtrace::TraceWriter> w_;
	Clock::time_point opened_, retry_after_{};
};

// One session with the given settings; returns when stopped or told to
// reload.  Returns the exit status (0, or 1 for a runtime failure).
int run_once(const Settings &s, std::unique_ptr<MetricsOutput> &metrics, std::string &metrics_addr)
{
	dtprobe::Options opt;
	try {
		opt.filters = resolve_filters(s.filters);
	} catch (const UsageError &e) {
		log(ERR, "configuration: %s", e.what());
		return 2;
	}
	for (auto &m : s.forbid) {
		dtprobe::Mechanism mech;
		dtprobe::parse_mechanism(m, &mech);
		opt.forbid.insert(mech);
	}
	opt.ringbuf_bytes = s.ringbuf_mb << 20;
	opt.join_faults = s.join_faults;
	if (metrics_addr != s.metrics) {
		metrics.reset();
		metrics_addr.clear();
		if (!s.metrics.empty()) {
			try {
				metrics = std::make_unique<MetricsOutput>(s.metrics);
			} catch (const std::exception &e) {
				log(ERR, "%s", e.what());
				return 1;
			}
			metrics_addr = s.metrics;
			log(INFO, "metrics on http://%s/metrics", s.metrics.c_str());
		}
	}
	if (auto missing = dtprobe::missing_privileges(); !missing.empty()) {
		log(ERR, "%s", missing.c_str());
		return 1;
	}
	dtprobe::ProbeSet probes(opt);
	try {
		probes.attach();
	} catch (const dtprobe::ProbeError &e) {
		log(ERR, "%s", e.what());
		return 1;
	}
	// The same header as live mode's recordings: the hooks by name and
	// mechanism, so the engine's coverage is the same in both.
	daxtrace::TraceHeader hdr = live_trace_header(probes);

	TeeOutput out;
	out.add(std::make_unique<JournalOutput>(s.stats_interval_s));
	if (metrics)
		out.add(std::make_unique<Borrowed>(*metrics));
	try {
		if (!s.record_dir.empty())
			out.add(std::make_unique<RotatingRecorder>(s, hdr));
		if (!s.clickhouse.url.empty())
			out.add(make_clickhouse_output(s.clickhouse));
	} catch (const std::exception &e) {
		log(ERR, "%s", e.what());
		return 1;
	}
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached = daxtrace::hooks_from_names(hdr.hooks);
	Session session(cfg, out);
	StartInfo si;
	si.live = true;
	si.kernel = hdr.kernel_release;
	si.host = hdr.hostname;
	si.trace = s.record_dir;
	si.abi_version = hdr.abi_version;
	si.hooks = hdr.hooks;
	si.coverage = probes.coverage_json();
	si.start_wallclock_ns = hdr.start_wallclock_ns;
	si.start_monotonic_ns = hdr.start_monotonic_ns;
	out.start(start_meta(si));
	auto t0 = Clock::now();
	auto next_tick = t0 + std::chrono::seconds(1);
	auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
	auto deliver = [&](const dt_event *ev, size_t n) { session.on_events(ev, n); };
	int status = 0;
	uint64_t dropped_seen = 0;
	while (!s_stop && !s_reload) {
		int rc = probes.poll(100, deliver);
		if (rc < 0 && rc != -EINTR) {
			log(ERR, "reading the ring buffer: %s", strerror(-rc));
			status = 1;
			break;
		}
		session.after_poll(rc);
		if (Clock::now() >= next_tick) {
			auto st = probes.total_stats();
			if (metrics)
				metrics->set_ringbuf(st.emitted, st.dropped, st.filtered);
			if (st.dropped > dropped_seen) {
				out.warning(std::to_string(st.dropped - dropped_seen) +
					    " events dropped (ring buffer full); probes.ringbuf_mb larger helps");
				dropped_seen = st.dropped;
			}
			out.tick(session, elapsed());
			next_tick += std::chrono::seconds(1);
		}
	}
	probes.detach();
	while (probes.poll(0, deliver) > 0) {
	}
	session.finish();
	out.summary(session, elapsed());
	return status;
}

}  // namespace

int run_service(const std::string &config_path, bool check_only)
{
	Settings s;
	try {
		Config c = load_config(config_path);
		s = settings_from(c);
		if (check_only) {
			for (auto &f : c.files)
				printf("# %s\n", f.c_str());
			for (auto &[k, v] : c.values)
				printf("%s = %s\n", k.c_str(), v.c_str());
			return 0;
		}
	} catch (const ConfigError &e) {
		log(ERR, "configuration: %s", e.what());
		return 2;
	}
	// No SA_RESTART: a signal must interrupt the ring-buffer wait.
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	sigaction(SIGHUP, &sa, nullptr);
	signal(SIGPIPE, SIG_IGN);
	// The exporter's warnings (ClickHouse down, batches waiting) are
	// warnings in the journal too, not unprefixed lines it files as info.
	dtch::set_message_sink([](bool warning, const std::string &text) {
		log(warning ? WARNING : INFO, "%s", text.c_str());
	});
	log(NOTICE, "daxtrace service starting (configuration %s)", config_path.c_str());
	std::unique_ptr<MetricsOutput> metrics;
	std::string metrics_addr;
	for (;;) {
		int rc = run_once(s, metrics, metrics_addr);
		if (rc != 0 || s_stop) {
			log(rc ? ERR : NOTICE, "daxtrace service stopped (status %d)", rc);
			return rc;
		}
		s_reload = false;
		try {
			s = settings_from(load_config(config_path));
			log(NOTICE, "reloaded configuration %s", config_path.c_str());
		} catch (const ConfigError &e) {
			log(ERR, "reload: %s; keeping the running configuration", e.what());
		}
	}
}

}  // namespace dtcli
