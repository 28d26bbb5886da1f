#include "privileges.h"

#include <cstdint>
#include <fstream>
#include <sstream>

namespace dtcli {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

uint64_t effective_caps()
{
	std::ifstream in("/proc/self/status");
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind("CapEff:", 0) == 0)
			return std::stoull(line.substr(7), nullptr, 16);
	}
	return 0;
}

}  // namespace

std::string missing_privileges()
{
	uint64_t caps = effective_caps();
	auto has = [caps](int c) { return (caps >> c) & 1; };
	// Tracing programs need CAP_BPF and CAP_PERFMON (5.8+); CAP_SYS_ADMIN
	// implies both (and is what older kernels require).
	if (has(kCapSysAdmin) || (has(kCapBpf) && has(kCapPerfmon)))
		return "";
	std::string missing;
	if (!has(kCapBpf))
		missing = "CAP_BPF";
	if (!has(kCapPerfmon))
		missing += std::string(missing.empty() ? "" : " and ") + "CAP_PERFMON";
	return "missing capability " + missing +
	       " (or CAP_SYS_ADMIN): run as root, or grant them with "
	       "'setcap cap_bpf,cap_perfmon+ep daxtrace'";
}

}  // namespace dtcli
