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

// DT_LOST markers that stand for events missing from the trace file
// itself (a damaged block skipped on replay, events the recorder could not
// write) carry this CPU number, so the engine's per-CPU loss intervals
// cover exactly the gap and no real CPU's interval.
inline constexpr uint16_t kTraceGapCpu = 0xffff;

// Writes a trace so that a recorder killed at any moment (SIGKILL, OOM,
// power loss) leaves a replayable prefix: the header is written at open,
// and pending events reach the file as a block when block_events have
// accumulated or when the oldest of them is flush_interval_ns old,
// whichever comes first (checked on every append() and tick()).  Blocks go
// straight to the file with write(2) (no user-space buffer) and are
// fdatasync()ed at most once per flush interval.
//
// Write errors (ENOSPC, EIO, EPIPE, ...) never throw: the first one is
// kept in error(), later events are counted as dropped and not written,
// and close() records what fit (the partial block is cut off, a DT_LOST
// marker for the dropped events and the end marker are written if there
// is room).
class TraceWriter {
public:
	static constexpr uint32_t kDefaultBlockEvents = 4096;
	static constexpr uint64_t kDefaultFlushIntervalNs = 1'000'000'000;
	enum class Mode {
		Truncate,  // replace an existing file
		Exclusive, // refuse to replace an existing regular file
	};
	struct Options {
		uint32_t block_events = kDefaultBlockEvents;
		int zstd_level = 3;
		uint64_t flush_interval_ns = kDefaultFlushIntervalNs; // 0: every append
		Mode mode = Mode::Truncate;
		bool sync = true; // fdatasync() at most once per flush interval
	};
	// Throws TraceError (offset 0) if the file cannot be opened/created
	// (or exists, in Mode::Exclusive).  A failure to write the header is
	// not thrown: it is in error().
	TraceWriter(const std::string &path, const TraceHeader &hdr, const Options &opt);
	TraceWriter(const std::string &path, const TraceHeader &hdr,
		    uint32_t block_events = kDefaultBlockEvents, int zstd_level = 3);
	~TraceWriter(); // close()s
	TraceWriter(const TraceWriter &) = delete;
	TraceWriter &operator=(const TraceWriter &) = delete;

	void append(const dt_event &ev);
	void append(const dt_event *ev, size_t n);
	// Record a DT_LOST marker (an ordinary event of type DT_LOST).
	void append_lost(uint64_t ts, uint16_t cpu, uint64_t count);
	// Call periodically (the live loop does, every poll): writes the
	// pending events if the oldest is due, fdatasync()s if due.
	void tick();
	void flush();  // write the pending partial block now
	// Flush + end marker; idempotent.  False if anything failed (error()).
	bool close();
	// The first write error, if any (the trace holds what came before).
	const std::optional<TraceError> &error() const { return error_; }
	bool failed() const { return error_.has_value(); }
	int error_errno() const { return errno_; }
	uint64_t events_written() const { return events_; }  // appended, incl. pending
	uint64_t events_on_disk() const { return events_flushed_; }
	uint64_t events_dropped() const { return dropped_; } // after a write error
	uint64_t bytes_written() const { return bytes_; }
	uint64_t blocks_written() const { return block_index_; }
	const std::string &path() const { return path_; }

private:
	void open_file(const TraceHeader &hdr);
	bool write_block();
	bool write_raw(const void *p, size_t n);
	void set_error(const std::string &what, int err);
	void maybe_sync(uint64_t now);
	void cut_to_good();
	int fd_ = -1;
	std::string path_;
	Options opt_;
	std::vector<dt_event> pending_;
	std::vector<char> zbuf_;
	uint32_t block_events_;
	uint32_t block_index_ = 0;
	uint64_t events_ = 0, events_flushed_ = 0, dropped_ = 0, bytes_ = 0;
	uint64_t good_bytes_ = 0;   // end of the last complete block
	uint64_t pending_since_ = 0; // CLOCK_MONOTONIC of the oldest pending event
	uint64_t last_sync_ = 0, synced_bytes_ = 0;
	uint64_t max_ts_ = 0;
	bool closed_ = false;
	bool can_truncate_ = false;
	int errno_ = 0;
	std::optional<TraceError> error_;
};

