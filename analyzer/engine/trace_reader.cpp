// TraceReader: validates the header, then decodes block by block.  Damage
// (truncation, bad magic, bad checksum, bad zstd frame, size mismatch) is
// recorded as a TraceError naming the byte offset and block; the reader
// then looks for the next block whose magic, header checksum, index and
// payload checksum are all right and goes on from there, reporting the
// skipped stretch as a gap (and as DT_LOST markers in the event stream).
#include <algorithm>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include "daxtrace/events.h"
#include "daxtrace/trace.h"
#include "trace_format.h"

namespace daxtrace {

using namespace detail;

TraceReader::TraceReader(const std::string &path) {
	auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
	if (!*f)
		throw TraceError("cannot open trace file " + path + ": " + std::strerror(errno), 0, -1);
	f->seekg(0, std::ios::end);
	size_ = uint64_t(f->tellg());
	f->seekg(0);
	in_ = std::move(f);
	read_header();
}

TraceReader::TraceReader(std::unique_ptr<std::istream> in, uint64_t size)
	: in_(std::move(in)), size_(size) {
	read_header();
}

TraceReader TraceReader::from_memory(const void *data, size_t size) {
	auto s = std::make_unique<std::istringstream>(
		std::string(static_cast<const char *>(data), size), std::ios::binary);
	return TraceReader(std::move(s), size);
}

void TraceReader::read_header() {
	FileHeader fh;
	if (size_ < sizeof(fh))
		throw TraceError("not a daxtrace trace: file is " + std::to_string(size_) +
					 " bytes, shorter than the 32-byte header", size_, -1);
	in_->read(reinterpret_cast<char *>(&fh), sizeof(fh));
	if (memcmp(fh.magic, kFileMagic, 8) != 0)
		throw TraceError("not a daxtrace trace: bad magic at offset 0", 0, -1);
	if (fh.hdr_crc != crc32c(&fh, offsetof(FileHeader, hdr_crc)))
		throw TraceError("trace header checksum mismatch at offset 0", 0, -1);
	if (fh.format_version != kFormatVersion)
		throw TraceError("unsupported trace format version " + std::to_string(fh.format_version) +
					 " (this reader: " + std::to_string(kFormatVersion) + ")", 8, -1);
	if (fh.abi_version != DT_ABI_VERSION || fh.event_size != sizeof(dt_event))
		throw TraceError("trace written with event ABI " + std::to_string(fh.abi_version) + " (" +
					 std::to_string(fh.event_size) + "-byte events); this analyzer reads ABI " +
					 std::to_string(DT_ABI_VERSION) + " (" + std::to_string(sizeof(dt_event)) +
					 "-byte events)", 12, -1);
	if (fh.meta_len > kMaxMetaLen || sizeof(fh) + uint64_t(fh.meta_len) > size_)
		throw TraceError("trace header metadata truncated or oversized (" +
					 std::to_string(fh.meta_len) + " bytes) at offset 32", 32, -1);
	std::string meta(fh.meta_len, '\0');
	in_->read(meta.data(), std::streamsize(meta.size()));
	if (uint64_t(in_->gcount()) != meta.size())
		throw TraceError("trace metadata truncated at offset 32", 32, -1);
	if (crc32c(meta.data(), meta.size()) != fh.meta_crc)
		throw TraceError("trace metadata checksum mismatch at offset 32", 32, -1);
	auto j = nlohmann::json::parse(meta, nullptr, false);
	if (j.is_discarded() || !j.is_object())
		throw TraceError("trace metadata is not a JSON object at offset 32", 32, -1);
	try {
		hdr_.abi_version = fh.abi_version;
		hdr_.hostname = j.value("hostname", "");
		hdr_.kernel_release = j.value("kernel_release", "");
		hdr_.hooks = j.value("hooks", std::vector<std::string>{});
		hdr_.start_wallclock_ns = j.value("start_wallclock_ns", uint64_t(0));
		hdr_.start_monotonic_ns = j.value("start_monotonic_ns", uint64_t(0));
	} catch (const nlohmann::json::exception &e) {
		throw TraceError(std::string("trace metadata malformed at offset 32: ") + e.what(), 32, -1);
	}
	pos_ = sizeof(fh) + fh.meta_len;
}



bool TraceReader::read_at(uint64_t off, void *p, size_t n) {
	if (off > size_ || size_ - off < n)
		return false;
	in_->clear();
	in_->seekg(std::streamoff(off));
	in_->read(static_cast<char *>(p), std::streamsize(n));
	return uint64_t(in_->gcount()) == n;
}

void TraceReader::damage(const std::string &what, uint64_t offset) {
	TraceGap g;
	g.offset = offset;
	g.block = int64_t(block_index_);
	g.ts_before = last_ts_;
	g.what = what;
	if (!error_)
		error_.emplace("trace damaged at byte offset " + std::to_string(offset) + " (block " +
				       std::to_string(block_index_) + "): " + what + "; " +
				       std::to_string(events_) + " events in " + std::to_string(blocks_ok_) +
				       " blocks before it are intact",
			       offset, int64_t(block_index_));
	gaps_.push_back(std::move(g));
	block_.clear();
	block_pos_ = 0;
}

// Could an intact block (or the end marker) start at byte `at`?  Every
// check that does not need decompression: magic, header checksum, an index
// not before the one expected, plausible sizes, the payload checksum.
bool TraceReader::candidate(uint64_t at, bool *is_end) {
	BlockHeader bh;
	if (!read_at(at, &bh, sizeof(bh)))
		return false;
	if (bh.magic != kBlockMagic && bh.magic != kEndMagic)
		return false;
	if (bh.hdr_crc != crc32c(&bh, offsetof(BlockHeader, hdr_crc)) || bh.index < block_index_)
		return false;
	*is_end = bh.magic == kEndMagic;
	if (*is_end)
		return true;
	if (bh.n_events == 0 || bh.n_events > kMaxBlockEvents ||
	    bh.comp_len > ZSTD_compressBound(size_t(bh.n_events) * sizeof(dt_event)) ||
	    size_ - at - sizeof(bh) < bh.comp_len)
		return false;
	cbuf_.resize(bh.comp_len);
	if (!read_at(at + sizeof(bh), cbuf_.data(), bh.comp_len))
		return false;
	return crc32c(cbuf_.data(), cbuf_.size()) == bh.payload_crc;
}

// After damage at gaps_.back(): scan forward from `from` for the next intact
// block.  Sets pos_ there (or at the end of the file) and completes the gap.
void TraceReader::gap_to(uint64_t from) {
	TraceGap &g = gaps_.back();
	static constexpr uint8_t kMagics[2][4] = {{'D', 'T', 'B', 'K'}, {'D', 'T', 'N', 'D'}};
	static constexpr size_t kChunk = 1 << 20;
	std::vector<uint8_t> buf;
	uint64_t found = size_;
	for (uint64_t off = from; found == size_ && off + sizeof(BlockHeader) <= size_; off += kChunk) {
		size_t n = size_t(std::min<uint64_t>(kChunk + 3, size_ - off));
		buf.resize(n);
		if (!read_at(off, buf.data(), n))
			break;
		for (size_t i = 0; i + 4 <= n && i < kChunk; ++i) {
			if (buf[i] != 'D' || buf[i + 1] != 'T')
				continue;
			if (memcmp(&buf[i], kMagics[0], 4) != 0 && memcmp(&buf[i], kMagics[1], 4) != 0)
				continue;
			bool is_end = false;
			if (candidate(off + i, &is_end)) {
				found = off + i;
				break;
			}
		}
	}
	g.resume_offset = found;
	if (found == size_) {
		done_ = true;
		return;
	}
	BlockHeader bh;
	read_at(found, &bh, sizeof(bh));
	g.resumed = true;
	g.blocks_lost = bh.index - block_index_;
	g.ts_after = bh.magic == kBlockMagic ? std::max(bh.first_ts, last_ts_) : last_ts_;
	// Blocks are full unless the writer flushed on time, so the size of
	// the neighbouring blocks is the best guess for the missing ones; the
	// end marker's total gives the exact figure (TRACE_FORMAT.md).
	uint64_t per_block = last_block_events_ ? last_block_events_
				  : bh.magic == kBlockMagic ? bh.n_events : 1;
	g.events_lost = std::max<uint64_t>(1, g.blocks_lost * per_block);
	dt_event open = make_lost_event(g.ts_before ? g.ts_before : g.ts_after, kTraceGapCpu, 0);
	dt_event close = make_lost_event(g.ts_after, kTraceGapCpu, g.events_lost);
	inject_.push_back(close);
	inject_.push_back(open); // popped from the back
	block_index_ = bh.index;
	pos_ = found;
}

TraceReader::Load TraceReader::load_block() {
	BlockHeader bh;
	uint64_t at = pos_;
	if (size_ - pos_ < sizeof(bh)) {
		damage(pos_ == size_ ? "file ends without the end marker (truncated)" : "truncated block header",
		       pos_);
		return Load::Damaged;
	}
	if (!read_at(at, &bh, sizeof(bh))) {
		damage("read error in block header", at);
		return Load::Damaged;
	}
	if (bh.magic != kBlockMagic && bh.magic != kEndMagic) {
		damage("bad block magic", at);
		return Load::Damaged;
	}
	if (bh.hdr_crc != crc32c(&bh, offsetof(BlockHeader, hdr_crc))) {
		damage("block header checksum mismatch", at);
		return Load::Damaged;
	}
	if (bh.index != block_index_) {
		damage("block index " + std::to_string(bh.index) + " out of sequence (expected " +
			       std::to_string(block_index_) + ")",
		       at);
		// An intact header further on in the sequence: the blocks in
		// between are missing, this one may be fine.
		if (bh.index > block_index_)
			rescan_from_ = at;
		return Load::Damaged;
	}
	if (bh.magic == kEndMagic) {
		end_seen_ = true;
		announced_ = bh.first_ts;
		if (bh.first_ts != events_) {
			if (gaps_.empty()) {
				damage("end marker counts " + std::to_string(bh.first_ts) + " events, read " +
					       std::to_string(events_),
				       at);
				gaps_.back().resume_offset = size_;
			} else if (bh.first_ts > events_) {
				// The end marker turns the estimates into the exact
				// total; the last gap takes the correction.
				uint64_t lost = bh.first_ts - events_, others = 0;
				for (size_t i = 0; i + 1 < gaps_.size(); ++i)
					others += gaps_[i].events_lost;
				gaps_.back().events_lost = std::max<uint64_t>(1, lost - std::min(lost, others));
			}
		}
		pos_ += sizeof(bh);
		done_ = true;
		return Load::End;
	}
	uint64_t payload = at + sizeof(bh);
	if (bh.n_events == 0 || bh.n_events > kMaxBlockEvents ||
	    bh.comp_len > ZSTD_compressBound(size_t(bh.n_events) * sizeof(dt_event))) {
		damage("implausible block sizes (" + std::to_string(bh.n_events) + " events, " +
			       std::to_string(bh.comp_len) + " bytes)",
		       at);
		return Load::Damaged;
	}
	if (size_ - payload < bh.comp_len) {
		damage("block payload truncated: " + std::to_string(bh.comp_len) + " bytes announced, " +
			       std::to_string(size_ - payload) + " present",
		       payload);
		return Load::Damaged;
	}
	cbuf_.resize(bh.comp_len);
	if (!read_at(payload, cbuf_.data(), bh.comp_len)) {
		damage("read error in block payload", payload);
		return Load::Damaged;
	}
	if (crc32c(cbuf_.data(), cbuf_.size()) != bh.payload_crc) {
		damage("block payload checksum mismatch", payload);
		return Load::Damaged;
	}
	size_t raw = size_t(bh.n_events) * sizeof(dt_event);
	block_.resize(bh.n_events);
	size_t n = ZSTD_decompress(block_.data(), raw, cbuf_.data(), cbuf_.size());
	if (ZSTD_isError(n) || n != raw) {
		damage(ZSTD_isError(n) ? std::string("zstd: ") + ZSTD_getErrorName(n)
				       : "decompressed size " + std::to_string(n) + " != " + std::to_string(raw),
		       payload);
		return Load::Damaged;
	}
	pos_ = payload + bh.comp_len;
	block_pos_ = 0;
	++block_index_;
	++blocks_ok_;
	last_block_events_ = bh.n_events;
	return Load::Block;
}

bool TraceReader::next(dt_event &ev) {
	for (;;) {
		if (!inject_.empty()) {
			ev = inject_.back();
			inject_.pop_back();
			++markers_;
			return true;
		}
		if (block_pos_ < block_.size())
			break;
		if (done_)
			return false;
		block_.clear();
		block_pos_ = 0;
		rescan_from_ = pos_ + 1;
		switch (load_block()) {
		case Load::Block:
			continue;
		case Load::End:
			return false;
		case Load::Damaged:
			if (!resync_ || gaps_.back().resume_offset == size_) {
				gaps_.back().resume_offset = size_;
				done_ = true;
				return false;
			}
			// Resume after the damaged header (rescan_from_), so that
			// a block that passes the checksums but not decompression
			// cannot be found again.
			gap_to(rescan_from_);
			continue;
		}
	}
	ev = block_[block_pos_++];
	last_ts_ = std::max<uint64_t>(last_ts_, ev.ts);
	++events_;
	return true;
}

std::vector<dt_event> TraceReader::read_all() {
	std::vector<dt_event> v;
	dt_event ev;
	while (next(ev))
		v.push_back(ev);
	return v;
}

} // namespace daxtrace
