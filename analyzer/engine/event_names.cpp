// Trace-header hook lists -> the dt_hooks they cover.  Names and groups
// come from the registry (bpf/abi/daxtrace_registry.def).
#include "daxtrace/events.h"

namespace daxtrace {

namespace {

// Hook names the engine printed before the registry ("tp:" / "fn:" + the
// kernel's event or function name) that do not equal a registry hook's
// target: the hooks the registry renamed to their real kernel symbols.
struct Renamed {
	std::string_view old_name;
	uint16_t hook;
};
constexpr Renamed kRenamed[] = {
	{"fn:ext4_dax_pfn_mkwrite", DT_HOOK_FN_EXT4_PFN_MKWRITE},
	{"fn:xfs_dax_pfn_mkwrite", DT_HOOK_FN_XFS_PFN_MKWRITE},
	{"tp:dax_alloc_zero", DT_HOOK_TP_ALLOC_ZERO},
	{"tp:dax_mkwrite_dirty", DT_HOOK_TP_MKWRITE_DIRTY},
	{"tp:dax_break_begin", DT_HOOK_TP_BREAK_BEGIN},
	{"tp:dax_break_end", DT_HOOK_TP_BREAK_END},
	{"tp:dax_break_busy", DT_HOOK_TP_BREAK_BUSY},
	{"tp:dax_break_wait", DT_HOOK_TP_BREAK_WAIT},
	{"tp:dax_disassociate", DT_HOOK_TP_DISASSOCIATE},
	{"user", DT_HOOK_USER},
};

uint16_t legacy_hook(std::string_view n)
{
	for (const Renamed &r : kRenamed)
		if (r.old_name == n)
			return r.hook;
	bool tp = n.starts_with("tp:"), fn = n.starts_with("fn:");
	if (!tp && !fn)
		return DT_HOOK_MAX;
	std::string_view target = n.substr(3);
	for (const dtabi::HookInfo &h : dtabi::hooks())
		if (h.target() == target &&
		    h.kind == (tp ? dtabi::HookKind::Tracepoint : dtabi::HookKind::Function))
			return h.id;
	// Retired hooks kept their function name and "fn:".
	for (const dtabi::HookInfo &h : dtabi::hooks())
		if (fn && h.kind == dtabi::HookKind::Retired && h.name == target)
			return h.id;
	return DT_HOOK_MAX;
}

} // namespace

std::bitset<DT_HOOK_MAX> hooks_from_names(const std::vector<std::string> &names)
{
	std::bitset<DT_HOOK_MAX> b;
	for (const std::string &full : names) {
		std::string_view n = full;
		n = n.substr(0, n.find('@'));
		// A registry name first: "iomap:iomap_iter_dstmap" is a hook even
		// though "iomap" is also a group.
		uint16_t h = dtabi::hook_from_name(n);
		if (h == DT_HOOK_MAX)
			h = legacy_hook(n);
		if (h < DT_HOOK_MAX) {
			b.set(h);
			continue;
		}
		const dtabi::GroupInfo *g = dtabi::group_by_name(n.substr(0, n.find(':')));
		if (!g)
			continue;
		uint16_t gid = dtabi::group_id(*g);
		for (const dtabi::HookInfo &hi : dtabi::hooks())
			if (hi.group == gid)
				b.set(hi.id);
	}
	return b;
}

} // namespace daxtrace
