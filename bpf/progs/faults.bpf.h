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

static __always_inline void tp_fault(struct inode *inode, struct vm_fault *vmf,
				     int result, __u16 type, __u16 hook,
				     __u32 pmd, bool direct)
{
	struct dt_event e;
	__u32 fl = READ_KERNEL(direct, vmf, flags);

	ev_init(&e, type, hook);
	ev_inode_read(&e, inode, direct);
	e.pgoff = READ_KERNEL(direct, vmf, pgoff);
	e.nr_pages = pmd ? 512 : 1;
	e.flags = pmd;
	if (fl & fault_flag_write())
		e.flags |= DT_F_WRITE;
	if (type == DT_FAULT_EXIT)
		e.ret = result;
	ev_emit(&e);
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
static __always_inline void fn_fault_enter(struct vm_fault *vmf, __u64 size)
{
	struct dt_event e;
	bool pmd;

	if (bpf_core_type_exists(enum page_entry_size___dt))
		pmd = size == 1;
	else
		pmd = size > 0;
	ev_init(&e, DT_FAULT_ENTER, DT_HOOK_FN_DAX_FAULT);
	ev_inode(&e, vmf_inode(vmf));
	e.pgoff = BPF_CORE_READ(vmf, pgoff);
	e.nr_pages = pmd ? 512 : 1;
	e.flags = pmd ? DT_F_PMD : 0;
	if (BPF_CORE_READ(vmf, flags) & fault_flag_write())
		e.flags |= DT_F_WRITE;
	ev_enter(&e);
}

SEC("fentry/dax_iomap_fault")
int BPF_PROG(fe_dax_iomap_fault, struct vm_fault *vmf, __u64 size)
{
	fn_fault_enter(vmf, size);
	return 0;
}

SEC("fexit/dax_iomap_fault")
int BPF_PROG(fx_dax_iomap_fault, struct vm_fault *vmf, __u64 size, void *pfnp,
	     void *errp, void *ops, unsigned int ret)
{
	ev_exit(DT_HOOK_FN_DAX_FAULT, DT_FAULT_EXIT, ret);
	return 0;
}

SEC("kprobe/dax_iomap_fault")
int BPF_KPROBE(kp_dax_iomap_fault, struct vm_fault *vmf, __u64 size)
{
	fn_fault_enter(vmf, size);
	return 0;
}

SEC("kretprobe/dax_iomap_fault")
int BPF_KRETPROBE(kr_dax_iomap_fault, unsigned int ret)
{
	ev_exit(DT_HOOK_FN_DAX_FAULT, DT_FAULT_EXIT, ret);
	return 0;
}

#endif /* DAXTRACE_FAULTS_BPF_H */
