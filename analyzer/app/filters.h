// Turning the user's filter arguments (-p, --cgroup, --dev, --ino) into
// the values the BPF programs compare against, with errors a user can act
// on.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "probe_set.h"

namespace dtcli {

// A bad command-line value: the message names the option and the value.
class UsageError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

struct FilterArgs {
	std::string pid, cgroup, dev, ino;
};

// Live, -p must name a process running here; in a replay it names a
// process of the trace (this host's /proc says nothing about it).
enum class FilterFor { Live, Replay };

// Throws UsageError.
dtprobe::Filters resolve_filters(const FilterArgs &a, FilterFor use = FilterFor::Live);

// Kernel dev_t encoding (major << 20 | minor), as in sb->s_dev (printed by
// dtabi::dev_name).
uint64_t kernel_dev(unsigned major, unsigned minor);

// Would an event pass the filters?  (Replay applies them in user space;
// live, the BPF programs already did.)
bool event_passes(const dtprobe::Filters &f, uint64_t dev, uint64_t ino, uint32_t pid);

}  // namespace dtcli
