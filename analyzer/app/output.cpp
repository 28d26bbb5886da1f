#include "output.h"

#include "daxtrace/engine.h"
#include "registry.h"
#include "session.h"

namespace dtcli {

nlohmann::json start_meta(const StartInfo &s)
{
	std::vector<std::string> hooks;
	for (auto &h : s.hooks)
		hooks.push_back(dtabi::json_safe(h));
	return {{"source", s.live ? "live" : "replay"},
		{"kernel", dtabi::json_safe(s.kernel)},
		{"host", dtabi::json_safe(s.host)},
		{"trace", dtabi::json_safe(s.trace)},
		{"abi_version", s.abi_version},
		{"hooks", hooks},
		{"coverage", s.coverage},
		{"start_wallclock_ns", s.start_wallclock_ns},
		{"start_monotonic_ns", s.start_monotonic_ns}};
}

std::string human_ns(uint64_t ns)
{
	char buf[32];
	if (ns < 1000)
		snprintf(buf, sizeof(buf), "%luns", (unsigned long)ns);
	else if (ns < 1000000)
		snprintf(buf, sizeof(buf), "%.2fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, sizeof(buf), "%.2fms", ns / 1e6);
	else
		snprintf(buf, sizeof(buf), "%.2fs", ns / 1e9);
	return buf;
}

std::string finding_line(const daxtrace::Finding &f)
{
	// Built by appending: "literal" + a temporary std::string inserts at
	// the temporary's front, which GCC 12 warns about (-Wrestrict, a
	// false positive in its basic_string).
	std::string tasks;
	for (auto &t : f.tasks) {
		if (!tasks.empty())
			tasks += ", ";
		tasks += dtabi::terminal_safe(t.comm);
		tasks += "/";
		tasks += std::to_string(t.tid);
		if (!t.role.empty())
			tasks += " (" + t.role + ")";
	}
	char pages[64];
	snprintf(pages, sizeof(pages), "%lu-%lu", (unsigned long)f.pgoff_first,
		 (unsigned long)f.pgoff_last);
	std::string line = "[";
	line += f.id();
	line += " ";
	line += f.name();
	line += "]";
	if (f.uncertain) {
		line += " UNCERTAIN (";
		line += dtabi::terminal_safe(f.uncertain_reason);
		line += ")";
	}
	return line + " dev " + dtabi::dev_name(f.dev) + " ino " + std::to_string(f.ino) +
	       " pages " + pages + " window " + human_ns(f.width_ns()) + " tasks: " + tasks +
	       " — " + dtabi::terminal_safe(f.summary);
}

nlohmann::json session_stats_json(const Session &s, double elapsed_s)
{
	// A DT_LOST marker is not an event: Session::events() leaves them out.
	return {{"elapsed_s", elapsed_s},
		{"events", s.events()},
		{"events_per_s", elapsed_s > 0 ? double(s.events()) / elapsed_s : 0.0},
		{"lost", s.lost()},
		{"filtered", s.filtered()},
		{"findings", s.findings().size()},
		{"engine", daxtrace::to_json(s.engine().stats())}};
}

}  // namespace dtcli
