// Where a session's results go.  One interface, one implementation per
// file: json_output (--json), text_output (a person, a live view),
// clickhouse_output (--clickhouse), metrics (Prometheus), and TeeOutput to
// feed several.
#pragma once

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daxtrace/finding.h"

namespace dtcli {

class Session;

// errno of the first failed write to stdout (0: none): by the time main
// sees the stream's error flag, errno no longer says why.
inline int g_stdout_errno = 0;
inline void flush_output(FILE *f)
{
	if (fflush(f) != 0 && f == stdout && !g_stdout_errno)
		g_stdout_errno = errno;
}

class Output {
public:
	virtual ~Output() = default;
	// What the run is (start_meta(): the same fields live and in replay).
	virtual void start(const nlohmann::json &meta) = 0;
	// Every event the session analyses, in runs (exporters); most outputs
	// ignore them.
	virtual void events(const dt_event *, size_t) {}
	// Whether tick() shows Session::busiest_inodes() (else the session
	// does not keep them).
	virtual bool shows_inodes() const { return false; }
	virtual void finding(const daxtrace::Finding &f) = 0;
	virtual void tick(const Session &s, double elapsed_s) = 0;
	virtual void summary(const Session &s, double elapsed_s) = 0;
	virtual void warning(const std::string &msg) = 0;
	// After summary(): why this output did not do its job ("" if it did),
	// one line; the run then exits 1.
	virtual std::string failure() const { return {}; }
};

// Sends everything to several outputs (e.g. the terminal and an exporter).
class TeeOutput : public Output {
public:
	void add(std::unique_ptr<Output> o) { outs_.push_back(std::move(o)); }
	void start(const nlohmann::json &meta) override { for (auto &o : outs_) o->start(meta); }
	void events(const dt_event *ev, size_t n) override { for (auto &o : outs_) o->events(ev, n); }
	bool shows_inodes() const override
	{
		for (auto &o : outs_)
			if (o->shows_inodes())
				return true;
		return false;
	}
	void finding(const daxtrace::Finding &f) override { for (auto &o : outs_) o->finding(f); }
	void tick(const Session &s, double t) override { for (auto &o : outs_) o->tick(s, t); }
	void summary(const Session &s, double t) override { for (auto &o : outs_) o->summary(s, t); }
	void warning(const std::string &m) override { for (auto &o : outs_) o->warning(m); }
	std::string failure() const override
	{
		for (auto &o : outs_)
			if (auto f = o->failure(); !f.empty())
				return f;
		return {};
	}

private:
	std::vector<std::unique_ptr<Output>> outs_;
};

// The `start` object, one shape for live runs and replays: source ("live"
// or "replay"), kernel, host, trace (the --record file live, the replayed
// file in replay; "" if none), abi_version, hooks (registry hook names, as
// the trace header has them), coverage (live: the probes' coverage object;
// replay: null), start_wallclock_ns, start_monotonic_ns.  Kernel and host
// come from a kernel or a trace: they are made valid UTF-8 here.
struct StartInfo {
	bool live = false;
	std::string kernel, host, trace;
	uint32_t abi_version = 0;
	std::vector<std::string> hooks;
	nlohmann::json coverage;   // null in replay
	uint64_t start_wallclock_ns = 0, start_monotonic_ns = 0;
};
nlohmann::json start_meta(const StartInfo &s);

std::string human_ns(uint64_t ns);                 // "1.50ms"
std::string finding_line(const daxtrace::Finding &f);
nlohmann::json session_stats_json(const Session &s, double elapsed_s);

}  // namespace dtcli
