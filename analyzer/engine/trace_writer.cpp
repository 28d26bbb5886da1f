// TraceWriter: header + zstd-compressed, checksummed blocks + end marker,
// written so that a recorder killed at any moment leaves a replayable
// prefix and a full disk or a dead pipe does not take the caller down.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include "daxtrace/events.h"
#include "daxtrace/trace.h"
#include "trace_format.h"

namespace daxtrace {

using namespace detail;

static_assert(std::endian::native == std::endian::little, "trace files are little-endian");

namespace {

uint64_t mono_ns() {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1'000'000'000ULL + uint64_t(ts.tv_nsec);
}

} // namespace

TraceWriter::TraceWriter(const std::string &path, const TraceHeader &hdr, uint32_t block_events,
			 int zstd_level)
	: TraceWriter(path, hdr, Options{block_events, zstd_level}) {}

TraceWriter::TraceWriter(const std::string &path, const TraceHeader &hdr, const Options &opt)
	: path_(path), opt_(opt),
	  block_events_(opt.block_events ? std::min(opt.block_events, kMaxBlockEvents) : 1) {
	open_file(hdr);
	pending_.reserve(block_events_);
	zbuf_.resize(ZSTD_compressBound(size_t(block_events_) * sizeof(dt_event)));
}

void TraceWriter::open_file(const TraceHeader &hdr) {
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
	if (opt_.mode == Mode::Exclusive) {
		fd_ = ::open(path_.c_str(), flags | O_EXCL, 0644);
		if (fd_ < 0 && errno == EEXIST) {
			// Devices and FIFOs (/dev/null, a pipe) are not recordings
			// that could be lost; only a regular file is protected.
			struct stat st;
			if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode))
				throw TraceError(path_ + " exists; not overwriting a recording (use --force)", 0, -1);
			fd_ = ::open(path_.c_str(), flags, 0644);
		}
	} else {
		fd_ = ::open(path_.c_str(), flags | O_TRUNC, 0644);
	}
	if (fd_ < 0)
		throw TraceError("cannot create trace file " + path_ + ": " + std::strerror(errno), 0, -1);
	struct stat st;
	can_truncate_ = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);

	nlohmann::json meta{
		{"abi_version", hdr.abi_version},
		{"hostname", hdr.hostname},
		{"kernel_release", hdr.kernel_release},
		{"hooks", hdr.hooks},
		{"start_wallclock_ns", hdr.start_wallclock_ns},
		{"start_monotonic_ns", hdr.start_monotonic_ns},
	};
	// A hostname that is not UTF-8 must not make the recorder throw.
	std::string m = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
	FileHeader fh{};
	memcpy(fh.magic, kFileMagic, 8);
	fh.format_version = kFormatVersion;
	fh.abi_version = hdr.abi_version;
	fh.event_size = sizeof(dt_event);
	fh.meta_len = uint32_t(m.size());
	fh.meta_crc = crc32c(m.data(), m.size());
	fh.hdr_crc = crc32c(&fh, offsetof(FileHeader, hdr_crc));
	// The header reaches the file now, so that even a recorder killed
	// before its first block leaves a file that says what it is.
	if (write_raw(&fh, sizeof(fh)) && write_raw(m.data(), m.size()))
		good_bytes_ = bytes_;
	last_sync_ = mono_ns();
}

TraceWriter::~TraceWriter() {
	close();
}

void TraceWriter::set_error(const std::string &what, int err) {
	if (error_)
		return;
	errno_ = err;
	error_.emplace("writing trace " + path_ + " failed: " + what + (err ? std::string(": ") + std::strerror(err) : "") +
			       "; " + std::to_string(events_flushed_) + " events in " +
			       std::to_string(block_index_) + " blocks were written",
		       bytes_, int64_t(block_index_));
}

bool TraceWriter::write_raw(const void *p, size_t n) {
	if (error_ || fd_ < 0)
		return false;
	auto *c = static_cast<const char *>(p);
	while (n > 0) {
		ssize_t w = ::write(fd_, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			set_error("write", w < 0 ? errno : ENOSPC);
			return false;
		}
		c += w;
		n -= size_t(w);
		bytes_ += uint64_t(w);
	}
	return true;
}

void TraceWriter::append(const dt_event &ev) {
	if (closed_ || error_) {
		++dropped_;
		max_ts_ = std::max<uint64_t>(max_ts_, ev.ts);
		return;
	}
	if (pending_.empty())
		pending_since_ = opt_.flush_interval_ns ? mono_ns() : 0;
	pending_.push_back(ev);
	++events_;
	max_ts_ = std::max<uint64_t>(max_ts_, ev.ts);
	if (pending_.size() >= block_events_ || opt_.flush_interval_ns == 0)
		write_block();
	else if ((events_ & 63) == 0)
		tick(); // a busy stream that never fills a block is still bounded
}

