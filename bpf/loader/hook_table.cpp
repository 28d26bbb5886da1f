// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "hook_table.h"

namespace dtprobe {
namespace {

constexpr unsigned Z = kClassZ, W = kClassW, L = kClassL, T = kClassT;
using M = Mechanism;

// Tracepoint hooks: tp_btf, then raw_tp, with the same programs' bodies.
#define TPS(...) {M::TpBtf, {__VA_ARGS__}}
#define RAWS(...) {M::RawTp, {__VA_ARGS__}}
#define FENTRY(...) {M::Fentry, {__VA_ARGS__}}
#define KPROBE(...) {M::Kprobe, {__VA_ARGS__}}

const std::vector<HookDef> kHooks = {
	// ---- faults
	{"dax_fault", "DAX page faults (PTE and PMD), read/write, result",
	 Z | W | T, Z | W | T, "", false,
	 {TPS("btf_dax_pte_fault", "btf_dax_pte_fault_done", "btf_dax_pmd_fault",
	      "btf_dax_pmd_fault_done"),
	  RAWS("raw_dax_pte_fault", "raw_dax_pte_fault_done", "raw_dax_pmd_fault",
	       "raw_dax_pmd_fault_done"),
	  FENTRY("fe_dax_iomap_fault", "fx_dax_iomap_fault"),
	  KPROBE("kp_dax_iomap_fault", "kr_dax_iomap_fault")}},
	{"iomap", "the fs mapping answer (get_block): iomap type, IOMAP_F_NEW, sector",
	 Z | T, Z, "", false,
	 {TPS("btf_iomap_iter_dstmap"), RAWS("raw_iomap_iter_dstmap"),
	  FENTRY("fx_iomap_iter"), KPROBE("kp_iomap_iter", "kr_iomap_iter"),
	  FENTRY("fx_ext4_iomap_begin", "fx_xfs_direct_write_iomap_begin"),
	  KPROBE("kp_ext4_iomap_begin", "kr_ext4_iomap_begin",
		 "kp_xfs_direct_write_iomap_begin", "kr_xfs_direct_write_iomap_begin")}},
	// ---- Z: zeroing
	{"zero_blkdev", "blkdev_issue_zeroout (sector range, no inode)", Z, 0, "", false,
	 {FENTRY("fe_blkdev_issue_zeroout"), KPROBE("kp_blkdev_issue_zeroout")}},
	{"zero_ext4", "ext4_issue_zeroout (file and disk blocks)", Z, 0, "ext4", false,
	 {FENTRY("fe_ext4_issue_zeroout"), KPROBE("kp_ext4_issue_zeroout")}},
	{"zero_xfs", "xfs_zero_extent (disk blocks)", Z, 0, "xfs", false,
	 {FENTRY("fe_xfs_zero_extent"), KPROBE("kp_xfs_zero_extent")}},
	{"zero_dax_range", "dax_zero_range (partial-block zeroing)", Z, 0, "", false,
	 {FENTRY("fe_dax_zero_range"), KPROBE("kp_dax_zero_range")}},
	{"alloc_zero", "zeroing inside the allocator (ext4_alloc_zeroout, xfs_alloc_zero_extent)",
	 Z, 0, "", true,
	 {TPS("btf_ext4_alloc_zeroout", "btf_xfs_alloc_zero_extent"),
	  RAWS("raw_ext4_alloc_zeroout", "raw_xfs_alloc_zero_extent")}},
	// ---- W: first write, writeback
	{"pfn_mkwrite_ext4", "ext4 ->pfn_mkwrite (ext4_dax_fault with FAULT_FLAG_MKWRITE)",
	 W, 0, "ext4", false,
	 {FENTRY("fe_ext4_dax_fault", "fx_ext4_dax_fault"),
	  KPROBE("kp_ext4_dax_fault", "kr_ext4_dax_fault")}},
	{"pfn_mkwrite_xfs", "xfs ->pfn_mkwrite (xfs_filemap_pfn_mkwrite)", W, 0, "xfs", false,
	 {FENTRY("fe_xfs_filemap_pfn_mkwrite", "fx_xfs_filemap_pfn_mkwrite"),
	  KPROBE("kp_xfs_filemap_pfn_mkwrite", "kr_xfs_filemap_pfn_mkwrite")}},
	{"insert_pfn_mkwrite", "dax_insert_pfn_mkwrite (MAP_SYNC fault dirties the entry)",
	 W, 0, "", false,
	 {TPS("btf_dax_insert_pfn_mkwrite"), RAWS("raw_dax_insert_pfn_mkwrite")}},
	{"entry_mkdirty", "entry tagged dirty by a write fault (dax_entry_mkdirty)",
	 W, 0, "", true,
	 {TPS("btf_dax_entry_mkdirty"), RAWS("raw_dax_entry_mkdirty")}},
	{"writeback_range", "DAX writeback of a range (fsync/msync)", W, W, "", false,
	 {TPS("btf_dax_writeback_range", "btf_dax_writeback_range_done"),
	  RAWS("raw_dax_writeback_range", "raw_dax_writeback_range_done"),
	  FENTRY("fe_dax_writeback_mapping_range", "fx_dax_writeback_mapping_range"),
	  KPROBE("kp_dax_writeback_mapping_range", "kr_dax_writeback_mapping_range")}},
	{"writeback_one", "one entry flushed (dax_writeback_one; the function is inlined)",
	 W, 0, "", false,
	 {TPS("btf_dax_writeback_one"), RAWS("raw_dax_writeback_one")}},
	{"entry_mkclean", "writeback write-protects and cleans an entry (dax_entry_mkclean)",
	 W, 0, "", true,
	 {TPS("btf_dax_entry_mkclean"), RAWS("raw_dax_entry_mkclean")}},
	{"fsync", "vfs_fsync_range on DAX files (fsync, msync)", W, 0, "", false,
	 {FENTRY("fe_vfs_fsync_range", "fx_vfs_fsync_range"),
	  KPROBE("kp_vfs_fsync_range", "kr_vfs_fsync_range")}},
	// ---- L: layout breaks
	{"break_ext4", "ext4_break_layouts", L, 0, "ext4", false,
	 {FENTRY("fe_ext4_break_layouts", "fx_ext4_break_layouts"),
	  KPROBE("kp_ext4_break_layouts", "kr_ext4_break_layouts")}},
	{"break_xfs", "xfs_break_layouts, xfs_break_dax_layouts", L, 0, "xfs", false,
	 {FENTRY("fe_xfs_break_layouts", "fx_xfs_break_layouts",
		 "fe_xfs_break_dax_layouts", "fx_xfs_break_dax_layouts"),
	  KPROBE("kp_xfs_break_layouts", "kr_xfs_break_layouts",
		 "kp_xfs_break_dax_layouts", "kr_xfs_break_dax_layouts")}},
	{"busy_scan", "dax_layout_busy_page_range: answer and busy page refcount",
	 L, L, "", false,
	 {FENTRY("fx_dax_layout_busy_page_range"),
	  KPROBE("kp_dax_layout_busy_page_range", "kr_dax_layout_busy_page_range")}},
	{"layout_break", "dax_layout_break_begin/end tracepoints", L, 0, "", true,
	 {TPS("btf_dax_layout_break_begin", "btf_dax_layout_break_end"),
	  RAWS("raw_dax_layout_break_begin", "raw_dax_layout_break_end")}},
	{"busy_page", "dax_busy_page tracepoint (busy page and its refcount)", L, 0, "", true,
	 {TPS("btf_dax_busy_page"), RAWS("raw_dax_busy_page")}},
	{"layout_wait", "dax_layout_wait tracepoint (sleeping on a busy page)", L, 0, "", true,
	 {TPS("btf_dax_layout_wait"), RAWS("raw_dax_layout_wait")}},
	// ---- L/T: block removal
	{"remove_ext4", "ext4 punch/collapse/insert/zero range, truncate, SWAP_BOOT",
	 L | T, 0, "ext4", false,
	 {FENTRY("fe_ext4_fallocate", "fx_ext4_fallocate", "fe_ext4_setattr",
		 "fx_ext4_setattr", "fe_ext4_ioctl", "fx_ext4_ioctl"),
	  KPROBE("kp_ext4_fallocate", "kr_ext4_fallocate", "kp_ext4_setattr",
		 "kr_ext4_setattr", "kp_ext4_ioctl", "kr_ext4_ioctl"),
	  FENTRY("fe_ext4_punch_hole", "fx_ext4_punch_hole"),
	  KPROBE("kp_ext4_punch_hole", "kr_ext4_punch_hole")}},
	{"remove_xfs", "xfs punch/collapse/insert/zero range, truncate, SWAPEXT",
	 L | T, 0, "xfs", false,
	 {FENTRY("fe_xfs_file_fallocate", "fx_xfs_file_fallocate", "fe_xfs_vn_setattr",
		 "fx_xfs_vn_setattr", "fe_xfs_swap_extents", "fx_xfs_swap_extents"),
	  KPROBE("kp_xfs_file_fallocate", "kr_xfs_file_fallocate", "kp_xfs_vn_setattr",
		 "kr_xfs_vn_setattr", "kp_xfs_swap_extents", "kr_xfs_swap_extents")}},
	{"entry_delete", "dax_delete_mapping_entry", L | T, 0, "", false,
	 {FENTRY("fe_dax_delete_mapping_entry"), KPROBE("kp_dax_delete_mapping_entry")}},
	{"disassociate", "entry disassociated from its page, with the page refcount",
	 L, 0, "", false,
	 {TPS("btf_dax_entry_disassociate"), RAWS("raw_dax_entry_disassociate"),
	  FENTRY("fe_dax_disassociate_entry"), KPROBE("kp_dax_disassociate_entry")}},
};

}  // namespace

const std::vector<HookDef> &hook_table() { return kHooks; }

}  // namespace dtprobe
