#include "trace_builder.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

namespace dtt {

Ev::Ev(uint16_t t, uint64_t ts_rel, uint32_t tid_, uint64_t pg) : dt_event{} {
	ts = kT0 + ts_rel;
	type = t;
	hook = DT_HOOK_USER;
	cpu = uint16_t(tid_ % 4);
	pid = tid_;
	tid = tid_;
	dev = kDev;
	ino = kIno;
	pgoff = pg;
	std::string c = "task" + std::to_string(tid_);
	std::memcpy(comm, c.c_str(), std::min<size_t>(c.size(), DT_COMM_LEN - 1));
}

Result run(const Stream &s, daxtrace::EngineConfig cfg) {
	daxtrace::Engine eng(cfg);
	for (const auto &e : s)
		eng.push(e);
	eng.flush();
	Result r;
	r.findings = eng.take_findings();
	r.stats = eng.stats();
	for (const auto &f : r.findings)
		r.json.push_back(daxtrace::to_json(f).dump());
	for (int c = 0; c < 4; ++c) {
		const auto &h = eng.near_misses().total(daxtrace::RaceClass(c));
		r.nm_count[c] = h.count();
		r.nm_min[c] = h.min();
	}
	return r;
}

std::vector<const daxtrace::Finding *> with_rule(const Result &r, daxtrace::Rule rule) {
	std::vector<const daxtrace::Finding *> v;
	for (const auto &f : r.findings)
		if (f.rule == rule)
			v.push_back(&f);
	return v;
}

bool has_evidence(const daxtrace::Finding &f, uint16_t type, uint64_t ts_rel) {
	for (const auto &e : f.evidence)
		if (e.type == type && e.ts == kT0 + ts_rel)
			return true;
	return false;
}

Stream reorder(const Stream &s, size_t chunk) {
	Stream o;
	for (size_t i = 0; i < s.size(); i += chunk) {
		size_t end = std::min(s.size(), i + chunk);
		for (size_t j = end; j-- > i;)
			o.push_back(s[j]);
	}
	return o;
}

Stream deliver_late(const Stream &s, size_t index, uint64_t window) {
	Stream o;
	uint64_t last = 0;
	for (size_t i = 0; i < s.size(); ++i) {
		last = std::max<uint64_t>(last, s[i].ts);
		if (i != index)
			o.push_back(s[i]);
	}
	Ev clock(DT_FSYNC_ENTER, 0, 9999);
	clock.ts = last + 3 * window;
	clock.ino = 999999;
	o.push_back(clock);
	o.push_back(s[index]);
	return o;
}

Stream with_loss(const Stream &s, uint64_t ts_rel, uint64_t count, uint16_t cpu) {
	Stream o = s;
	dt_event l = daxtrace::make_lost_event(kT0 + ts_rel, cpu, count);
	auto it = std::upper_bound(o.begin(), o.end(), l.ts,
				   [](uint64_t ts, const dt_event &e) { return ts < e.ts; });
	o.insert(it, l);
	return o;
}

size_t index_of(const Stream &s, uint16_t type, uint64_t ts_rel) {
	for (size_t i = 0; i < s.size(); ++i)
		if (s[i].type == type && s[i].ts == kT0 + ts_rel)
			return i;
	return SIZE_MAX;
}

} // namespace dtt
