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
#include "json_output.h"
#include "output.h"
#include "session.h"
#include "text_output.h"
#include "trace_format.h"

namespace {

FILE *devnull() {
	static FILE *f = fopen("/dev/null", "w");
	return f;
}

// What run_replay() in app/main.cpp does, into both outputs at once (as
// --clickhouse tees them): JSON lines and text, with or without the live
// view (tick) as the input chooses.
void replay(daxtrace::TraceReader &r, bool live_view) {
	auto tee = std::make_unique<dtcli::TeeOutput>();
	tee->add(std::make_unique<dtcli::JsonOutput>(devnull()));
	tee->add(std::make_unique<dtcli::TextOutput>(live_view, devnull()));
	std::unique_ptr<dtcli::Output> out = std::move(tee);
	dtcli::JsonOutput json_warning(devnull());
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
	// (TextOutput::warning writes to stderr: only the JSON one is fed, to
	// keep the fuzz log readable.)
	if (r.error())
		for (auto &g : r.gaps())
			json_warning.warning(g.what + " at " + std::to_string(g.offset) + " resumed " +
					     std::to_string(g.resume_offset));
	out->summary(session, span);
	(void)session.engine().stats();
	(void)session.engine().near_misses().to_json();
}

void decode(const uint8_t *data, size_t size, bool live_view) {
	try {
		auto r = daxtrace::TraceReader::from_memory(data, size);
		replay(r, live_view);
	} catch (const daxtrace::TraceError &) {
		// damaged header: the expected way to reject garbage
	}
}

// The header H at b[at] and what follows it (its len field's bytes, when
// they fit) checksummed again: its crc field over that payload, hdr_crc
// over the header.  Returns where the next header starts (b.size() when
// the payload does not fit).
template <class H>
size_t reseal(std::vector<uint8_t> &b, size_t at, uint32_t H::*len, uint32_t H::*crc) {
	H h;
	memcpy(&h, b.data() + at, sizeof(h));
	size_t pos = at + sizeof(h);
	if (h.*len <= b.size() - pos) {
		h.*crc = daxtrace::detail::crc32c(b.data() + pos, h.*len);
		pos += h.*len;
	} else {
		pos = b.size();
	}
	h.hdr_crc = daxtrace::detail::crc32c(&h, offsetof(H, hdr_crc));
	memcpy(b.data() + at, &h, sizeof(h));
	return pos;
}

void repair(std::vector<uint8_t> &b) {
	using namespace daxtrace::detail;
	if (b.size() < sizeof(FileHeader))
		return;
	size_t pos = reseal(b, 0, &FileHeader::meta_len, &FileHeader::meta_crc);
	while (b.size() - pos >= sizeof(BlockHeader))
		pos = reseal(b, pos, &BlockHeader::comp_len, &BlockHeader::payload_crc);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	// The text output's live view (a redraw per tick) for one pass each.
	decode(data, size, false);
	std::vector<uint8_t> fixed(data, data + size);
	repair(fixed);
	decode(fixed.data(), fixed.size(), true);
	return 0;
}
