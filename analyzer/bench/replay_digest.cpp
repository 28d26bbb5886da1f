// Replays trace files through the engine and prints everything the rules
// decide: each finding (JSON, evidence included), the near-miss tables and
// the event counters.  Two engine builds that print the same digest for
// the same traces made the same decisions; run.sh uses it to hold an
// optimised engine to its baseline.
//   replay_digest TRACE.dxt...
#include <cstdio>
#include <nlohmann/json.hpp>

#include "daxtrace/engine.h"
#include "daxtrace/events.h"
#include "daxtrace/trace.h"

int main(int argc, char **argv) {
	for (int i = 1; i < argc; ++i) {
		daxtrace::TraceReader r(argv[i]);
		daxtrace::EngineConfig cfg;
		cfg.hooks_attached = daxtrace::hooks_from_names(r.header().hooks);
		daxtrace::Engine eng(cfg);
		dt_event ev;
		while (r.next(ev))
			eng.push(ev);
		eng.flush();
		std::printf("== %s\n", argv[i]);
		for (const auto &f : eng.take_findings())
			std::printf("%s\n", daxtrace::to_json(f).dump().c_str());
		std::printf("%s\n", eng.near_misses().to_json().dump().c_str());
		nlohmann::json s = daxtrace::to_json(eng.stats());
		for (const char *k : {"page_state_bytes", "reorder_bytes", "memory_bytes"})
			s.erase(k); // layout, not decisions
		std::printf("%s\n", s.dump().c_str());
	}
	return 0;
}
