// Finding and event -> JSON (one object per line for --json).
#include <cstring>

#include <nlohmann/json.hpp>

#include "daxtrace/events.h"
#include "daxtrace/finding.h"

namespace daxtrace {

namespace {
struct RuleInfo {
	std::string_view id, name;
	RaceClass cls;
};
constexpr RuleInfo kRules[] = {
	{"Z1", "zero-after-map", RaceClass::Z},
	{"Z2", "fault-maps-unzeroed-extent", RaceClass::Z},
	{"W1", "writeback-during-mkwrite", RaceClass::W},
	{"L1", "remove-without-layout-break", RaceClass::L},
	{"L2", "disassociate-pinned-entry", RaceClass::L},
	{"L3", "busy-scan-missed-pin", RaceClass::L},
	{"T1", "fault-maps-torn-down-page", RaceClass::T},
	{"W2", "fsync-skipped-dirty-entry", RaceClass::W},
};
} // namespace

std::string_view rule_id(Rule r) { return kRules[int(r)].id; }
std::string_view rule_name(Rule r) { return kRules[int(r)].name; }
RaceClass rule_class(Rule r) { return kRules[int(r)].cls; }
std::string_view class_name(RaceClass c) {
	static constexpr std::string_view n[] = {"Z", "W", "L", "T"};
	return n[int(c)];
}

nlohmann::json to_json(const dt_event &e) {
	nlohmann::json j{
		{"ts", e.ts},
		{"type", type_name(e.type)},
		{"hook", hook_name(e.hook)},
		{"cpu", e.cpu},
		{"pid", e.pid},
		{"tid", e.tid},
		{"comm", std::string(e.comm, strnlen(e.comm, DT_COMM_LEN))},
		{"dev", e.dev},
		{"ino", e.ino},
		{"pgoff", e.pgoff},
		{"nr_pages", e.nr_pages},
		{"flags", e.flags},
	};
	switch (e.type) {
	case DT_ZERO:
		j["op"] = zero_op_name(e.op);
		j["sector"] = e.block;
		j["len"] = e.len;
		break;
	case DT_REMOVE_ENTER:
	case DT_REMOVE_EXIT:
		j["op"] = remove_op_name(e.op);
		break;
	case DT_IOMAP:
		j["sector"] = e.block;
		j["len"] = e.len;
		j["iomap_type"] = e.iomap_type;
		j["iomap_flags"] = e.iomap_flags;
		break;
	default:
		break;
	}
	if (e.refcount)
		j["refcount"] = e.refcount;
	if (e.type == DT_FAULT_EXIT || e.type == DT_MKWRITE_EXIT || e.type == DT_BREAK_EXIT ||
	    e.type == DT_LOST || e.ret)
		j["ret"] = e.ret;
	return j;
}

nlohmann::json to_json(const Finding &f) {
	nlohmann::json tasks = nlohmann::json::array();
	for (const auto &t : f.tasks)
		tasks.push_back({{"pid", t.pid}, {"tid", t.tid}, {"comm", t.comm}, {"role", t.role}});
	nlohmann::json ev = nlohmann::json::array();
	for (const auto &e : f.evidence)
		ev.push_back(to_json(e));
	nlohmann::json j{
		{"rule", f.id()},
		{"name", f.name()},
		{"class", class_name(f.race_class())},
		{"dev", f.dev},
		{"dev_name", std::to_string(f.dev >> 20) + ":" + std::to_string(f.dev & 0xfffff)},
		{"ino", f.ino},
		{"pgoff_first", f.pgoff_first},
		{"pgoff_last", f.pgoff_last},
		{"tasks", tasks},
		{"window_start_ns", f.window_start_ns},
		{"window_end_ns", f.window_end_ns},
		{"window_ns", f.width_ns()},
		{"uncertain", f.uncertain},
		{"summary", f.summary},
		{"evidence", ev},
	};
	if (f.uncertain)
		j["uncertain_reason"] = f.uncertain_reason;
	if (f.evidence_omitted)
		j["evidence_omitted"] = f.evidence_omitted;
	return j;
}

} // namespace daxtrace
