// TraceReader: validates the header, then decodes block by block.  Damage
// (truncation, bad magic, bad checksum, bad zstd frame, size mismatch)
// stops decoding with a TraceError naming the byte offset and block; the
// events of every earlier block have already been returned.
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>
#include <zstd.h>

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

void TraceReader::fail(const std::string &what, uint64_t offset) {
	error_.emplace("trace damaged at byte offset " + std::to_string(offset) + " (block " +
			       std::to_string(block_index_) + "): " + what + "; " + std::to_string(events_) +
			       " events in " + std::to_string(block_index_) + " blocks before it are intact",
		       offset, int64_t(block_index_));
	done_ = true;
}

bool TraceReader::load_block() {
	BlockHeader bh;
	uint64_t at = pos_;
	if (size_ - pos_ < sizeof(bh)) {
		fail(pos_ == size_ ? "file ends without the end marker (truncated)"
				   : "truncated block header",
		     pos_);
		return false;
	}
	in_->read(reinterpret_cast<char *>(&bh), sizeof(bh));
	if (uint64_t(in_->gcount()) != sizeof(bh)) {
		fail("read error in block header", at);
		return false;
	}
	if (bh.magic != kBlockMagic && bh.magic != kEndMagic) {
		fail("bad block magic", at);
		return false;
	}
	if (bh.hdr_crc != crc32c(&bh, offsetof(BlockHeader, hdr_crc))) {
		fail("block header checksum mismatch", at);
		return false;
	}
	if (bh.index != block_index_) {
		fail("block index " + std::to_string(bh.index) + " out of sequence", at);
		return false;
	}
	pos_ += sizeof(bh);
	if (bh.magic == kEndMagic) {
		if (bh.first_ts != events_) {
			fail("end marker counts " + std::to_string(bh.first_ts) + " events, read " +
				     std::to_string(events_),
			     at);
			return false;
		}
		done_ = true;
		return false;
	}
	if (bh.n_events == 0 || bh.n_events > kMaxBlockEvents ||
	    bh.comp_len > ZSTD_compressBound(size_t(bh.n_events) * sizeof(dt_event))) {
		fail("implausible block sizes (" + std::to_string(bh.n_events) + " events, " +
			     std::to_string(bh.comp_len) + " bytes)",
		     at);
		return false;
	}
	if (size_ - pos_ < bh.comp_len) {
		fail("block payload truncated: " + std::to_string(bh.comp_len) + " bytes announced, " +
			     std::to_string(size_ - pos_) + " present",
		     pos_);
		return false;
	}
	cbuf_.resize(bh.comp_len);
	in_->read(cbuf_.data(), std::streamsize(bh.comp_len));
	if (uint64_t(in_->gcount()) != bh.comp_len) {
		fail("read error in block payload", pos_);
		return false;
	}
	if (crc32c(cbuf_.data(), cbuf_.size()) != bh.payload_crc) {
		fail("block payload checksum mismatch", pos_);
		return false;
	}
	size_t raw = size_t(bh.n_events) * sizeof(dt_event);
	block_.resize(bh.n_events);
	size_t n = ZSTD_decompress(block_.data(), raw, cbuf_.data(), cbuf_.size());
	if (ZSTD_isError(n) || n != raw) {
		fail(ZSTD_isError(n) ? std::string("zstd: ") + ZSTD_getErrorName(n)
				     : "decompressed size " + std::to_string(n) + " != " + std::to_string(raw),
		     pos_);
		block_.clear();
		return false;
	}
	pos_ += bh.comp_len;
	block_pos_ = 0;
	++block_index_;
	return true;
}

bool TraceReader::next(dt_event &ev) {
	while (block_pos_ >= block_.size()) {
		if (done_)
			return false;
		block_.clear();
		block_pos_ = 0;
		if (!load_block())
			return false;
	}
	ev = block_[block_pos_++];
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
