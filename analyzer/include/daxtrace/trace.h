// Trace files: record the event stream, replay it later (TRACE_FORMAT.md).
#pragma once

#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daxtrace_abi.h"

namespace daxtrace {

struct TraceHeader {
	uint32_t abi_version = DT_ABI_VERSION;
	std::string hostname;
	std::string kernel_release;
	std::vector<std::string> hooks; // names as hook_name() gives them
	uint64_t start_wallclock_ns = 0; // CLOCK_REALTIME at start
	uint64_t start_monotonic_ns = 0; // CLOCK_MONOTONIC at the same instant
};

// A damaged or unreadable trace.  offset = byte offset in the file where
// the damage was found; block = index of the block (-1 = file header).
class TraceError : public std::runtime_error {
public:
	TraceError(const std::string &what, uint64_t offset, int64_t block)
		: std::runtime_error(what), offset_(offset), block_(block) {}
	uint64_t offset() const { return offset_; }
	int64_t block() const { return block_; }

private:
	uint64_t offset_;
	int64_t block_;
};

class TraceWriter {
public:
	static constexpr uint32_t kDefaultBlockEvents = 4096;
	// Throws TraceError (offset 0) if the file cannot be created.
	TraceWriter(const std::string &path, const TraceHeader &hdr,
		    uint32_t block_events = kDefaultBlockEvents, int zstd_level = 3);
	~TraceWriter(); // close()s; errors are swallowed there, call close().
	TraceWriter(const TraceWriter &) = delete;
	TraceWriter &operator=(const TraceWriter &) = delete;

	void append(const dt_event &ev);
	void append(const dt_event *ev, size_t n);
	// Record a DT_LOST marker (an ordinary event of type DT_LOST).
	void append_lost(uint64_t ts, uint16_t cpu, uint64_t count);
	void flush();  // write the pending partial block
	void close();  // flush + end marker; idempotent
	uint64_t events_written() const { return events_; }
	uint64_t bytes_written() const { return bytes_; }

private:
	void write_block();
	void write_raw(const void *p, size_t n);
	std::ofstream out_;
	std::string path_;
	std::vector<dt_event> pending_;
	std::vector<char> zbuf_;
	uint32_t block_events_;
	int level_;
	uint32_t block_index_ = 0;
	uint64_t events_ = 0, bytes_ = 0;
	bool closed_ = false;
};

class TraceReader {
public:
	// Opens and validates the file header; throws TraceError if the file
	// cannot be opened or the header is damaged (nothing is usable then).
	explicit TraceReader(const std::string &path);
	// Reads from memory (tests, fuzzing).  The bytes are copied.
	static TraceReader from_memory(const void *data, size_t size);

	const TraceHeader &header() const { return hdr_; }
	// Next event; false at the end of the trace or at damage.  After
	// false, error() says whether the trace ended cleanly.  All events of
	// blocks before the damage have been returned.
	bool next(dt_event &ev);
	// Reads everything that is readable.
	std::vector<dt_event> read_all();
	const std::optional<TraceError> &error() const { return error_; }
	bool clean_end() const { return done_ && !error_; }
	uint64_t blocks_read() const { return block_index_; }
	uint64_t events_read() const { return events_; }

private:
	explicit TraceReader(std::unique_ptr<std::istream> in, uint64_t size);
	void read_header();
	bool load_block();
	void fail(const std::string &what, uint64_t offset);

	std::unique_ptr<std::istream> in_;
	uint64_t size_ = 0;
	uint64_t pos_ = 0;
	TraceHeader hdr_;
	std::vector<dt_event> block_;
	std::vector<char> cbuf_;
	size_t block_pos_ = 0;
	uint64_t block_index_ = 0;
	uint64_t events_ = 0;
	bool done_ = false;
	std::optional<TraceError> error_;
};

} // namespace daxtrace
