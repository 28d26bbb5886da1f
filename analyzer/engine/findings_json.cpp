// Finding and event -> JSON (one object per line for --json).
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
std::string_view class_name(RaceClass c) { return dtabi::class_letter(class_bit(c)); }

nlohmann::json to_json(const dt_event &e) { return dtabi::event_json(e); }

nlohmann::json to_json(const Finding &f) {
	nlohmann::json tasks = nlohmann::json::array();
	for (const auto &t : f.tasks)
		tasks.push_back({{"pid", t.pid}, {"tid", t.tid}, {"comm", dtabi::json_safe(t.comm)}, {"role", t.role}});
	nlohmann::json ev = nlohmann::json::array();
	for (const auto &e : f.evidence)
		ev.push_back(to_json(e));
	nlohmann::json j{
		{"rule", f.id()},
		{"name", f.name()},
		{"class", class_name(f.race_class())},
		{"dev", f.dev},
		{"dev_name", dtabi::dev_name(f.dev)},
		{"ino", f.ino},
		{"pgoff_first", f.pgoff_first},
		{"pgoff_last", f.pgoff_last},
		{"tasks", tasks},
		{"window_start_ns", f.window_start_ns},
		{"window_end_ns", f.window_end_ns},
		{"window_ns", f.width_ns()},
		{"uncertain", f.uncertain},
		{"summary", dtabi::json_safe(f.summary)},
		{"evidence", ev},
	};
	if (f.uncertain)
		j["uncertain_reason"] = dtabi::json_safe(f.uncertain_reason);
	if (f.evidence_omitted)
		j["evidence_omitted"] = f.evidence_omitted;
	return j;
}

} // namespace daxtrace
