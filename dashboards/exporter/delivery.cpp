#include "delivery.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "ch_errors.h"
#include "schema.h"

namespace dtch {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t monotonic_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
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

}  // namespace

namespace {

void to_stderr(bool warning, const std::string &text)
{
	fprintf(stderr, "daxtrace: %s%s\n", warning ? "warning: " : "", text.c_str());
}

std::atomic<MessageSink> s_sink{to_stderr};

void vmessage(bool warning, const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	s_sink.load()(warning, std::string(prefix) + buf);
}

}  // namespace

void set_message_sink(MessageSink sink) { s_sink = sink ? sink : to_stderr; }

void message(bool warning, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(warning, "", fmt, ap);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(true, "clickhouse: ", fmt, ap);
	va_end(ap);
}

Delivery::Delivery(std::unique_ptr<ClickHouseHttp> http, std::string database, std::string cluster,
		   SpillQueue &spill, std::string own_prefix)
	: http_(std::move(http)), db_(std::move(database)), cluster_(std::move(cluster)), spill_(spill),
	  own_prefix_(std::move(own_prefix))
{
	sender_ = std::thread([this] { sender_main(); });
}

Delivery::~Delivery()
{
	{
		std::lock_guard<std::mutex> g(m_);
		stop_ = true;
	}
	cv_.notify_all();
	if (sender_.joinable())
		sender_.join();
}

void Delivery::notify()
{
	{
		std::lock_guard<std::mutex> g(m_);
		dirty_ = true;
	}
	cv_.notify_all();
}

std::string Delivery::last_error() const
{
	std::lock_guard<std::mutex> g(m_);
	return last_error_;
}

void Delivery::drain(double flush_timeout_s, const std::atomic<int> *interrupts)
{
	{
		std::unique_lock<std::mutex> g(m_);
		draining_ = true;
		dirty_ = true;
		cv_.notify_all();
		progress_ns_ = monotonic_ns();
		uint64_t t0 = monotonic_ns(), next_note = t0 + 1000000000ULL;
		while (true) {
			drained_cv_.wait_for(g, std::chrono::milliseconds(100));
			if (idle_ && spill_.list().empty())
				break;
			if (interrupts && interrupts->load() >= 2) {
				message(false, "clickhouse: stopped waiting for delivery (second Ctrl-C)");
				break;
			}
			uint64_t now = monotonic_ns();
			double stalled = (now - progress_ns_.load()) / 1e9;
			if (stalled > flush_timeout_s || (!spill_.locked() && stalled > 1.0))
				break;
			// The user sees why the run has not ended yet.
			if (now >= next_note) {
				std::string err = last_error_;
				message(false,
					"clickhouse: waiting for delivery: %zu batches left, %.0fs without "
					"progress (gives up after %.0fs; Ctrl-C twice stops waiting)%s%s",
					spill_.list().size(), stalled, flush_timeout_s, err.empty() ? "" : ": ",
					err.c_str());
				next_note = now + 2000000000ULL;
			}
		}
		stop_ = true;
	}
	cv_.notify_all();
	if (sender_.joinable())
		sender_.join();
}

void Delivery::report_error(const std::string &msg)
{
	failures_++;
	auto now = Clock::now();
	std::lock_guard<std::mutex> g(m_);
	if (msg != last_error_ || now - last_warn_ > std::chrono::seconds(30)) {
		if (suppressed_)
			warn("(%lu more failures)", (unsigned long)suppressed_);
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

Delivery::Result Delivery::deliver(const std::string &name)
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
	const std::string &tname = hdr[1], &id = hdr[2], &columns = hdr[4];
	uint64_t rows = strtoull(hdr[3].c_str(), nullptr, 10);
	std::string qtable = ident(db_) + "." + ident(tname);
	bool doubt = attempted_.count(name) || name.rfind(own_prefix_, 0) != 0;
	if (doubt) {
		// Did the server take it before (answer lost)?  One INSERT of one
		// batch is one part: it has all the rows or none.
		ChResult r = http_->query("SELECT count() FROM " + qtable + " WHERE batch_id = " + sql_quote(id));
		if (!r.ok) {
			report_error(describe(r, http_->url()));
			if (ch_error::schema_mismatch(r.ch_code))
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
	if (ch_error::schema_mismatch(r.ch_code)) {
		schema_ok_ = false;
		report_error(describe(r, http_->url()));
		return Failed;
	}
	if (ch_error::bad_data(r.ch_code)) {
		warn("ClickHouse refused batch %s (%s); set aside in %s/rejected", id.c_str(), r.error.c_str(),
		     spill_.dir().c_str());
		spill_.reject(name);
		rejected_++;
		return Rejected;
	}
	report_error(describe(r, http_->url()));
	return Failed;
}

void Delivery::sender_main()
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
		if (!schema_ok_ && spill_.list().empty()) {
			// Nothing to deliver here (a shard this run does not write
			// to): still give it the tables once, quietly, since a
			// Distributed query needs them on every shard.
			if (!tried_idle_schema_) {
				tried_idle_schema_ = true;
				bool unreachable = false;
				schema_ok_ = apply_schema(*http_, db_, cluster_, &unreachable).empty();
			}
			continue;
		}
		if (!schema_ok_) {
			bool unreachable = false;
			std::string err = apply_schema(*http_, db_, cluster_, &unreachable);
			if (!err.empty()) {
				report_error(err);
				failed = true;
				backoff = std::min(backoff * 2, draining_ ? 2.0 : 10.0);
				continue;
			}
			schema_ok_ = true;
		}
		failed = false;
		for (auto &name : spill_.list()) {
			{
				std::lock_guard<std::mutex> g(m_);
				if (stop_)
					return;
			}
			if (deliver(name) == Failed) {
				failed = true;
				break;
			}
			progress_ns_ = monotonic_ns();
			if (in_failure_) {
				in_failure_ = false;
				message(false, "clickhouse: %s answers again; delivering the waiting batches",
					http_->url().c_str());
				std::lock_guard<std::mutex> g(m_);
				last_error_.clear();
			}
		}
		backoff = failed ? std::min(backoff * 2, draining_ ? 2.0 : 10.0) : 0.25;
	}
}

}  // namespace dtch