void TraceWriter::append(const dt_event *ev, size_t n) {
	for (size_t i = 0; i < n; ++i)
		append(ev[i]);
}

void TraceWriter::append_lost(uint64_t ts, uint16_t cpu, uint64_t count) {
	append(make_lost_event(ts, cpu, count));
}

bool TraceWriter::write_block() {
	if (pending_.empty())
		return true;
	if (error_) {
		dropped_ += pending_.size();
		pending_.clear();
		return false;
	}
	size_t raw = pending_.size() * sizeof(dt_event);
	size_t n = ZSTD_compress(zbuf_.data(), zbuf_.size(), pending_.data(), raw, opt_.zstd_level);
	if (ZSTD_isError(n)) {
		set_error(std::string("zstd: ") + ZSTD_getErrorName(n), 0);
		dropped_ += pending_.size();
		pending_.clear();
		return false;
	}
	BlockHeader bh{};
	bh.magic = kBlockMagic;
	bh.index = block_index_;
	bh.n_events = uint32_t(pending_.size());
	bh.comp_len = uint32_t(n);
	bh.first_ts = pending_.front().ts;
	bh.payload_crc = crc32c(zbuf_.data(), n);
	bh.hdr_crc = crc32c(&bh, offsetof(BlockHeader, hdr_crc));
	// One write(2) for header and payload keeps a block whole in the page
	// cache as soon as it returns; a kill between two writes would only
	// cost a truncated tail, which the reader reports.
	std::vector<char> buf(sizeof(bh) + n);
	memcpy(buf.data(), &bh, sizeof(bh));
	memcpy(buf.data() + sizeof(bh), zbuf_.data(), n);
	if (!write_raw(buf.data(), buf.size())) {
		dropped_ += pending_.size();
		pending_.clear();
		cut_to_good();
		return false;
	}
	good_bytes_ = bytes_;
	events_flushed_ += pending_.size();
	++block_index_;
	pending_.clear();
	return true;
}

void TraceWriter::maybe_sync(uint64_t now) {
	if (!opt_.sync || fd_ < 0 || error_ || synced_bytes_ == good_bytes_)
		return;
	if (opt_.flush_interval_ns && now - last_sync_ < opt_.flush_interval_ns)
		return;
	last_sync_ = now;
	// EINVAL/EROFS: a pipe or a device that has nothing to sync.
	if (fdatasync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
		set_error("fdatasync", errno);
		return;
	}
	synced_bytes_ = good_bytes_;
}

void TraceWriter::tick() {
	if (closed_)
		return;
	uint64_t now = mono_ns();
	if (!pending_.empty() && now - pending_since_ >= opt_.flush_interval_ns)
		write_block();
	maybe_sync(now);
}

void TraceWriter::flush() {
	write_block();
}

// Cut the file back to the end of the last complete block, so that what
// follows (the end marker) is not written after a torn block.
void TraceWriter::cut_to_good() {
	if (bytes_ == good_bytes_ || !can_truncate_)
		return;
	if (ftruncate(fd_, off_t(good_bytes_)) == 0 && lseek(fd_, off_t(good_bytes_), SEEK_SET) >= 0)
		bytes_ = good_bytes_;
}

bool TraceWriter::close() {
	if (closed_)
		return !error_;
	write_block();
	closed_ = true;
	if (fd_ < 0)
		return false;
	// Record what fit.  The first error stays the one reported; the writes
	// below are attempted anyway, since cutting off the torn block usually
	// frees enough room for them.
	std::optional<TraceError> first;
	first.swap(error_);
	if (first) {
		cut_to_good();
		// The events that did not fit are recorded as a loss, so that a
		// replay marks the findings at the end uncertain instead of
		// calling the tail of the recording quiet.
		if (uint64_t dropped = dropped_) {
			pending_.assign(1, make_lost_event(max_ts_, kTraceGapCpu, dropped));
			if (!write_block())
				cut_to_good();
			dropped_ = dropped;
			error_.reset();
		}
	}
	BlockHeader end{};
	end.magic = kEndMagic;
	end.index = block_index_;
	end.first_ts = events_flushed_;
	end.hdr_crc = crc32c(&end, offsetof(BlockHeader, hdr_crc));
	if (write_raw(&end, sizeof(end)))
		good_bytes_ = bytes_;
	else
		cut_to_good();
	if (!error_ && opt_.sync && fdatasync(fd_) != 0 && errno != EINVAL && errno != EROFS)
		set_error("fdatasync", errno);
	if (::close(fd_) != 0 && errno != EINTR)
		set_error("close", errno);
	fd_ = -1;
	if (first)
		error_.swap(first);
	return !error_;
}

} // namespace daxtrace
