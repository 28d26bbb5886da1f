#include "config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>

namespace dtcli {

namespace {

std::string trim(const std::string &s)
{
	size_t b = s.find_first_not_of(" \t\r");
	if (b == std::string::npos)
		return "";
	size_t e = s.find_last_not_of(" \t\r");
	return s.substr(b, e - b + 1);
}

std::string where(const Config &c, const std::string &k)
{
	auto it = c.origin.find(k);
	return it == c.origin.end() ? k : it->second + ": " + k;
}

// "10M" -> 10 and 'M'; throws on anything else.
double number_with_suffix(const std::string &v, std::string *suffix)
{
	size_t used = 0;
	double d = std::stod(v, &used);
	*suffix = trim(v.substr(used));
	if (d < 0 || d != d)
		throw std::invalid_argument("negative");
	return d;
}

// The value of k, a number with an optional suffix, times what the suffix
// stands for (multiplier(suffix) < 0: a suffix this kind of value does not
// take); a value that is not one is a ConfigError naming what was expected.
template <class Multiplier>
double scaled(const Config &c, const std::string &k, const char *expected, Multiplier multiplier)
{
	try {
		std::string sfx;
		double d = number_with_suffix(c.str(k), &sfx);
		double m = multiplier(sfx);
		if (m < 0)
			throw std::invalid_argument("suffix");
		return d * m;
	} catch (const std::exception &) {
		throw ConfigError(where(c, k) + ": expected " + expected + ", got '" + c.str(k) + "'");
	}
}

}  // namespace

std::string Config::str(const std::string &k, const std::string &def) const
{
	auto it = values.find(k);
	return it == values.end() ? def : it->second;
}

double Config::num(const std::string &k, double def) const
{
	return has(k) ? scaled(*this, k, "a number",
			       [](const std::string &sfx) { return sfx.empty() ? 1.0 : -1.0; })
		      : def;
}

uint64_t Config::size(const std::string &k, uint64_t def) const
{
	if (!has(k))
		return def;
	return uint64_t(scaled(*this, k, "a size (e.g. 64M, 1G)", [](std::string sfx) {
		std::transform(sfx.begin(), sfx.end(), sfx.begin(), ::toupper);
		if (!sfx.empty() && sfx.back() == 'B' && sfx.size() > 1)
			sfx.pop_back();  // "MB", "MiB" -> "M", "MI"
		if (!sfx.empty() && sfx.back() == 'I')
			sfx.pop_back();
		return sfx.empty() || sfx == "B" ? 1 : sfx == "K" ? 1024.0 : sfx == "M" ? 1048576.0
		     : sfx == "G" ? 1073741824.0 : -1;
	}));
}

double Config::duration(const std::string &k, double def) const
{
	if (!has(k))
		return def;
	return scaled(*this, k, "a duration (e.g. 30s, 10m, 2h, 1d)", [](const std::string &sfx) {
		return sfx.empty() || sfx == "s" ? 1 : sfx == "ms" ? 0.001 : sfx == "m" || sfx == "min" ? 60
		     : sfx == "h" ? 3600 : sfx == "d" ? 86400 : -1;
	});
}

bool Config::flag(const std::string &k, bool def) const
{
	if (!has(k))
		return def;
	std::string v = str(k);
	if (v == "yes" || v == "true" || v == "1" || v == "on")
		return true;
	if (v == "no" || v == "false" || v == "0" || v == "off")
		return false;
	throw ConfigError(where(*this, k) + ": expected yes or no, got '" + v + "'");
}

void parse_config_text(const std::string &text, const std::string &name, Config &cfg)
{
	std::istringstream in(text);
	std::string line, section;
	int n = 0;
	while (std::getline(in, line)) {
		n++;
		std::string t = trim(line);
		if (t.empty() || t[0] == '#' || t[0] == ';')
			continue;
		if (t[0] == '[') {
			if (t.back() != ']')
				throw ConfigError(name + ":" + std::to_string(n) + ": unterminated section header");
			section = trim(t.substr(1, t.size() - 2));
			continue;
		}
		auto eq = t.find('=');
		if (eq == std::string::npos)
			throw ConfigError(name + ":" + std::to_string(n) + ": expected key = value, got '" + t + "'");
		std::string key = trim(t.substr(0, eq)), val = trim(t.substr(eq + 1));
		if (key.empty())
			throw ConfigError(name + ":" + std::to_string(n) + ": empty key");
		if (val.size() >= 2 && val.front() == '"' && val.back() == '"')
			val = val.substr(1, val.size() - 2);
		if (!section.empty())
			key = section + "." + key;
		cfg.values[key] = val;
		cfg.origin[key] = name + ":" + std::to_string(n);
	}
}

Config load_config(const std::string &path)
{
	Config cfg;
	auto read = [&](const std::string &p, bool required) {
		std::ifstream f(p);
		if (!f) {
			if (required)
				throw ConfigError(p + ": " + strerror(errno));
			return;
		}
		std::stringstream ss;
		ss << f.rdbuf();
		parse_config_text(ss.str(), p, cfg);
		cfg.files.push_back(p);
	};
	read(path, true);
	std::string dir = path + ".d";
	std::vector<std::string> names;
	if (DIR *d = opendir(dir.c_str())) {
		while (auto *e = readdir(d)) {
			std::string n = e->d_name;
			if (n.size() > 5 && n.compare(n.size() - 5, 5, ".conf") == 0 && n[0] != '.')
				names.push_back(n);
		}
		closedir(d);
	}
	std::sort(names.begin(), names.end());
	for (auto &n : names)
		read(dir + "/" + n, true);
	return cfg;
}

}  // namespace dtcli
