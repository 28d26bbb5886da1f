/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * daxtrace event ABI: the one definition shared by the BPF programs
 * (the bpf/ programs, compiled with vmlinux.h) and the C++ analyzer.
 *
 * Every record that crosses the ring buffer, and every record stored in a
 * trace file, is a struct dt_event.  The layout is fixed (no implicit
 * padding, little-endian, 8-byte aligned) so that a trace recorded on one
 * host replays on another.  Any change to the layout or to the meaning of a
 * field bumps DT_ABI_VERSION; trace files carry the version they were
 * written with.
 */
#ifndef DAXTRACE_ABI_H
#define DAXTRACE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DT_ABI_VERSION 1
#define DT_COMM_LEN 16

/*
 * What happened.  Grouped by the race class that needs it (DESIGN.md §1):
 * Z zeroing vs. faults, W writeback vs. pfn_mkwrite, L layout break vs.
 * DMA pins, T fault vs. truncate.  Values are stable: append only.
 */
enum dt_type {
	DT_NONE = 0,

	/* DAX page faults (Z, W, T). pgoff = faulting page; flags DT_F_*. */
	DT_FAULT_ENTER = 1,
	DT_FAULT_EXIT = 2,		/* ret = vm_fault_t result */

	/* The fs mapping callback ("get_block"): iomap_begin's answer. */
	DT_IOMAP = 3,			/* pgoff/len = file range, block = sector,
					 * iomap_type/iomap_flags as in iomap.h */

	/* Zeroing of freshly allocated blocks (Z). block = sector, len = bytes,
	 * op = DT_ZOP_*.  ino is 0 when the zeroing path cannot see the inode
	 * (blkdev_issue_zeroout); the analyzer matches it by sector.
	 * pgoff/nr_pages are the file pages when the hook knows them
	 * (ext4_issue_zeroout, dax_zero_range, the alloc tracepoints), else
	 * 0/0 (blkdev_issue_zeroout, xfs_zero_extent). */
	DT_ZERO = 4,

	/* First write to a read-mapped DAX page (W). */
	DT_MKWRITE_ENTER = 5,		/* fs ->pfn_mkwrite entered */
	DT_MKWRITE_DIRTY = 6,		/* mapping entry tagged dirty (hook
					 * TP_MKWRITE_DIRTY: block = pfn) */
	DT_MKWRITE_EXIT = 7,		/* ret = vm_fault_t */

	/* Writeback of a DAX mapping (W). */
	DT_WB_RANGE_ENTER = 8,		/* pgoff..pgoff+nr_pages */
	DT_WB_ENTRY = 9,		/* one entry flushed and cleaned (PTEs
					 * write-protected, dirty tag cleared);
					 * hook TP_ENTRY_MKCLEAN: block = pfn */
	DT_WB_RANGE_EXIT = 10,
	DT_FSYNC_ENTER = 11,		/* vfs_fsync_range / msync: pgoff range */
	DT_FSYNC_EXIT = 12,

	/* Layout breaks (L). */
	DT_BREAK_ENTER = 13,		/* ext4/xfs break_layouts: range */
	DT_BREAK_BUSY = 14,		/* a busy (pinned) page found: pgoff,
					 * refcount */
	DT_BREAK_WAIT = 15,		/* sleeping until the busy page is idle */
	DT_BREAK_EXIT = 16,		/* ret = 0 or -errno */
	DT_BUSY_SCAN = 17,		/* dax_layout_busy_page_range() answer:
					 * flags DT_F_BUSY if a page was returned,
					 * then refcount = its refcount and ret =
					 * its pgoff; pgoff/nr_pages = scanned
					 * range (nr_pages 0 = to EOF) */

	/* Removal of blocks from an inode's map (L, T). op = DT_ROP_*. */
	DT_REMOVE_ENTER = 18,
	DT_REMOVE_EXIT = 19,
	DT_ENTRY_DELETE = 20,		/* dax_delete_mapping_entry: pgoff */
	DT_ENTRY_DISASSOC = 21,		/* dax_disassociate_entry: pgoff,
					 * refcount, flags DT_F_TRUNC; block =
					 * pfn (function hook) */

