/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Z, W, T: DAX page faults.
 *
 * The DAX page fault (PTE and PMD): its start, its end and result.  The
 * fs_dax fault tracepoints, else dax_iomap_fault() itself.
 */
#ifndef DAXTRACE_FAULTS_BPF_H
#define DAXTRACE_FAULTS_BPF_H

#include "core.bpf.h"

#define DT_EXT4_SUPER_MAGIC 0xEF53

static __always_inline void tp_fault(struct inode *inode, struct vm_fault *vmf,
				     int result, __u8 type, __u8 hook,
				     __u16 pmd, bool direct)
{
	struct dt_out o;
	__u32 fl = READ_KERNEL(direct, vmf, flags);
	__u16 flags = pmd;
	__u32 nev = 1;

	if (fl & fault_flag_write())
		flags |= DT_F_WRITE;
	/* ext4's ->pfn_mkwrite (see mkwrite_from_fault_tp): a PTE fault with
	 * FAULT_FLAG_MKWRITE on ext4 stands for its MKWRITE_ENTER/EXIT too. */
	if (mkwrite_from_fault_tp && !pmd && (fl & fault_flag_mkwrite()) && inode &&
	    READ_KERNEL(direct, inode, i_sb, s_magic) == DT_EXT4_SUPER_MAGIC) {
		flags |= DT_RF_MKWRITE;
		nev = 2;
	}
	if (!rec_open_inode(&o, type, hook, inode, direct, flags, false, nev))
		return;
	o.r->pgoff = READ_KERNEL(direct, vmf, pgoff);
	o.r->nr_pages = pmd ? 512 : 1;
	if (type == DT_FAULT_EXIT)
		o.r->ret = result;
	rec_submit(&o);
}

TRACEPOINT_PROGS(dax_pte_fault, (struct inode *inode, struct vm_fault *vmf, int result),
	tp_fault(inode, vmf, result, DT_FAULT_ENTER, DT_HOOK_TP_PTE_FAULT, 0, direct))
TRACEPOINT_PROGS(dax_pte_fault_done, (struct inode *inode, struct vm_fault *vmf, int result),
	tp_fault(inode, vmf, result, DT_FAULT_EXIT, DT_HOOK_TP_PTE_FAULT_DONE, 0, direct))
TRACEPOINT_PROGS(dax_pmd_fault, (struct inode *inode, struct vm_fault *vmf,
	unsigned long max_pgoff, int result),
	tp_fault(inode, vmf, result, DT_FAULT_ENTER, DT_HOOK_TP_PMD_FAULT, DT_F_PMD, direct))
TRACEPOINT_PROGS(dax_pmd_fault_done, (struct inode *inode, struct vm_fault *vmf,
	unsigned long max_pgoff, int result),
	tp_fault(inode, vmf, result, DT_FAULT_EXIT, DT_HOOK_TP_PMD_FAULT_DONE, DT_F_PMD, direct))

/*
 * dax_iomap_fault(vmf, pe_size | order, ...): 6.1 passes enum
 * page_entry_size (PE_SIZE_PMD = 1), newer kernels pass the page order
 * (PMD_ORDER = 9).  Which one this kernel has is a CO-RE question.
 */
static __always_inline void fn_fault_enter(struct vm_fault *vmf, __u64 size,
					   bool direct)
{
	bool pmd;

	if (bpf_core_type_exists(enum page_entry_size___dt))
		pmd = size == 1;
	else
		pmd = size > 0;
	ev_enter(DT_FAULT_ENTER, DT_HOOK_FN_DAX_FAULT, vmf_inode(vmf, direct), direct,
		 (pmd ? DT_F_PMD : 0) |
		 ((READ_KERNEL(direct, vmf, flags) & fault_flag_write()) ? DT_F_WRITE : 0),
		 0, READ_KERNEL(direct, vmf, pgoff), pmd ? 512 : 1, 0);
}

FENTRY_AND_KPROBE(dax_iomap_fault, (struct vm_fault *vmf, __u64 size),
	fn_fault_enter(vmf, size, direct))
BRACKET_EXIT_PROGS(dax_iomap_fault, DT_HOOK_FN_DAX_FAULT, DT_FAULT_EXIT,
		   (struct vm_fault *vmf, __u64 size, void *pfnp, void *errp,
		   void *ops, unsigned int ret))

#endif /* DAXTRACE_FAULTS_BPF_H */
