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

/*
 * FAULT_ENTER of a PTE fault, held in the CPU's dt_held instead of sent
 * (join_faults): what the task reports until the fault ends joins it, and
 * fault_join_send() sends it all as one record.
 */
static __always_inline void fault_hold(struct inode *inode, __u64 pgoff, __u8 hook,
				       __u16 flags, __u32 nev, bool direct)
{
	struct dt_out o;
	struct dt_held *h;
	__u32 dev;
	__u64 ino;

	inode_ids(inode, direct, &dev, &ino, &flags);
	if (rec_admit(&o, dev, ino, flags, nev, NULL, false) != DT_OPEN_OK)
		return;
	h = held_slot(o.task);
	if (h->task)		/* not ended, yet still on the CPU: send it */
		held_flush(h, o.s);
	__builtin_memset(&h->rec.enter, 0, sizeof(h->rec.enter));
	rec_head(&h->rec.enter, &o, DT_FAULT_ENTER, hook, dev, ino, flags);
	h->rec.enter.pgoff = pgoff;
	h->rec.enter.nr_pages = 1;
	h->nev = nev;
	h->task = (__u64)o.task;
}

/*
 * The end of a PTE fault: if current holds it, send the whole fault as
 * one struct dt_rec_fault and say so.  A held fault of current for
 * another page (cannot happen: faults do not nest) is sent part by part.
 */
static __always_inline bool fault_join_send(__u64 pgoff, int result)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_held *h = held_slot(task);
	struct dt_cpu_slot *s;
	struct dt_rec_fault *f;
	__u32 parts, nev;

	if (h->task != (__u64)task)
		return false;
	s = cpu_slot(task);
	if (h->rec.enter.pgoff != pgoff) {
		held_flush(h, s);
		return false;
	}
	parts = h->rec.enter.reserved;
	nev = 2 * h->nev + DT_PART_COUNT(parts);
	f = bpf_ringbuf_reserve(&dt_events, sizeof(*f), 0);
	if (!f) {
		s->dropped += nev;
		h->task = 0;
		return true;
	}
	/* The whole record: copying only the parts present cost more per
	 * run than it saved (bench/BPF.md of commit ee7ead7). */
	__builtin_memcpy(f, &h->rec, sizeof(*f));
	h->task = 0;
	f->exit_ts = bpf_ktime_get_ns();
	f->exit_ret = result;
	s->emitted += nev;
	s->joined++;
	bpf_ringbuf_submit(f, wake_flags(s, sizeof(*f)));
	return true;
}

static __always_inline void tp_fault(struct inode *inode, struct vm_fault *vmf,
				     int result, __u8 type, __u8 hook,
				     __u16 pmd, bool direct)
{
	struct dt_out o;
	__u32 fl = READ_KERNEL(direct, vmf, flags);
	__u64 pgoff = READ_KERNEL(direct, vmf, pgoff);
	__u16 flags = pmd;
	__u32 nev = 1;

	if (join_faults && !pmd && type == DT_FAULT_EXIT && fault_join_send(pgoff, result))
		return;
	if (fl & fault_flag_write())
		flags |= DT_F_WRITE;
	/* ext4's ->pfn_mkwrite (see mkwrite_from_fault_tp): a PTE fault with
	 * FAULT_FLAG_MKWRITE on ext4 stands for its MKWRITE_ENTER/EXIT too. */
	if (mkwrite_from_fault_tp && !pmd && (fl & fault_flag_mkwrite()) && inode &&
	    READ_KERNEL(direct, inode, i_sb, s_magic) == DT_EXT4_SUPER_MAGIC) {
		flags |= DT_RF_MKWRITE;
		nev = 2;
	}
	if (join_faults && !pmd && type == DT_FAULT_ENTER) {
		fault_hold(inode, pgoff, hook, flags, nev, direct);
		return;
	}
	if (!rec_open_inode(&o, type, hook, inode, direct, flags, false, nev))
		return;
	o.r->pgoff = pgoff;
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
 * A task leaving its CPU sends the fault it holds there, part by part,
 * and the deletions it holds there (removal_leave()):
 * holding ends where the fault could start waiting, so no part comes
 * later than the CPU time the fault ran so far (the engine's reorder
 * window is 10 ms).  sched_switch runs with current = prev.
 */
static __always_inline void fault_switch_out(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_held *h = held_slot(task);

	if (h->task)
		held_flush(h, cpu_slot(task));
	if (join_fentry_parts)
		removal_leave(task);
}

TRACEPOINT_PROGS(sched_switch, (bool preempt, struct task_struct *prev),
	fault_switch_out())

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
