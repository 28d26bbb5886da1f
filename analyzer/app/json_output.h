// --json: one JSON object per line on stdout: {"type":"start"|"finding"|
// "stats"|"summary"|"warning", ...}.
#pragma once

#include <cstdio>

#include "output.h"

namespace dtcli {

class JsonOutput : public Output {
public:
	explicit JsonOutput(FILE *out = stdout) : out_(out) {}
	void start(const nlohmann::json &meta) override;
	void finding(const daxtrace::Finding &f) override;
	void tick(const Session &s, double elapsed_s) override;
	void summary(const Session &s, double elapsed_s) override;
	void warning(const std::string &msg) override;

private:
	void emit(const nlohmann::json &j);
	FILE *out_;
};

}  // namespace dtcli
