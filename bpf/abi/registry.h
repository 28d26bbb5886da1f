// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The registry (daxtrace_registry.def) as C++ tables, and the one way every
// consumer names and prints the ABI: the loader, the engine, the daxtrace
// application, JSON and the ClickHouse exporter all come through here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "daxtrace_abi.h"

namespace dtabi {

enum GroupId : uint16_t {
#define DT_GROUP(group, classes, essential, needs_series, what) kGroup_##group,
#include "daxtrace_registry.def"
	kGroupCount
};

struct TypeInfo {
	std::string_view name;   // "DT_FAULT_ENTER": the JSON and ClickHouse value
	std::string_view what;
};

struct GroupInfo {
	std::string_view name;   // "dax_fault": what --disable and coverage say
	unsigned classes;        // DT_CLASS_* it observes
	unsigned essential;      // DT_CLASS_* blind without it
	bool needs_series;       // a tracepoint added by patches/
	std::string_view what;
};

enum class HookKind : uint8_t { None, Tracepoint, Function, Synthesised, Retired };

struct HookInfo {
	uint16_t id;             // enum dt_hook
	HookKind kind;
	uint16_t group;          // GroupId, kGroupCount when none
	unsigned tier;           // fallback order inside the group
	std::string_view name;   // "fs_dax:dax_pte_fault", "dax_iomap_fault"
	std::string_view fs;     // "", "ext4", "xfs"
	uint64_t emits;          // DT_E() bits

	// What a BPF section targets: the tracepoint's event or the function.
	std::string_view target() const
	{
		auto colon = name.find(':');
		return kind == HookKind::Tracepoint ? name.substr(colon + 1) : name;
	}
};

namespace detail {
inline constexpr TypeInfo kTypes[] = {
	{"DT_NONE", "no event"},
#define DT_TYPE(id, what) {"DT_" #id, what},
#include "daxtrace_registry.def"
};
inline constexpr GroupInfo kGroups[] = {
#define DT_GROUP(group, classes, essential, needs_series, what) \
	{#group, classes, essential, needs_series != 0, what},
#include "daxtrace_registry.def"
};
inline constexpr HookInfo kHooks[] = {
	{DT_HOOK_NONE, HookKind::None, kGroupCount, 0, "none", "", 0},
#define DT_HOOK(id, group, tier, symbol, fs, emits)                                  \
	{DT_HOOK_##id,                                                                \
	 std::string_view(symbol).find(':') == std::string_view::npos ? HookKind::Function \
								      : HookKind::Tracepoint, \
	 kGroup_##group, tier, symbol, fs, emits},
#define DT_HOOK_SYNTH(id, name, emits) \
	{DT_HOOK_##id, HookKind::Synthesised, kGroupCount, 0, name, "", emits},
#define DT_HOOK_RETIRED(id, name) {DT_HOOK_##id, HookKind::Retired, kGroupCount, 0, name, "", 0},
#include "daxtrace_registry.def"
};
static_assert(std::size(kTypes) == DT_TYPE_MAX, "one name per enum dt_type value");
static_assert(std::size(kHooks) == DT_HOOK_MAX, "one entry per enum dt_hook value");
constexpr bool hooks_in_enum_order()
{
	for (size_t i = 0; i < std::size(kHooks); ++i)
		if (kHooks[i].id != i)
			return false;
	return true;
}
static_assert(hooks_in_enum_order());
} // namespace detail

inline std::span<const TypeInfo> types() { return detail::kTypes; }
inline std::span<const GroupInfo> groups() { return detail::kGroups; }
inline std::span<const HookInfo> hooks() { return detail::kHooks; }

std::string_view type_name(uint16_t type);        // "DT_UNKNOWN" when out of range
std::string_view hook_name(uint16_t hook);        // "unknown" when out of range
const HookInfo *hook_info(uint16_t hook);         // nullptr when out of range
// A hook's registry name, or a name it had before (the trace headers of
// earlier versions); DT_HOOK_MAX when unknown.
uint16_t hook_from_name(std::string_view name);
// A trace header's hook entry as (name, mechanism): "fs_dax:dax_pte_fault@tp_btf",
// or the older "dax_fault:tp_btf" (a logical group and its mechanism).
std::pair<std::string, std::string> hook_and_mechanism(const std::string &h);
const GroupInfo *group_by_name(std::string_view name);
uint16_t group_id(const GroupInfo &g);
// The filesystem a group probes: its hooks' common fs, "" when mixed or none.
std::string_view group_fs(uint16_t group);
std::string_view remove_op_name(uint16_t op);     // "punch" ...
std::string_view zero_op_name(uint16_t op);       // "blkdev" ...
const char *class_letter(unsigned one_class);     // "Z", "W", "L", "T"
const char *class_title(unsigned one_class);

// Strings that come from the kernel or a trace (comm, hostnames, kernel
// releases) are untrusted: valid UTF-8 for JSON (invalid bytes become
// U+FFFD), and for a terminal also without control characters (\xNN).
std::string json_safe(std::string_view s);
std::string terminal_safe(std::string_view s);
std::string comm_string(const dt_event &e);       // NUL-terminated, json_safe
// sb->s_dev in the kernel's encoding (major << 20 | minor) as "MAJ:MIN".
std::string dev_name(uint64_t kernel_dev);

// The one JSON form of an event (evidence, --json, dtprobe).
nlohmann::json event_json(const dt_event &e);
// The marker for events lost on cpu since the previous marker.
dt_event make_lost_event(uint64_t ts, uint16_t cpu, uint64_t count);

} // namespace dtabi