// A stretch of a trace that could not be read: from the damaged block to
// the next intact one (found again by its magic and checksums).
struct TraceGap {
	uint64_t offset = 0;        // byte offset of the damage
	uint64_t resume_offset = 0; // next intact block (or end marker); file size if none
	int64_t block = 0;          // index of the first block lost
	uint64_t blocks_lost = 0;   // known from the next intact block's index; 0 at the tail
	uint64_t events_lost = 0;   // estimate (exact at the end marker: see TRACE_FORMAT.md)
	uint64_t ts_before = 0;     // last event before the gap (0: none)
	uint64_t ts_after = 0;      // first_ts of the block after it (0: none)
	bool resumed = false;       // false: nothing intact after it
	std::string what;           // what was wrong
};

class TraceReader {
public:
	// Opens and validates the file header; throws TraceError if the file
	// cannot be opened or the header is damaged (nothing is usable then).
	explicit TraceReader(const std::string &path);
	// Reads from memory (tests, fuzzing).  The bytes are copied.
	static TraceReader from_memory(const void *data, size_t size);

	const TraceHeader &header() const { return hdr_; }
	// Next event; false at the end of the trace.  A damaged block does not
	// end the trace: the reader skips to the next intact block, records a
	// TraceGap and returns a pair of DT_LOST markers (cpu kTraceGapCpu:
	// count 0 at the last time before the gap, then the estimated count at
	// the first time after it) so the engine marks findings across the gap
	// uncertain.  After false, error() says whether the trace was whole.
	bool next(dt_event &ev);
	// Reads everything that is readable (gap markers included).
	std::vector<dt_event> read_all();
	// Stop at the first damage instead of resynchronising (as version 1
	// readers did).  Call before the first next().
	void set_resync(bool on) { resync_ = on; }
	// The first damage (its message names the byte offset and block).
	const std::optional<TraceError> &error() const { return error_; }
	const std::vector<TraceGap> &gaps() const { return gaps_; }
	bool clean_end() const { return done_ && !error_; }
	// The end marker was found (possibly after gaps).
	bool end_marker_seen() const { return end_seen_; }
	// Events the end marker says were written (valid if end_marker_seen()).
	uint64_t events_announced() const { return announced_; }
	uint64_t blocks_read() const { return blocks_ok_; }
	uint64_t events_read() const { return events_; } // from the file, not gap markers
	uint64_t gap_markers() const { return markers_; }

private:
	explicit TraceReader(std::unique_ptr<std::istream> in, uint64_t size);
	enum class Load { Block, End, Damaged };
	void read_header();
	bool read_at(uint64_t off, void *p, size_t n);
	Load load_block();
	bool candidate(uint64_t at, bool *is_end);
	void damage(const std::string &what, uint64_t offset);
	void gap_to(uint64_t from);

	std::unique_ptr<std::istream> in_;
	uint64_t size_ = 0;
	uint64_t pos_ = 0, rescan_from_ = 0;
	TraceHeader hdr_;
	std::vector<dt_event> block_;
	std::vector<dt_event> inject_; // gap markers, returned before block_
	std::vector<char> cbuf_;
	size_t block_pos_ = 0;
	uint64_t block_index_ = 0; // index expected next
	uint64_t blocks_ok_ = 0;
	uint64_t events_ = 0, markers_ = 0, announced_ = 0;
	uint64_t last_ts_ = 0;
	uint32_t last_block_events_ = 0;
	bool done_ = false, end_seen_ = false, resync_ = true;
	std::optional<TraceError> error_;
	std::vector<TraceGap> gaps_;
};

} // namespace daxtrace
