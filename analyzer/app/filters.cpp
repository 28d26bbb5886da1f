#include "filters.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

namespace dtcli {
namespace {

constexpr long kCgroup2Magic = 0x63677270;

uint64_t parse_number(const std::string &opt, const std::string &v)
{
	uint64_t n = 0;
	auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
	if (v.empty() || ec != std::errc() || end != v.data() + v.size())
		throw UsageError(opt + ": '" + v + "' is not a number");
	return n;
}

}  // namespace

uint64_t kernel_dev(unsigned major, unsigned minor)
{
	return (uint64_t(major) << 20) | minor;
}

dtprobe::Filters resolve_filters(const FilterArgs &a, FilterFor use)
{
	dtprobe::Filters f;
	if (!a.pid.empty()) {
		uint64_t pid = parse_number("-p/--pid", a.pid);
		struct stat st;
		if (use == FilterFor::Live && (pid == 0 || stat(("/proc/" + a.pid).c_str(), &st) != 0))
			throw UsageError("-p/--pid: no process " + a.pid);
		if (pid == 0 || pid > 4194304)   // PID_MAX_LIMIT
			throw UsageError("-p/--pid: '" + a.pid + "' is not a process id (1 to 4194304)");
		f.pid = uint32_t(pid);
	}
	if (!a.ino.empty()) {
		f.ino = parse_number("--ino", a.ino);
		if (f.ino == 0)
			throw UsageError("--ino: inode numbers start at 1");
	}
	if (!a.dev.empty()) {
		// MAJ:MIN, a block device (its st_rdev), or any path on the
		// filesystem to watch (its st_dev).
		auto colon = a.dev.find(':');
		struct stat st;
		if (colon != std::string::npos && a.dev[0] != '/') {
			unsigned maj = unsigned(parse_number("--dev", a.dev.substr(0, colon)));
			unsigned min = unsigned(parse_number("--dev", a.dev.substr(colon + 1)));
			f.dev = kernel_dev(maj, min);
		} else if (stat(a.dev.c_str(), &st) == 0) {
			// A character device or fifo is a typo for a block device
			// (--dev /dev/null would watch devtmpfs, which has no DAX).
			if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
				throw UsageError("--dev: '" + a.dev + "' is a " +
						 (S_ISCHR(st.st_mode) ? "character device" : "fifo or socket") +
						 "; give a block device, MAJ:MIN, or a path on the mounted filesystem");
			dev_t d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
			f.dev = kernel_dev(major(d), minor(d));
		} else {
			throw UsageError("--dev: '" + a.dev + "' is neither MAJ:MIN nor an existing path (" +
					 std::strerror(errno) + ")");
		}
	}
	if (!a.cgroup.empty()) {
		// A cgroup v2 id is the inode number of its directory.
		struct stat st;
		struct statfs sfs;
		if (stat(a.cgroup.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
			throw UsageError("--cgroup: '" + a.cgroup + "' is not a directory");
		if (statfs(a.cgroup.c_str(), &sfs) != 0 || sfs.f_type != kCgroup2Magic)
			throw UsageError("--cgroup: '" + a.cgroup +
					 "' is not in a cgroup v2 hierarchy (e.g. /sys/fs/cgroup/...)");
		f.cgroup_id = st.st_ino;
	}
	return f;
}

bool event_passes(const dtprobe::Filters &f, uint64_t dev, uint64_t ino, uint32_t pid)
{
	// Events a hook could not attribute (dev/ino 0, e.g. block zeroing)
	// pass: dropping them would blind the rules that match them by sector.
	if (f.dev && dev && dev != f.dev)
		return false;
	if (f.ino && ino && ino != f.ino)
		return false;
	return !(f.pid && pid && pid != f.pid);
}

}  // namespace dtcli
