// Replays trace files through the engine and prints everything the rules
// decide: each finding (JSON, evidence included), the near-miss tables and
// the event counters.  Two engine builds that print the same digest for
// the same traces made the same decisions; run.sh uses it to hold an
// optimised engine to its baseline, and the analyzer.replay_digest test
// holds every build to the digest checked in beside this file.
//   replay_digest TRACE.dxt...                  print the digest
//   replay_digest --check DIGEST TRACE.dxt...   exit 1 unless identical
//   replay_digest --write DIGEST TRACE.dxt...   regenerate DIGEST
// Traces are named by their file name only, so the digest does not depend
// on where the repository is checked out.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "daxtrace/engine.h"
#include "daxtrace/events.h"
#include "daxtrace/trace.h"

static std::string digest(const char *path) {
	daxtrace::TraceReader r(path);
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached = daxtrace::hooks_from_names(r.header().hooks);
	daxtrace::Engine eng(cfg);
	dt_event ev;
	while (r.next(ev))
		eng.push(ev);
	eng.flush();
	const char *base = strrchr(path, '/');
	std::string o = "== " + std::string(base ? base + 1 : path) + "\n";
	for (const auto &f : eng.take_findings())
		o += daxtrace::to_json(f).dump() + "\n";
	o += eng.near_misses().to_json().dump() + "\n";
	nlohmann::json s = daxtrace::to_json(eng.stats());
	for (const char *k : {"page_state_bytes", "reorder_bytes", "memory_bytes"})
		s.erase(k); // layout, not decisions
	o += s.dump() + "\n";
	return o;
}

int main(int argc, char **argv) {
	const char *mode = nullptr, *file = nullptr;
	int i = 1;
	if (argc > 2 && (!strcmp(argv[1], "--check") || !strcmp(argv[1], "--write"))) {
		mode = argv[1];
		file = argv[2];
		i = 3;
	}
	std::string all;
	for (; i < argc; ++i)
		all += digest(argv[i]);
	if (!mode) {
		fputs(all.c_str(), stdout);
		return 0;
	}
	if (!strcmp(mode, "--write")) {
		std::ofstream(file, std::ios::binary) << all;
		return 0;
	}
	std::ifstream in(file, std::ios::binary);
	std::stringstream want;
	want << in.rdbuf();
	if (want.str() == all)
		return 0;
	// Name the first line that differs: the trace and what changed.
	std::istringstream a(want.str()), b(all);
	std::string la, lb;
	for (int n = 1;; ++n) {
		bool ga = bool(std::getline(a, la)), gb = bool(std::getline(b, lb));
		if (!ga && !gb)
			break;
		if (!ga || !gb || la != lb) {
			fprintf(stderr, "%s: line %d differs\n  expected: %.400s\n  got:      %.400s\n", file, n,
				ga ? la.c_str() : "(end)", gb ? lb.c_str() : "(end)");
			break;
		}
	}
	fprintf(stderr, "the engine decides differently on the recorded traces; if a rule change "
			"meant this, regenerate with: replay_digest --write %s TRACES\n", file);
	return 1;
}
