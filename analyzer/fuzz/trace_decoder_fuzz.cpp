// libFuzzer target: the whole replay path of `daxtrace replay` must take
// any input without crashing, hanging, leaking or tripping a sanitizer:
// the trace decoder (header, metadata, blocks, resynchronisation after
// damage), the session (filters, engine, per-inode table) and both outputs
// (JSON lines and text, with the live view's tick and the summary) that
// print whatever the events hold (comm, pids, findings, near misses).
// Outputs go to /dev/null.
//
// Each input is decoded twice: as is, and with its checksums repaired
// (header, metadata and every block header/payload CRC recomputed where
// the announced lengths fit), so that mutations also reach the JSON
// metadata parser, the zstd frames, the engine and the outputs instead of
// stopping at the first checksum.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "daxtrace/engine.h"
#include "daxtrace/events.h"
#include "daxtrace/trace.h"
#include "filters.h"
#include "output.h"
#include "session.h"
#include "trace_format.h"

namespace {

FILE *devnull() {
	static FILE *f = fopen("/dev/null", "w");
	return f;
}

// What run_replay() in app/main.cpp does, with the output chosen by the
// input: JSON, text, or text with the live view (tick).
void replay(daxtrace::TraceReader &r, int variant) {
	std::unique_ptr<dtcli::Output> out;
	if (variant == 0)
		out = std::make_unique<dtcli::JsonOutput>(devnull());
	else
		out = std::make_unique<dtcli::TextOutput>(variant == 2, devnull());
	const auto &hdr = r.header();
	daxtrace::EngineConfig cfg;
	cfg.reorder_window_ns = 1000;
	cfg.hooks_attached = daxtrace::hooks_from_names(hdr.hooks);
	dtprobe::Filters filters;
	dtcli::Session session(cfg, *out, filters);
	out->start({{"kernel", hdr.kernel_release},
		    {"host", hdr.hostname},
		    {"trace", "fuzz.dxt"},
		    {"abi_version", hdr.abi_version},
		    {"hooks", hdr.hooks},
		    {"start_wallclock_ns", hdr.start_wallclock_ns},
		    {"start_monotonic_ns", hdr.start_monotonic_ns}});
	dt_event ev;
	size_t n = 0;
	while (n++ < 200000 && r.next(ev)) {
		session.on_event(ev);
		if ((n & 1023) == 0)
			out->tick(session, double(n));
	}
	session.finish();
	double span = session.last_ts() > session.first_ts()
			      ? double(session.last_ts() - session.first_ts()) / 1e9 : 0.0;
	out->tick(session, span);
	if (r.error() && variant == 0) { // text warnings go to stderr: keep the log readable
		for (auto &g : r.gaps())
			out->warning(g.what + " at " + std::to_string(g.offset) + " resumed " +
				     std::to_string(g.resume_offset));
	}
	out->summary(session, span);
	(void)session.engine().stats();
	(void)session.engine().near_misses().to_json();
}

void decode(const uint8_t *data, size_t size, int variant) {
	try {
		auto r = daxtrace::TraceReader::from_memory(data, size);
		replay(r, variant);
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
	// The output variant comes from the input, so that the corpus keeps
	// inputs for each; the last byte is part of a block at most, whose
	// checksum the repaired pass recomputes anyway.
	int variant = size ? data[size - 1] % 3 : 0;
	decode(data, size, variant);
	std::vector<uint8_t> fixed(data, data + size);
	repair(fixed);
	decode(fixed.data(), fixed.size(), (variant + 1) % 3);
	return 0;
}
