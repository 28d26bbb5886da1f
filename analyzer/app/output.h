// Where a session's results go: JSON lines (--json), or text for a person
// (findings as they happen, a live view refreshed in place on a terminal,
// and a summary at the end).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daxtrace/finding.h"

namespace dtcli {

class Session;

class Output {
public:
	virtual ~Output() = default;
	virtual void start(const nlohmann::json &meta) = 0;   // kernel, coverage
	// Every event the session analyses (exporters); most outputs ignore it.
	virtual void event(const dt_event &) {}
	virtual void finding(const daxtrace::Finding &f) = 0;
	virtual void tick(const Session &s, double elapsed_s) = 0;
	virtual void summary(const Session &s, double elapsed_s) = 0;
	virtual void warning(const std::string &msg) = 0;
};

// One JSON object per line on stdout: {"type":"start"|"finding"|"stats"|
// "summary"|"warning", ...}.
class JsonOutput : public Output {
public:
	explicit JsonOutput(FILE *out = stdout) : out_(out) {}
	void start(const nlohmann::json &meta) override;
	void finding(const daxtrace::Finding &f) override;
	void tick(const Session &s, double elapsed_s) override;
	void summary(const Session &s, double elapsed_s) override;
	void warning(const std::string &msg) override;

private:
	void emit(const nlohmann::json &j);
	FILE *out_;
};

class TextOutput : public Output {
public:
	// live_view: redraw a top-like screen on each tick (a terminal).
	TextOutput(bool live_view, FILE *out = stdout) : live_(live_view), out_(out) {}
	void start(const nlohmann::json &meta) override;
	void finding(const daxtrace::Finding &f) override;
	void tick(const Session &s, double elapsed_s) override;
	void summary(const Session &s, double elapsed_s) override;
	void warning(const std::string &msg) override;

private:
	bool live_;
	FILE *out_;
	std::string kernel_, coverage_line_;
};

// Sends everything to several outputs (e.g. the terminal and an exporter).
class TeeOutput : public Output {
public:
	void add(std::unique_ptr<Output> o) { outs_.push_back(std::move(o)); }
	void start(const nlohmann::json &meta) override { for (auto &o : outs_) o->start(meta); }
	void event(const dt_event &e) override { for (auto &o : outs_) o->event(e); }
	void finding(const daxtrace::Finding &f) override { for (auto &o : outs_) o->finding(f); }
	void tick(const Session &s, double t) override { for (auto &o : outs_) o->tick(s, t); }
	void summary(const Session &s, double t) override { for (auto &o : outs_) o->summary(s, t); }
	void warning(const std::string &m) override { for (auto &o : outs_) o->warning(m); }

private:
	std::vector<std::unique_ptr<Output>> outs_;
};

std::string human_ns(uint64_t ns);                 // "1.50ms"
std::string finding_line(const daxtrace::Finding &f);
nlohmann::json session_stats_json(const Session &s, double elapsed_s);

}  // namespace dtcli