	/* Synthesised in user space from the per-CPU drop counters: ret =
	 * number of events lost on cpu since the previous DT_LOST. */
	DT_LOST = 22,

	DT_TYPE_MAX
};

/* Flags (dt_event.flags). */
#define DT_F_WRITE	(1u << 0)	/* write fault */
#define DT_F_PMD	(1u << 1)	/* PMD (2 MiB) fault */
#define DT_F_BUSY	(1u << 2)	/* busy-page scan found a page */
#define DT_F_TRUNC	(1u << 3)	/* disassociation on truncate */
#define DT_F_SYNC	(1u << 4)	/* synchronous fault (MAP_SYNC) */
#define DT_F_DATASYNC	(1u << 5)	/* fdatasync */
#define DT_F_NOINODE	(1u << 6)	/* dev/ino unknown at this hook */

/* Zeroing mechanisms (op of DT_ZERO). */
enum dt_zero_op {
	DT_ZOP_UNKNOWN = 0,
	DT_ZOP_BLKDEV = 1,		/* blkdev_issue_zeroout */
	DT_ZOP_EXT4 = 2,		/* ext4_issue_zeroout */
	DT_ZOP_XFS = 3,			/* xfs_zero_extent */
	DT_ZOP_DAX_RANGE = 4,		/* dax_zero_range / iomap zeroing */
	DT_ZOP_ALLOC = 5,		/* zeroed inside the allocator (new
					 * tracepoint from patches/) */
};

/* Block-removal operations (op of DT_REMOVE_ENTER/EXIT). */
enum dt_remove_op {
	DT_ROP_UNKNOWN = 0,
	DT_ROP_TRUNCATE = 1,
	DT_ROP_PUNCH = 2,
	DT_ROP_ZERO_RANGE = 3,
	DT_ROP_COLLAPSE = 4,
	DT_ROP_INSERT = 5,
	DT_ROP_SWAP_BOOT = 6,		/* EXT4_IOC_SWAP_BOOT */
	DT_ROP_SWAPEXT = 7,		/* XFS_IOC_SWAPEXT */
	DT_ROP_PAGECACHE = 8,		/* truncate_inode_pages_range */
};

/* iomap types and flags, copied in value from include/linux/iomap.h so that
 * the analyzer needs no kernel headers (both have been stable since 4.x). */
#define DT_IOMAP_HOLE		0
#define DT_IOMAP_DELALLOC	1
#define DT_IOMAP_MAPPED		2
#define DT_IOMAP_UNWRITTEN	3
#define DT_IOMAP_INLINE		4
#define DT_IOMAP_F_NEW		(1u << 0)

/*
 * Which probe produced an event.  Recorded so a finding's evidence can say
 * how each step was seen, and so coverage can be reported per hook.
 * Values are stable: append only.
 */
