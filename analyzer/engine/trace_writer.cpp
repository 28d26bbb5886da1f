// TraceWriter: header + zstd-compressed, checksummed blocks + end marker.
#include <algorithm>
#include <bit>
#include <cstring>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include "daxtrace/events.h"
#include "daxtrace/trace.h"
#include "trace_format.h"

namespace daxtrace {

using namespace detail;

static_assert(std::endian::native == std::endian::little, "trace files are little-endian");

TraceWriter::TraceWriter(const std::string &path, const TraceHeader &hdr, uint32_t block_events,
			 int zstd_level)
	: path_(path), block_events_(block_events ? std::min(block_events, kMaxBlockEvents) : 1),
	  level_(zstd_level) {
	out_.open(path, std::ios::binary | std::ios::trunc);
	if (!out_)
		throw TraceError("cannot create trace file " + path + ": " + std::strerror(errno), 0, -1);
	nlohmann::json meta{
		{"abi_version", hdr.abi_version},
		{"hostname", hdr.hostname},
		{"kernel_release", hdr.kernel_release},
		{"hooks", hdr.hooks},
		{"start_wallclock_ns", hdr.start_wallclock_ns},
		{"start_monotonic_ns", hdr.start_monotonic_ns},
	};
	std::string m = meta.dump();
	FileHeader fh{};
	memcpy(fh.magic, kFileMagic, 8);
	fh.format_version = kFormatVersion;
	fh.abi_version = hdr.abi_version;
	fh.event_size = sizeof(dt_event);
	fh.meta_len = uint32_t(m.size());
	fh.meta_crc = crc32c(m.data(), m.size());
	fh.hdr_crc = crc32c(&fh, offsetof(FileHeader, hdr_crc));
	write_raw(&fh, sizeof(fh));
	write_raw(m.data(), m.size());
	pending_.reserve(block_events_);
	zbuf_.resize(ZSTD_compressBound(size_t(block_events_) * sizeof(dt_event)));
}

TraceWriter::~TraceWriter() {
	try {
		close();
	} catch (...) {
	}
}

void TraceWriter::write_raw(const void *p, size_t n) {
	out_.write(static_cast<const char *>(p), std::streamsize(n));
	if (!out_)
		throw TraceError("write to " + path_ + " failed", bytes_, block_index_);
	bytes_ += n;
}

void TraceWriter::append(const dt_event &ev) {
	if (closed_)
		throw TraceError("append to a closed trace " + path_, bytes_, block_index_);
	pending_.push_back(ev);
	++events_;
	if (pending_.size() >= block_events_)
		write_block();
}

void TraceWriter::append(const dt_event *ev, size_t n) {
	for (size_t i = 0; i < n; ++i)
		append(ev[i]);
}

void TraceWriter::append_lost(uint64_t ts, uint16_t cpu, uint64_t count) {
	append(make_lost_event(ts, cpu, count));
}

void TraceWriter::write_block() {
	if (pending_.empty())
		return;
	size_t raw = pending_.size() * sizeof(dt_event);
	size_t n = ZSTD_compress(zbuf_.data(), zbuf_.size(), pending_.data(), raw, level_);
	if (ZSTD_isError(n))
		throw TraceError(std::string("zstd: ") + ZSTD_getErrorName(n), bytes_, block_index_);
	BlockHeader bh{};
	bh.magic = kBlockMagic;
	bh.index = block_index_;
	bh.n_events = uint32_t(pending_.size());
	bh.comp_len = uint32_t(n);
	bh.first_ts = pending_.front().ts;
	bh.payload_crc = crc32c(zbuf_.data(), n);
	bh.hdr_crc = crc32c(&bh, offsetof(BlockHeader, hdr_crc));
	write_raw(&bh, sizeof(bh));
	write_raw(zbuf_.data(), n);
	++block_index_;
	pending_.clear();
}

void TraceWriter::flush() {
	write_block();
	out_.flush();
}

void TraceWriter::close() {
	if (closed_)
		return;
	closed_ = true;
	write_block();
	BlockHeader end{};
	end.magic = kEndMagic;
	end.index = block_index_;
	end.first_ts = events_;
	end.hdr_crc = crc32c(&end, offsetof(BlockHeader, hdr_crc));
	write_raw(&end, sizeof(end));
	out_.close();
	if (out_.fail())
		throw TraceError("closing " + path_ + " failed", bytes_, block_index_);
}

} // namespace daxtrace
