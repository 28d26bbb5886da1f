// libFuzzer target: the trace decoder must reject any input with a
// TraceError (or read it), never crash, hang, leak or trip a sanitizer.
// Decoded events are also fed to the engine, which must cope with any
// event content.
//
// Each input is decoded twice: as is, and with its checksums repaired
// (header, metadata and every block header/payload CRC recomputed where
// the announced lengths fit), so that mutations also reach the JSON
// metadata parser, the zstd frames and the engine instead of stopping at
// the first checksum.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "daxtrace/engine.h"
#include "daxtrace/trace.h"
#include "trace_format.h"

namespace {

void decode(const uint8_t *data, size_t size) {
	try {
		auto r = daxtrace::TraceReader::from_memory(data, size);
		daxtrace::EngineConfig cfg;
		cfg.reorder_window_ns = 1000;
		daxtrace::Engine eng(cfg);
		dt_event ev;
		size_t n = 0;
		while (r.next(ev) && n++ < 200000)
			eng.push(ev);
		eng.flush();
		(void)eng.take_findings();
		(void)eng.stats();
		if (r.error())
			(void)r.error()->offset();
	} catch (const daxtrace::TraceError &) {
		// damaged header: the expected way to reject garbage
	}
}

void repair(std::vector<uint8_t> &b) {
	using namespace daxtrace::detail;
	if (b.size() < sizeof(FileHeader))
		return;
	FileHeader fh;
	memcpy(&fh, b.data(), sizeof(fh));
	size_t pos = sizeof(fh);
	if (fh.meta_len <= b.size() - pos) {
		fh.meta_crc = crc32c(b.data() + pos, fh.meta_len);
		pos += fh.meta_len;
	} else {
		pos = b.size();
	}
	fh.hdr_crc = crc32c(&fh, offsetof(FileHeader, hdr_crc));
	memcpy(b.data(), &fh, sizeof(fh));
	while (b.size() - pos >= sizeof(BlockHeader)) {
		BlockHeader bh;
		memcpy(&bh, b.data() + pos, sizeof(bh));
		size_t at = pos;
		pos += sizeof(bh);
		if (bh.comp_len <= b.size() - pos) {
			bh.payload_crc = crc32c(b.data() + pos, bh.comp_len);
			pos += bh.comp_len;
		} else {
			pos = b.size();
		}
		bh.hdr_crc = crc32c(&bh, offsetof(BlockHeader, hdr_crc));
		memcpy(b.data() + at, &bh, sizeof(bh));
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	decode(data, size);
	std::vector<uint8_t> fixed(data, data + size);
	repair(fixed);
	decode(fixed.data(), fixed.size());
	return 0;
}
