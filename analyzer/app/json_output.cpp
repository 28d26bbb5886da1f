#include "json_output.h"

#include <map>

#include "daxtrace/engine.h"
#include "registry.h"
#include "session.h"

namespace dtcli {

void JsonOutput::emit(const nlohmann::json &j)
{
	// The strings were made valid UTF-8 where they were read (json_safe);
	// replacing here too keeps one missed string from aborting the run.
	std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
	fprintf(out_, "%s\n", line.c_str());
	flush_output(out_);
}

void JsonOutput::start(const nlohmann::json &meta)
{
	nlohmann::json j = meta;
	j["type"] = "start";
	emit(j);
}

void JsonOutput::finding(const daxtrace::Finding &f)
{
	nlohmann::json j = daxtrace::to_json(f);
	j["type"] = "finding";
	emit(j);
}

void JsonOutput::tick(const Session &s, double elapsed_s)
{
	nlohmann::json j = session_stats_json(s, elapsed_s);
	j["type"] = "stats";
	emit(j);
}

void JsonOutput::summary(const Session &s, double elapsed_s)
{
	nlohmann::json j = session_stats_json(s, elapsed_s);
	std::map<std::string, int> by_rule;
	for (auto &f : s.findings())
		by_rule[std::string(f.id())]++;
	j["type"] = "summary";
	j["findings_by_rule"] = by_rule;
	j["near_misses"] = s.engine().near_misses().to_json();
	emit(j);
}

void JsonOutput::warning(const std::string &msg)
{
	emit({{"type", "warning"}, {"message", dtabi::json_safe(msg)}});
}

}  // namespace dtcli
