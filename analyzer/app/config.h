// The service's configuration: key = value lines, '#' or ';' comments,
// optional [section] headers (keys become "section.key").  The main file
// is read first, then FILE.d/*.conf in name order; a later file overrides
// an earlier one key by key.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace dtcli {

class ConfigError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

struct Config {
	std::map<std::string, std::string> values;
	std::map<std::string, std::string> origin; // key -> "file:line"
	std::vector<std::string> files;            // read, in order

	bool has(const std::string &k) const { return values.count(k) != 0; }
	std::string str(const std::string &k, const std::string &def = "") const;
	double num(const std::string &k, double def) const;       // throws ConfigError
	uint64_t size(const std::string &k, uint64_t def) const;  // 10M, 1G, 512K; throws
	double duration(const std::string &k, double def) const;  // 30s, 10m, 2h, 1d; throws
	bool flag(const std::string &k, bool def) const;          // yes/no/true/false/1/0
};

// Reads path and path + ".d/*.conf".  A missing main file is an error; a
// missing drop-in directory is not.  Throws ConfigError (file:line: what).
Config load_config(const std::string &path);
// Parses one file's text into cfg (tests use it directly).
void parse_config_text(const std::string &text, const std::string &name, Config &cfg);

}  // namespace dtcli
