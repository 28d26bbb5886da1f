// Hand-built event streams for the rule tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daxtrace/engine.h"
#include "daxtrace/events.h"
#include "daxtrace/finding.h"

namespace dtt {

inline constexpr uint64_t kDev = (259ULL << 20) | 0; // pmem0 (259:0)
inline constexpr uint64_t kIno = 12;
inline constexpr uint64_t kT0 = 5'000'000'000ULL;    // trace time base
inline constexpr int64_t kFaultNoPage = 0x100;       // VM_FAULT_NOPAGE

// A dt_event with builder methods.
struct Ev : dt_event {
	Ev(uint16_t type, uint64_t ts_rel, uint32_t tid, uint64_t pgoff = 0);
	Ev &op_(uint16_t v) { op = v; return *this; }
	Ev &ino_(uint64_t v) { ino = v; return *this; }
	Ev &dev_(uint64_t v) { dev = v; return *this; }
	Ev &nr(uint64_t v) { nr_pages = v; return *this; }
	Ev &fl(uint32_t v) { flags |= v; return *this; }
	Ev &ref(uint32_t v) { refcount = v; return *this; }
	Ev &ret_(int64_t v) { ret = v; return *this; }
	Ev &sector(uint64_t s, uint64_t bytes) { block = s; len = bytes; return *this; }
	Ev &iomap(uint16_t type, uint16_t fl) { iomap_type = type; iomap_flags = fl; return *this; }
	Ev &cpu_(uint16_t c) { cpu = c; return *this; }
};

using Stream = std::vector<dt_event>;

struct Result {
	std::vector<daxtrace::Finding> findings;
	daxtrace::EngineStats stats;
	std::vector<std::string> json; // one line per finding
	const daxtrace::Histogram *nm[4] = {};
	uint64_t nm_count[4] = {};
	uint64_t nm_min[4] = {};
};

Result run(const Stream &s, daxtrace::EngineConfig cfg = {});
std::vector<const daxtrace::Finding *> with_rule(const Result &r, daxtrace::Rule rule);
bool has_evidence(const daxtrace::Finding &f, uint16_t type, uint64_t ts_rel);

// Deliver in a different order: each chunk of `chunk` consecutive events
// reversed (all well inside the default 10 ms window).
Stream reorder(const Stream &s, size_t chunk = 3);
// Remove event `index`, add a far-future "clock" event from another task on
// another inode, then deliver the removed event: it is late.
Stream deliver_late(const Stream &s, size_t index, uint64_t window = 10'000'000);
// Insert a DT_LOST marker (ts_rel, count) in timestamp order.
Stream with_loss(const Stream &s, uint64_t ts_rel, uint64_t count = 7, uint16_t cpu = 1);
// Index of the first event of `type` (and pgoff) in s.
size_t index_of(const Stream &s, uint16_t type, uint64_t ts_rel);

} // namespace dtt
