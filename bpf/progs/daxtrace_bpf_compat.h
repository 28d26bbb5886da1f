/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel types the BPF programs need that vmlinux.h may not have: types of
 * modules (xfs.ko on Debian) and types that exist only in some kernel
 * versions.  Declared as CO-RE "flavours" (the ___dt suffix is ignored when
 * libbpf matches them against the running kernel's BTF, module BTF
 * included), with only the fields we read.
 */
#ifndef DAXTRACE_BPF_COMPAT_H
#define DAXTRACE_BPF_COMPAT_H

/*
 * xfs is a module on Debian kernels, so its types are not in vmlinux BTF
 * (the vmlinux.h we compile against) but in /sys/kernel/btf/xfs.  libbpf
 * relocates against module BTF since the kernel exposes it, commit
 * 36e68442d1af ("bpf: Load and verify kernel module BTFs", v5.11).
 */
struct xfs_sb___dt {
	__u32 sb_agblocks;
	__u8 sb_agblklog;
	__u8 sb_blocklog;
} __attribute__((preserve_access_index));

struct xfs_mount___dt {
	struct xfs_sb___dt m_sb;
} __attribute__((preserve_access_index));

struct xfs_inode___dt {
	struct xfs_mount___dt *i_mount;
	struct inode i_vnode;
} __attribute__((preserve_access_index));

/*
 * 6.1's dax_iomap_fault() takes enum page_entry_size (PE_SIZE_PMD = 1);
 * commit 1d024e7a8dab ("mm: remove enum page_entry_size", v6.6) made it a
 * page order (PMD_ORDER = 9).  Whether the enum exists tells which.
 */
enum page_entry_size___dt {
	PE_SIZE_PTE___dt = 0,
	PE_SIZE_PMD___dt = 1,
	PE_SIZE_PUD___dt = 2,
};

/* "mm: rename page->index to page->__folio_index" (Matthew Wilcox, v6.16)
 * renamed the field the busy-page and disassociate hooks read. */
struct page___old {
	unsigned long index;
} __attribute__((preserve_access_index));

struct page___new {
	unsigned long __folio_index;
} __attribute__((preserve_access_index));

/*
 * The CPU a task runs on: thread_info.cpu since commit bcf9033e5449
 * ("sched: move CPU field back into thread_info if THREAD_INFO_IN_TASK",
 * v5.16), task_struct.cpu before.
 */
struct thread_info___dt {
	__u32 cpu;
} __attribute__((preserve_access_index));

struct task_struct___ti {
	struct thread_info___dt thread_info;
} __attribute__((preserve_access_index));

struct task_struct___cpu {
	unsigned int cpu;
} __attribute__((preserve_access_index));

#endif
