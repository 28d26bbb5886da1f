// Prometheus metrics: an Output that keeps counters from the session and
// serves them in the text exposition format on http://ADDR/metrics.
//
// The HTTP server runs on its own thread; the session's thread renders a
// new page whenever something changed (finding, tick, summary), so a scrape
// never touches the engine while it runs.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "output.h"

namespace httplib {
class Server;
}

namespace dtcli {

class MetricsOutput : public Output {
public:
	// addr: "HOST:PORT" (e.g. 127.0.0.1:9477, [::1]:9477, :9477 = all).
	// Throws std::runtime_error if the address cannot be bound.
	explicit MetricsOutput(const std::string &addr);
	~MetricsOutput() override;

	void start(const nlohmann::json &meta) override;
	void finding(const daxtrace::Finding &f) override;
	void tick(const Session &s, double elapsed_s) override;
	void summary(const Session &s, double elapsed_s) override;
	void warning(const std::string &msg) override;

	// Ring-buffer counters of the probes (live mode only).
	void set_ringbuf(uint64_t emitted, uint64_t dropped, uint64_t filtered);
	// Renders the page now (the service calls it after a reload).
	void update(const Session &s, double elapsed_s);
	// The page as served (tests).
	std::string page() const;
	int port() const { return port_; }

private:
	std::string render(const Session &s, double elapsed_s) const;

	std::unique_ptr<httplib::Server> srv_;
	std::unique_ptr<std::thread> thread_;
	int port_ = 0;
	mutable std::mutex mu_;
	std::string page_;
	nlohmann::json meta_;
	// (rule id, rule name, class, fs, uncertain) -> count
	std::map<std::tuple<std::string, std::string, std::string, std::string, bool>, uint64_t> findings_;
	uint64_t warnings_ = 0;
	uint64_t rb_emitted_ = 0, rb_dropped_ = 0, rb_filtered_ = 0;
	bool have_rb_ = false;
	bool finished_ = false;
	double start_time_ = 0;
};

}  // namespace dtcli
