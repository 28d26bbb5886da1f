#include "metrics.h"

#include <chrono>
#include <csignal>
#include <pthread.h>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <httplib.h>

#include "daxtrace/near_miss.h"
#include "registry.h"
#include "session.h"
#include "version.h"

namespace dtcli {

namespace {

std::string esc(const std::string &v)
{
	std::string o;
	for (char c : v) {
		if (c == '\\')
			o += "\\\\";
		else if (c == '"')
			o += "\\\"";
		else if (c == '\n')
			o += "\\n";
		else
			o += c;
	}
	return o;
}

double now_s()
{
	return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Splits "HOST:PORT", "[V6]:PORT" or ":PORT".
void split_addr(const std::string &addr, std::string *host, int *port)
{
	auto colon = addr.rfind(':');
	if (colon == std::string::npos)
		throw std::runtime_error("--metrics: expected HOST:PORT, got '" + addr + "'");
	*host = addr.substr(0, colon);
	if (host->size() >= 2 && host->front() == '[' && host->back() == ']')
		*host = host->substr(1, host->size() - 2);
	if (host->empty())
		*host = "0.0.0.0";
	try {
		size_t used = 0;
		*port = std::stoi(addr.substr(colon + 1), &used);
		if (used != addr.size() - colon - 1 || *port < 0 || *port > 65535)
			throw std::invalid_argument("port");
	} catch (const std::exception &) {
		throw std::runtime_error("--metrics: bad port in '" + addr + "'");
	}
}

const char *kClassLetters[daxtrace::kRaceClasses] = {"Z", "W", "L", "T"};

// Histogram buckets: powers of four from 1 µs to ~69 s.  The engine keeps
// log2 buckets ([2^i, 2^(i+1)) ns), so each bound is exact: "le" here counts
// distances below 2^k ns.
void histogram(std::ostringstream &o, const std::string &name, const std::string &labels,
	       const daxtrace::Histogram &h)
{
	uint64_t cum = 0;
	int next = 0;
	for (int k = 10; k <= 36; k += 2) {
		for (; next < k && next < daxtrace::Histogram::kBuckets; next++)
			cum += h.bucket(next);
		char le[32];
		snprintf(le, sizeof(le), "%.9g", double(1ULL << k) / 1e9);
		o << name << "_bucket{" << labels << ",le=\"" << le << "\"} " << cum << "\n";
	}
	o << name << "_bucket{" << labels << ",le=\"+Inf\"} " << h.count() << "\n";
	o << name << "_sum{" << labels << "} " << double(h.sum()) / 1e9 << "\n";
	o << name << "_count{" << labels << "} " << h.count() << "\n";
}

}  // namespace

MetricsOutput::MetricsOutput(const std::string &addr) : srv_(std::make_unique<httplib::Server>())
{
	std::string host;
	int port = 0;
	split_addr(addr, &host, &port);
	srv_->Get("/metrics", [this](const httplib::Request &, httplib::Response &res) {
		res.set_content(page(), "text/plain; version=0.0.4; charset=utf-8");
	});
	srv_->Get("/", [](const httplib::Request &, httplib::Response &res) {
		res.set_content("daxtrace: metrics at /metrics\n", "text/plain");
	});
	if (port == 0)
		port_ = srv_->bind_to_any_port(host);
	else
		port_ = srv_->bind_to_port(host, port) ? port : -1;
	if (port_ <= 0)
		throw std::runtime_error("--metrics: cannot listen on " + addr + ": " + strerror(errno));
	start_time_ = now_s();
	thread_ = std::make_unique<std::thread>([this] {
		// A scraper that hangs up mid-response raises SIGPIPE in this
		// thread; the process's handler would take it for `daxtrace |
		// head` and stop.  Blocked here, the write just fails with EPIPE.
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &set, nullptr);
		srv_->listen_after_bind();
	});
}

MetricsOutput::~MetricsOutput()
{
	srv_->stop();
	if (thread_ && thread_->joinable())
		thread_->join();
}

std::string MetricsOutput::page() const
{
	std::lock_guard<std::mutex> g(mu_);
	return page_;
}

void MetricsOutput::start(const nlohmann::json &meta)
{
	std::lock_guard<std::mutex> g(mu_);
	meta_ = meta;
}

void MetricsOutput::finding(const daxtrace::Finding &f)
{
	std::lock_guard<std::mutex> g(mu_);
	findings_[{std::string(f.id()), std::string(f.name()), std::string(daxtrace::class_name(f.race_class())),
		   dtabi::dev_name(f.dev), f.uncertain}]++;
}

void MetricsOutput::tick(const Session &s, double elapsed_s)
{
	update(s, elapsed_s);
}

void MetricsOutput::summary(const Session &s, double elapsed_s)
{
	{
		std::lock_guard<std::mutex> g(mu_);
		finished_ = true;
	}
	update(s, elapsed_s);
}

void MetricsOutput::warning(const std::string &)
{
	std::lock_guard<std::mutex> g(mu_);
	warnings_++;
}

void MetricsOutput::set_ringbuf(uint64_t emitted, uint64_t dropped, uint64_t filtered)
{
	std::lock_guard<std::mutex> g(mu_);
	rb_emitted_ = emitted;
	rb_dropped_ = dropped;
	rb_filtered_ = filtered;
	have_rb_ = true;
}

void MetricsOutput::update(const Session &s, double elapsed_s)
{
	std::string p = render(s, elapsed_s);
	std::lock_guard<std::mutex> g(mu_);
	page_ = std::move(p);
}

std::string MetricsOutput::render(const Session &s, double elapsed_s) const
{
	std::ostringstream o;
	auto st = s.engine().stats();
	std::lock_guard<std::mutex> g(mu_);
	o << "# HELP daxtrace_build_info Version of this daxtrace.\n# TYPE daxtrace_build_info gauge\n"
	  << "daxtrace_build_info{version=\"" << esc(DAXTRACE_VERSION) << "\",git=\"" << esc(DAXTRACE_GIT_DESCRIBE)
	  << "\",abi=\"" << DT_ABI_VERSION << "\"} 1\n";
	o << "# HELP daxtrace_start_time_seconds When this daxtrace started (Unix time).\n"
	  << "# TYPE daxtrace_start_time_seconds gauge\ndaxtrace_start_time_seconds " << std::fixed
	  << start_time_ << std::defaultfloat << "\n";
	o << "# HELP daxtrace_session_seconds Seconds of trace analysed (live: since attach).\n"
	  << "# TYPE daxtrace_session_seconds gauge\ndaxtrace_session_seconds " << elapsed_s << "\n";
	o << "# HELP daxtrace_session_finished 1 once the session ended (replay done), 0 while it runs.\n"
	  << "# TYPE daxtrace_session_finished gauge\ndaxtrace_session_finished " << (finished_ ? 1 : 0) << "\n";
	o << "# HELP daxtrace_events_total Events analysed (after filters).\n"
	  << "# TYPE daxtrace_events_total counter\ndaxtrace_events_total " << s.events() << "\n";
	o << "# HELP daxtrace_events_filtered_total Events rejected by a filter in user space.\n"
	  << "# TYPE daxtrace_events_filtered_total counter\ndaxtrace_events_filtered_total " << s.filtered()
	  << "\n";
	o << "# HELP daxtrace_events_lost_total Events lost before analysis (DT_LOST markers: ring buffer "
	     "full, damaged trace).\n"
	  << "# TYPE daxtrace_events_lost_total counter\ndaxtrace_events_lost_total " << s.lost() << "\n";
	o << "# HELP daxtrace_events_late_total Events that arrived after the reorder window (not analysed).\n"
	  << "# TYPE daxtrace_events_late_total counter\ndaxtrace_events_late_total " << st.late << "\n";
	if (have_rb_) {
		o << "# HELP daxtrace_ringbuf_emitted_total Events the probes wrote to the ring buffer.\n"
		  << "# TYPE daxtrace_ringbuf_emitted_total counter\ndaxtrace_ringbuf_emitted_total " << rb_emitted_
		  << "\n";
		o << "# HELP daxtrace_ringbuf_dropped_total Events the probes dropped (ring buffer full).\n"
		  << "# TYPE daxtrace_ringbuf_dropped_total counter\ndaxtrace_ringbuf_dropped_total " << rb_dropped_
		  << "\n";
		o << "# HELP daxtrace_ringbuf_filtered_total Events the probes filtered in the kernel.\n"
		  << "# TYPE daxtrace_ringbuf_filtered_total counter\ndaxtrace_ringbuf_filtered_total "
		  << rb_filtered_ << "\n";
	}
	o << "# HELP daxtrace_warnings_total Warnings reported (drops, damaged trace, export trouble).\n"
	  << "# TYPE daxtrace_warnings_total counter\ndaxtrace_warnings_total " << warnings_ << "\n";
	o << "# HELP daxtrace_findings_total Race windows found, by rule, class and filesystem.\n"
	  << "# TYPE daxtrace_findings_total counter\n";
	for (auto &[k, n] : findings_)
		o << "daxtrace_findings_total{rule=\"" << esc(std::get<0>(k)) << "\",name=\"" << esc(std::get<1>(k))
		  << "\",class=\"" << std::get<2>(k) << "\",fs=\"" << esc(std::get<3>(k)) << "\",uncertain=\""
		  << (std::get<4>(k) ? "true" : "false") << "\"} " << n << "\n";
	o << "# HELP daxtrace_near_miss_distance_seconds How close serialised operations came to a race, by "
	     "class and filesystem.\n# TYPE daxtrace_near_miss_distance_seconds histogram\n";
	auto &nm = s.engine().near_misses();
	for (int c = 0; c < daxtrace::kRaceClasses; c++)
		histogram(o, "daxtrace_near_miss_distance_seconds",
			  std::string("class=\"") + kClassLetters[c] + "\",fs=\"all\"",
			  nm.total(daxtrace::RaceClass(c)));
	std::map<std::pair<int, uint64_t>, const daxtrace::Histogram *> fs;
	for (auto &[k, h] : nm.fs_map())
		fs[{k.cls, k.dev}] = &h;
	for (auto &[k, h] : fs)
		histogram(o, "daxtrace_near_miss_distance_seconds",
			  std::string("class=\"") + kClassLetters[k.first] + "\",fs=\"" + esc(dtabi::dev_name(k.second)) +
				  "\"",
			  *h);
	// Coverage: live mode has the probes' own view; a replay has the
	// hooks its trace header lists.
	o << "# HELP daxtrace_hook_attached 1 if the hook is attached (label mechanism: how).\n"
	  << "# TYPE daxtrace_hook_attached gauge\n";
	if (meta_.contains("coverage") && meta_["coverage"].is_object()) {
		for (auto &h : meta_["coverage"]["hooks"])
			o << "daxtrace_hook_attached{hook=\"" << esc(h.value("name", "")) << "\",mechanism=\""
			  << esc(h.value("attached", false) ? h.value("mechanism", "") : "none") << "\"} "
			  << (h.value("attached", false) ? 1 : 0) << "\n";
		o << "# HELP daxtrace_class_coverage Race-class coverage: 2 full, 1 partial, 0 blind.\n"
		  << "# TYPE daxtrace_class_coverage gauge\n";
		for (auto &c : meta_["coverage"]["classes"]) {
			std::string lvl = c.value("coverage", "");
			int v = lvl == "full" ? 2 : lvl == "partial" ? 1 : 0;
			o << "daxtrace_class_coverage{class=\"" << esc(c.value("class", "")) << "\"} " << v << "\n";
		}
	} else if (meta_.contains("hooks") && meta_["hooks"].is_array()) {
		for (auto &h : meta_["hooks"]) {
			auto [name, mech] = dtabi::hook_and_mechanism(h.get<std::string>());
			o << "daxtrace_hook_attached{hook=\"" << esc(name) << "\",mechanism=\"" << esc(mech)
			  << "\"} 1\n";
		}
	}
	return o.str();
}

}  // namespace dtcli
