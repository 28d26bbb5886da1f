/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * daxtrace event ABI: the one definition shared by the BPF programs
 * (the bpf/ programs, compiled with vmlinux.h) and the C++ analyzer.
 * The names behind its enums live in daxtrace_registry.def.
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

/* Race classes, as bits: Z zeroing vs. faults, W writeback vs. first
 * write, L layout break vs. DMA pins, T fault vs. truncate (docs/). */
#define DT_CLASS_Z	(1u << 0)
#define DT_CLASS_W	(1u << 1)
#define DT_CLASS_L	(1u << 2)
#define DT_CLASS_T	(1u << 3)

/* What happened: generated from daxtrace_registry.def (append only). */
enum dt_type {
	DT_NONE = 0,
#define DT_TYPE(id, what) DT_##id,
#include "daxtrace_registry.def"
	DT_TYPE_MAX
};

/* A bit per event type, for the registry's "emits" column. */
#define DT_E(id) (1ull << DT_##id)

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
 * Which kernel hook point produced an event, so a finding's evidence can
 * say how each step was seen and coverage can be reported per hook.
 * Generated from daxtrace_registry.def (append only).
 */
enum dt_hook {
	DT_HOOK_NONE = 0,
#define DT_HOOK(id, group, tier, symbol, fs, emits) DT_HOOK_##id,
#define DT_HOOK_SYNTH(id, name, emits) DT_HOOK_##id,
#define DT_HOOK_RETIRED(id, name) DT_HOOK_##id,
#include "daxtrace_registry.def"
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

/* Per-CPU counters that the BPF side keeps (struct dt_cpu_slot in
 * daxtrace_ring.h) and the loader reports, one struct per CPU.  Drops are
 * never silent. */
struct dt_cpu_stats {
	__u64 emitted;			/* events written to the ring buffer */
	__u64 dropped;			/* bpf_ringbuf_reserve() failed */
	__u64 filtered;			/* rejected by a dev/ino/pid/cgroup filter */
	__u64 folded;			/* not sent: said by another event (idle
					 * disassociation after its deletion) */
	__u64 joined;			/* PTE faults sent as one record
					 * (struct dt_rec_fault) */
};

#ifdef __cplusplus
static_assert(sizeof(struct dt_event) == DT_EVENT_SIZE,
	      "dt_event layout is part of the trace-file ABI");
#endif

#endif /* DAXTRACE_ABI_H */
