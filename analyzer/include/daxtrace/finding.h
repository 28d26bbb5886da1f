// A finding: one race window that opened, with its evidence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daxtrace_abi.h"

namespace daxtrace {

// The race classes.  The engine indexes its tables by this enum; the ABI
// and the registry speak DT_CLASS_* bits: class_bit() is the one
// conversion, and the two agree by construction.
enum class RaceClass : uint8_t {
	Z = 0, // block zeroing vs. concurrent faults
	W = 1, // writeback vs. pfn_mkwrite
	L = 2, // block removal vs. DMA pins (layout breaks)
	T = 3, // fault vs. truncate/punch
};
inline constexpr int kRaceClasses = 4;
constexpr unsigned class_bit(RaceClass c) { return 1u << unsigned(c); }
static_assert(class_bit(RaceClass::Z) == DT_CLASS_Z && class_bit(RaceClass::W) == DT_CLASS_W &&
	      class_bit(RaceClass::L) == DT_CLASS_L && class_bit(RaceClass::T) == DT_CLASS_T);
std::string_view class_name(RaceClass c); // "Z" ... (the registry's class letter)

// The rules (see analyzer/RULES.md and the comment beside each rule).
enum class Rule : uint8_t {
	Z1_ZERO_AFTER_MAP,
	Z2_FAULT_MAPS_UNZEROED,
	W1_WRITEBACK_DURING_MKWRITE,
	L1_REMOVE_WITHOUT_BREAK,
	L2_DISASSOCIATE_PINNED,
	L3_SCAN_MISSED_PIN,
	T1_FAULT_MAPS_TORN_DOWN,
	W2_FSYNC_SKIPPED_DIRTY, // appended: values stay stable
};
std::string_view rule_id(Rule r);   // "L2"
std::string_view rule_name(Rule r); // "disassociate-pinned-entry"
RaceClass rule_class(Rule r);

struct TaskRef {
	uint32_t pid = 0;
	uint32_t tid = 0;
	std::string comm;
	std::string role; // "remover", "pinner", "faulter", "zeroer", "writeback"
};

struct Finding {
	Rule rule{};
	uint64_t dev = 0;
	uint64_t ino = 0;
	uint64_t pgoff_first = 0; // page range affected (inclusive)
	uint64_t pgoff_last = 0;
	std::vector<TaskRef> tasks;
	uint64_t window_start_ns = 0; // trace clock (CLOCK_MONOTONIC ns)
	uint64_t window_end_ns = 0;
	uint64_t width_ns() const { return window_end_ns - window_start_ns; }
	bool uncertain = false;
	std::string uncertain_reason;
	std::string summary;             // one human sentence
	std::vector<dt_event> evidence;  // ordered by ts
	uint64_t evidence_omitted = 0;   // events elided from a long evidence list

	std::string_view id() const { return rule_id(rule); }
	std::string_view name() const { return rule_name(rule); }
	RaceClass race_class() const { return rule_class(rule); }
};

// One JSON object (for `--json`, one object per line).  Strings from the
// kernel or a trace (comm) are made valid UTF-8 (dtabi::json_safe).
nlohmann::json to_json(const Finding &f);
// The registry's one JSON form of an event (dtabi::event_json).
nlohmann::json to_json(const dt_event &e);

} // namespace daxtrace