enum dt_hook {
	DT_HOOK_NONE = 0,
	/* existing fs_dax tracepoints */
	DT_HOOK_TP_PTE_FAULT,
	DT_HOOK_TP_PTE_FAULT_DONE,
	DT_HOOK_TP_PMD_FAULT,
	DT_HOOK_TP_PMD_FAULT_DONE,
	DT_HOOK_TP_INSERT_PFN_MKWRITE,
	DT_HOOK_TP_WRITEBACK_RANGE,
	DT_HOOK_TP_WRITEBACK_RANGE_DONE,
	DT_HOOK_TP_WRITEBACK_ONE,
	/* functions (fentry/fexit or kprobe/kretprobe) */
	DT_HOOK_FN_IOMAP_ITER,
	DT_HOOK_FN_EXT4_IOMAP_BEGIN,
	DT_HOOK_FN_XFS_IOMAP_BEGIN,
	DT_HOOK_FN_BLKDEV_ZEROOUT,
	DT_HOOK_FN_EXT4_ZEROOUT,
	DT_HOOK_FN_XFS_ZERO_EXTENT,
	DT_HOOK_FN_DAX_ZERO_RANGE,
	DT_HOOK_FN_EXT4_PFN_MKWRITE,
	DT_HOOK_FN_XFS_PFN_MKWRITE,
	DT_HOOK_FN_DAX_WRITEBACK_RANGE,
	DT_HOOK_FN_VFS_FSYNC_RANGE,
	DT_HOOK_FN_EXT4_BREAK_LAYOUTS,
	DT_HOOK_FN_XFS_BREAK_LAYOUTS,
	DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS,
	DT_HOOK_FN_BUSY_PAGE_RANGE,
	DT_HOOK_FN_EXT4_PUNCH_HOLE,
	DT_HOOK_FN_EXT4_SETATTR,
	DT_HOOK_FN_XFS_FREE_FILE_SPACE,
	DT_HOOK_FN_TRUNCATE_PAGES_RANGE,
	DT_HOOK_FN_DELETE_MAPPING_ENTRY,
	DT_HOOK_FN_DISASSOCIATE_ENTRY,
	DT_HOOK_FN_DAX_FAULT,		/* dax_iomap_fault */
	DT_HOOK_FN_EXT4_IOCTL,		/* ext4_ioctl (SWAP_BOOT) */
	DT_HOOK_FN_XFS_SWAP_EXTENTS,
	DT_HOOK_FN_EXT4_FALLOCATE,
	DT_HOOK_FN_XFS_FALLOCATE,
	/* tracepoints added by patches/ */
	DT_HOOK_TP_ALLOC_ZERO,
	DT_HOOK_TP_MKWRITE_DIRTY,
	DT_HOOK_TP_ENTRY_MKCLEAN,
	DT_HOOK_TP_BREAK_BEGIN,
	DT_HOOK_TP_BREAK_END,
	DT_HOOK_TP_BREAK_BUSY,
	DT_HOOK_TP_BREAK_WAIT,
	DT_HOOK_TP_DISASSOCIATE,
	/* synthesised by user space */
	DT_HOOK_USER,
	/* appended with the probes (bpf/): */
	DT_HOOK_TP_IOMAP_DSTMAP,	/* iomap:iomap_iter_dstmap tracepoint */
	DT_HOOK_FN_XFS_SETATTR,		/* xfs_vn_setattr (truncate) */
	DT_HOOK_MAX
};

struct dt_event {
	__u64 ts;			/* ns, bpf_ktime_get_ns() (MONOTONIC) */
	__u16 type;			/* enum dt_type */
	__u16 hook;			/* enum dt_hook */
	__u16 cpu;
	__u16 op;			/* enum dt_zero_op / dt_remove_op */
	__u32 pid;			/* thread-group id */
	__u32 tid;
	__u64 dev;			/* sb->s_dev, kernel encoding
					 * (major << 20 | minor) */
	__u64 ino;
	__u64 pgoff;			/* first page index in the file */
	__u64 nr_pages;			/* pages covered; 0 = to end of file */
	__u64 block;			/* physical start: 512-byte sector */
	__u64 len;			/* bytes (zeroing, iomap length) */
	__s64 ret;			/* return value, vm_fault_t, or count */
	__u32 flags;			/* DT_F_* */
	__u32 refcount;			/* page refcount (L events) */
	__u16 iomap_type;
	__u16 iomap_flags;
	__u32 reserved;			/* zero; keeps the size a multiple of 8 */
	char comm[DT_COMM_LEN];
};

#define DT_EVENT_SIZE 112

/* Per-CPU counters that the BPF side keeps and user space reads (array map
 * "dt_stats", one struct per CPU).  Drops are never silent. */
struct dt_cpu_stats {
	__u64 emitted;			/* events written to the ring buffer */
	__u64 dropped;			/* bpf_ringbuf_reserve() failed */
	__u64 filtered;			/* rejected by a dev/ino/pid/cgroup filter */
};

#ifdef __cplusplus
static_assert(sizeof(struct dt_event) == DT_EVENT_SIZE,
	      "dt_event layout is part of the trace-file ABI");
#endif

#endif /* DAXTRACE_ABI_H */
