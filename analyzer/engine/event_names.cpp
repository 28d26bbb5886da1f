// Names for the ABI's enums (JSON output, evidence, trace headers).
#include <array>
#include <cstring>

#include "daxtrace/events.h"

namespace daxtrace {

namespace {

constexpr std::string_view kTypes[] = {
	"DT_NONE", "DT_FAULT_ENTER", "DT_FAULT_EXIT", "DT_IOMAP", "DT_ZERO",
	"DT_MKWRITE_ENTER", "DT_MKWRITE_DIRTY", "DT_MKWRITE_EXIT", "DT_WB_RANGE_ENTER",
	"DT_WB_ENTRY", "DT_WB_RANGE_EXIT", "DT_FSYNC_ENTER", "DT_FSYNC_EXIT",
	"DT_BREAK_ENTER", "DT_BREAK_BUSY", "DT_BREAK_WAIT", "DT_BREAK_EXIT",
	"DT_BUSY_SCAN", "DT_REMOVE_ENTER", "DT_REMOVE_EXIT", "DT_ENTRY_DELETE",
	"DT_ENTRY_DISASSOC", "DT_LOST",
};

constexpr std::string_view kHooks[] = {
	"none",
	"tp:dax_pte_fault", "tp:dax_pte_fault_done", "tp:dax_pmd_fault", "tp:dax_pmd_fault_done",
	"tp:dax_insert_pfn_mkwrite", "tp:dax_writeback_range", "tp:dax_writeback_range_done",
	"tp:dax_writeback_one",
	"fn:iomap_iter", "fn:ext4_iomap_begin", "fn:xfs_direct_write_iomap_begin",
	"fn:blkdev_issue_zeroout", "fn:ext4_issue_zeroout", "fn:xfs_zero_extent",
	"fn:dax_zero_range", "fn:ext4_dax_pfn_mkwrite", "fn:xfs_dax_pfn_mkwrite",
	"fn:dax_writeback_mapping_range", "fn:vfs_fsync_range", "fn:ext4_break_layouts",
	"fn:xfs_break_layouts", "fn:xfs_break_dax_layouts", "fn:dax_layout_busy_page_range",
	"fn:ext4_punch_hole", "fn:ext4_setattr", "fn:xfs_free_file_space",
	"fn:truncate_inode_pages_range", "fn:dax_delete_mapping_entry",
	"fn:dax_disassociate_entry", "fn:dax_iomap_fault", "fn:ext4_ioctl",
	"fn:xfs_swap_extents", "fn:ext4_fallocate", "fn:xfs_file_fallocate",
	"tp:dax_alloc_zero", "tp:dax_mkwrite_dirty", "tp:dax_entry_mkclean",
	"tp:dax_break_begin", "tp:dax_break_end", "tp:dax_break_busy", "tp:dax_break_wait",
	"tp:dax_disassociate", "user", "tp:iomap_iter_dstmap", "fn:xfs_vn_setattr",
};

// A name for every value: appending to the ABI's enums without naming the
// new value here must not compile.
static_assert(std::size(kTypes) == DT_TYPE_MAX, "name every enum dt_type value");
static_assert(std::size(kHooks) == DT_HOOK_MAX, "name every enum dt_hook value");

constexpr std::string_view kRemoveOps[] = {
	"unknown", "truncate", "punch", "zero_range", "collapse", "insert",
	"swap_boot", "swapext", "pagecache",
};
constexpr std::string_view kZeroOps[] = {
	"unknown", "blkdev", "ext4", "xfs", "dax_range", "alloc",
};

} // namespace

std::string_view type_name(uint16_t t) { return t < std::size(kTypes) ? kTypes[t] : "DT_UNKNOWN"; }
std::string_view hook_name(uint16_t h) { return h < std::size(kHooks) ? kHooks[h] : "unknown"; }
std::string_view remove_op_name(uint16_t op) {
	return op < std::size(kRemoveOps) ? kRemoveOps[op] : "unknown";
}
std::string_view zero_op_name(uint16_t op) {
	return op < std::size(kZeroOps) ? kZeroOps[op] : "unknown";
}
uint16_t hook_from_name(std::string_view n) {
	for (size_t i = 0; i < std::size(kHooks); ++i)
		if (kHooks[i] == n)
			return uint16_t(i);
	return DT_HOOK_MAX;
}

namespace {
struct Group {
	std::string_view name;
	std::initializer_list<uint16_t> hooks;
};
// bpf/hook_table.cpp's groups -> the dt_hooks their programs emit.
const Group kGroups[] = {
	{"dax_fault", {DT_HOOK_TP_PTE_FAULT, DT_HOOK_TP_PTE_FAULT_DONE, DT_HOOK_TP_PMD_FAULT,
		       DT_HOOK_TP_PMD_FAULT_DONE, DT_HOOK_FN_DAX_FAULT}},
	{"iomap", {DT_HOOK_TP_IOMAP_DSTMAP, DT_HOOK_FN_IOMAP_ITER, DT_HOOK_FN_EXT4_IOMAP_BEGIN, DT_HOOK_FN_XFS_IOMAP_BEGIN}},
	{"zero_blkdev", {DT_HOOK_FN_BLKDEV_ZEROOUT}},
	{"zero_ext4", {DT_HOOK_FN_EXT4_ZEROOUT}},
	{"zero_xfs", {DT_HOOK_FN_XFS_ZERO_EXTENT}},
	{"zero_dax_range", {DT_HOOK_FN_DAX_ZERO_RANGE}},
	{"alloc_zero", {DT_HOOK_TP_ALLOC_ZERO}},
	{"pfn_mkwrite_ext4", {DT_HOOK_FN_EXT4_PFN_MKWRITE}},
	{"pfn_mkwrite_xfs", {DT_HOOK_FN_XFS_PFN_MKWRITE}},
	{"insert_pfn_mkwrite", {DT_HOOK_TP_INSERT_PFN_MKWRITE}},
	{"entry_mkdirty", {DT_HOOK_TP_MKWRITE_DIRTY}},
	{"writeback_range", {DT_HOOK_TP_WRITEBACK_RANGE, DT_HOOK_TP_WRITEBACK_RANGE_DONE,
			     DT_HOOK_FN_DAX_WRITEBACK_RANGE}},
	{"writeback_one", {DT_HOOK_TP_WRITEBACK_ONE}},
	{"entry_mkclean", {DT_HOOK_TP_ENTRY_MKCLEAN}},
	{"fsync", {DT_HOOK_FN_VFS_FSYNC_RANGE}},
	{"break_ext4", {DT_HOOK_FN_EXT4_BREAK_LAYOUTS}},
	{"break_xfs", {DT_HOOK_FN_XFS_BREAK_LAYOUTS, DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS}},
	{"busy_scan", {DT_HOOK_FN_BUSY_PAGE_RANGE}},
	{"layout_break", {DT_HOOK_TP_BREAK_BEGIN, DT_HOOK_TP_BREAK_END}},
	{"busy_page", {DT_HOOK_TP_BREAK_BUSY}},
	{"layout_wait", {DT_HOOK_TP_BREAK_WAIT}},
	{"remove_ext4", {DT_HOOK_FN_EXT4_PUNCH_HOLE, DT_HOOK_FN_EXT4_SETATTR, DT_HOOK_FN_EXT4_IOCTL,
			 DT_HOOK_FN_EXT4_FALLOCATE}},
	{"remove_xfs", {DT_HOOK_FN_XFS_FREE_FILE_SPACE, DT_HOOK_FN_XFS_SWAP_EXTENTS, DT_HOOK_FN_XFS_SETATTR,
			DT_HOOK_FN_XFS_FALLOCATE}},
	{"entry_delete", {DT_HOOK_FN_DELETE_MAPPING_ENTRY, DT_HOOK_FN_TRUNCATE_PAGES_RANGE}},
	{"disassociate", {DT_HOOK_FN_DISASSOCIATE_ENTRY, DT_HOOK_TP_DISASSOCIATE}},
};
} // namespace

std::bitset<DT_HOOK_MAX> hooks_from_names(const std::vector<std::string> &names) {
	std::bitset<DT_HOOK_MAX> b;
	for (const auto &full : names) {
		if (uint16_t h = hook_from_name(full); h < DT_HOOK_MAX) {
			b.set(h);
			continue;
		}
		std::string_view n = full;
		n = n.substr(0, n.find(':'));
		for (const auto &g : kGroups)
			if (g.name == n)
				for (uint16_t h : g.hooks)
					b.set(h);
	}
	return b;
}

bool fault_mapped(int64_t ret) {
	// VM_FAULT_OOM 0x1, SIGBUS 0x2, HWPOISON 0x10, HWPOISON_LARGE 0x20,
	// SIGSEGV 0x40, RETRY 0x400, FALLBACK 0x800, NEEDDSYNC 0x2000.
	constexpr int64_t kNotMapped = 0x1 | 0x2 | 0x10 | 0x20 | 0x40 | 0x400 | 0x800 | 0x2000;
	return ret >= 0 && !(ret & kNotMapped);
}

dt_event make_lost_event(uint64_t ts, uint16_t cpu, uint64_t count) {
	dt_event e;
	memset(&e, 0, sizeof(e));
	e.ts = ts;
	e.type = DT_LOST;
	e.hook = DT_HOOK_USER;
	e.cpu = cpu;
	e.ret = int64_t(count);
	e.flags = DT_F_NOINODE;
	return e;
}

} // namespace daxtrace
