// Delivery of sealed batches: a sender thread takes the spill directory's
// batches in name order to ClickHouse, and removes each one the server has
// taken.  A batch whose fate is unknown (an attempt failed, or an earlier
// run left it) is first looked up by its batch_id and sent again only if
// the server does not have it: each batch is inserted exactly once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "clickhouse_http.h"
#include "spill_queue.h"

namespace dtch {

// The first line of a batch file: magic, table, batch_id, rows, columns.
inline constexpr const char *kBatchMagic = "daxtrace-batch 1";

// The exporter's messages, one line each: by default on stderr as
// "daxtrace: [warning: ]TEXT".  An application with its own log routes
// them (the service gives them a journald priority prefix).
using MessageSink = void (*)(bool warning, const std::string &text);
void set_message_sink(MessageSink sink);
void message(bool warning, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// message(true, "clickhouse: ...")
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

class Delivery {
public:
	// own_prefix: the names of this run's batches start with it (a batch
	// of another run is always in doubt).  cluster: "" for one server,
	// else the cluster the server is a shard of (schema.h).
	Delivery(std::unique_ptr<ClickHouseHttp> http, std::string database, std::string cluster,
		 SpillQueue &spill, std::string own_prefix);
	~Delivery();
	Delivery(const Delivery &) = delete;
	Delivery &operator=(const Delivery &) = delete;

	void notify();   // a batch was sealed
	// Wait until the directory is empty, or nothing could be delivered for
	// flush_timeout_s; then stop the sender.
	// A second SIGINT (*interrupts >= 2) ends the wait at once; a wait
	// longer than a second says so on stderr.
	void drain(double flush_timeout_s, const std::atomic<int> *interrupts = nullptr);

	uint64_t delivered_batches() const { return delivered_batches_; }
	uint64_t delivered_rows() const { return delivered_rows_; }
	uint64_t failures() const { return failures_; }
	uint64_t duplicates_skipped() const { return dup_skipped_; }
	uint64_t rejected() const { return rejected_; }
	std::string last_error() const;
	void set_pace_ms(unsigned ms) { pace_ms_ = ms; }   // tests: slow delivery down

private:
	enum Result { Delivered, Failed, Rejected };
	void sender_main();
	Result deliver(const std::string &name);
	void report_error(const std::string &msg);

	std::unique_ptr<ClickHouseHttp> http_;
	std::string db_, cluster_;
	SpillQueue &spill_;
	std::string own_prefix_;
	unsigned pace_ms_ = 0;

	std::thread sender_;
	mutable std::mutex m_;
	std::condition_variable cv_, drained_cv_;
	bool stop_ = false, dirty_ = true, idle_ = false, draining_ = false;
	std::atomic<uint64_t> delivered_batches_{0}, delivered_rows_{0}, failures_{0}, dup_skipped_{0},
		rejected_{0};
	std::atomic<uint64_t> progress_ns_{0};

	// sender thread only (last_error_ also under m_)
	bool schema_ok_ = false, in_failure_ = false, tried_idle_schema_ = false;
	std::set<std::string> attempted_;
	std::string last_error_;
	std::chrono::steady_clock::time_point last_warn_{};
	uint64_t suppressed_ = 0;
};

}  // namespace dtch
