/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * W: first write and writeback.
 *
 * The first write to a read-mapped page (->pfn_mkwrite, entry tagged
 * dirty) and the writeback that cleans it (range, per entry, fsync).
 */
#ifndef DAXTRACE_WRITEBACK_BPF_H
#define DAXTRACE_WRITEBACK_BPF_H

#include "core.bpf.h"

/* ext4's pfn_mkwrite is ext4_dax_fault(), which is also its ->fault and
 * ->page_mkwrite: only the calls flagged FAULT_FLAG_MKWRITE count. */
static __always_inline void mkwrite_enter(struct vm_fault *vmf, __u8 hook,
					  bool need_flag, bool direct)
{
	__u32 fl = READ_KERNEL(direct, vmf, flags);

	if (need_flag && !(fl & fault_flag_mkwrite()))
		return;
	ev_enter(DT_MKWRITE_ENTER, hook, vmf_inode(vmf, direct), direct,
		 DT_F_WRITE, 0, READ_KERNEL(direct, vmf, pgoff), 1, 0);
}

/* The fexit tests the flag again so that ext4's every other fault costs
 * no task-storage lookup; the kretprobe has no vmf, and ev_exit() finds no
 * bracket for those calls. */
#define MKWRITE_PROGS(fn, hook, need_flag)				\
FENTRY_AND_KPROBE(fn, (struct vm_fault *vmf),				\
	mkwrite_enter(vmf, hook, need_flag, direct))			\
SEC("fexit/" #fn)							\
int BPF_PROG(fx_##fn, struct vm_fault *vmf, unsigned int ret)		\
{									\
	if (empty_programs ||						\
	    (need_flag && !(READ_KERNEL(true, vmf, flags) & fault_flag_mkwrite()))) \
		return 0;						\
	ev_exit(hook, DT_MKWRITE_EXIT, ret);				\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int BPF_KRETPROBE(kr_##fn, unsigned int ret)				\
{									\
	if (!empty_programs)						\
		ev_exit(hook, DT_MKWRITE_EXIT, ret);			\
	return 0;							\
}

MKWRITE_PROGS(ext4_dax_fault, DT_HOOK_FN_EXT4_PFN_MKWRITE, true)
MKWRITE_PROGS(xfs_filemap_pfn_mkwrite, DT_HOOK_FN_XFS_PFN_MKWRITE, false)

/* dax_insert_pfn_mkwrite: MAP_SYNC faults dirty the entry after the fsync. */
static __always_inline void tp_insert_mkwrite(struct inode *inode,
					      struct vm_fault *vmf, int result,
					      bool direct)
{
	struct dt_out o;

	if (!rec_open_inode(&o, DT_MKWRITE_DIRTY, DT_HOOK_TP_INSERT_PFN_MKWRITE, inode,
			    direct, DT_F_WRITE | DT_F_SYNC, false, 1))
		return;
	o.r->pgoff = READ_KERNEL(direct, vmf, pgoff);
	o.r->nr_pages = 1;
	o.r->ret = result;
	rec_submit(&o);
}

TRACEPOINT_PROGS(dax_insert_pfn_mkwrite, (struct inode *inode, struct vm_fault *vmf,
	int result), tp_insert_mkwrite(inode, vmf, result, direct))

/*
 * Without the tracepoint (forbidden, or tracepoints compiled out), the
 * same dirtying seen on the return of dax_finish_sync_fault(vmf,
 * pe_size | order, pfn), the exported function that runs the fsync and
 * then dax_insert_pfn_mkwrite(); its second and third arguments changed
 * type over time but each still fills one register, so ret stays fourth.
 */
static __always_inline void sync_fault_done(struct vm_fault *vmf, unsigned int ret,
					    bool direct)
{
	struct dt_out o;

	if (!rec_open_inode(&o, DT_MKWRITE_DIRTY, DT_HOOK_FN_FINISH_SYNC_FAULT,
			    vmf_inode(vmf, direct), direct, DT_F_WRITE | DT_F_SYNC,
			    false, 1))
		return;
	o.r->pgoff = READ_KERNEL(direct, vmf, pgoff);
	o.r->nr_pages = 1;
	o.r->ret = ret;
	rec_submit(&o);
}

SEC("fexit/dax_finish_sync_fault")
int BPF_PROG(fx_dax_finish_sync_fault, struct vm_fault *vmf, __u64 size, __u64 pfn,
	     unsigned int ret)
{
	if (empty_programs)
		return 0;
	sync_fault_done(vmf, ret, true);
	return 0;
}

SEC("kprobe/dax_finish_sync_fault")
int BPF_KPROBE(kp_dax_finish_sync_fault, struct vm_fault *vmf)
{
	if (empty_programs)
		return 0;
	save_args(DT_HOOK_FN_FINISH_SYNC_FAULT, (__u64)vmf, 0, 0);
	return 0;
}

SEC("kretprobe/dax_finish_sync_fault")
int BPF_KRETPROBE(kr_dax_finish_sync_fault, unsigned int ret)
{
	struct dt_args a;

	if (empty_programs)
		return 0;
	if (take_args(DT_HOOK_FN_FINISH_SYNC_FAULT, &a))
		sync_fault_done((struct vm_fault *)a.a[0], ret, false);
	return 0;
}

/*
 * A write fault tags its page's entry dirty before it ends: when current
 * holds that fault, the tagging joins it (DT_PART_DIRTY) as a time and a
 * pfn, the rest of its record being the fault's own.
 */
static __always_inline bool dirty_join(struct inode *inode, __u64 index, __u64 pfn,
				       bool direct)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_held *h = held_slot(task);
	__u16 flags = 0;
	__u32 dev;
	__u64 ino;

	if (!join_faults || h->task != (__u64)task || h->rec.enter.pgoff != index)
		return false;
	inode_ids(inode, direct, &dev, &ino, &flags);
	if (!held_takes(h, task, dev, ino, DT_PART_DIRTY))
		return false;
	h->rec.dirty_ts = bpf_ktime_get_ns();
	h->rec.dirty_pfn = pfn;
	h->rec.enter.reserved |= DT_PART_DIRTY;
	return true;
}

/* New tracepoints (patches/): entry tagged dirty / cleaned. */
static __always_inline void tp_entry(struct inode *inode, __u64 index,
				     __u64 pfn, __u8 type, __u8 hook, bool direct)
{
	struct dt_out o;
	struct dt_rec_ext *x;

	if (type == DT_MKWRITE_DIRTY && dirty_join(inode, index, pfn, direct))
		return;
	if (!rec_open_inode(&o, type, hook, inode, direct,
			    type == DT_MKWRITE_DIRTY ? DT_F_WRITE : 0, true, 1))
		return;
	x = rec_ext(&o);
	x->r.pgoff = index;
	x->r.nr_pages = 1;
	x->block = pfn;		/* pfn, not a sector, for these two hooks */
	rec_submit(&o);
}

TRACEPOINT_PROGS(dax_entry_mkdirty, (struct inode *inode, unsigned long index,
	unsigned long pfn),
	tp_entry(inode, index, pfn, DT_MKWRITE_DIRTY, DT_HOOK_TP_MKWRITE_DIRTY, direct))
TRACEPOINT_PROGS(dax_entry_mkclean, (struct inode *inode, unsigned long index,
	unsigned long pfn),
	tp_entry(inode, index, pfn, DT_WB_ENTRY, DT_HOOK_TP_ENTRY_MKCLEAN, direct))

/* Writeback. */

static __always_inline void tp_wb(struct inode *inode, __u64 start, __u64 end,
				  __u8 type, __u8 hook, bool direct)
{
	struct dt_out o;

	if (!rec_open_inode(&o, type, hook, inode, direct, 0, false, 1))
		return;
	o.r->pgoff = start;
	/* range tracepoints give [start, end]; writeback_one gives a length */
	if (type == DT_WB_ENTRY)
		o.r->nr_pages = end;
	else if (end >= (0x7fffffffffffffffull >> DT_PAGE_SHIFT) || end < start)
		o.r->nr_pages = 0;		/* to the end of the file */
	else
		o.r->nr_pages = end - start + 1;
	rec_submit(&o);
}

TRACEPOINT_PROGS(dax_writeback_range, (struct inode *inode, unsigned long start,
	unsigned long end),
	tp_wb(inode, start, end, DT_WB_RANGE_ENTER, DT_HOOK_TP_WRITEBACK_RANGE, direct))
TRACEPOINT_PROGS(dax_writeback_range_done, (struct inode *inode, unsigned long start,
	unsigned long end),
	tp_wb(inode, start, end, DT_WB_RANGE_EXIT, DT_HOOK_TP_WRITEBACK_RANGE_DONE, direct))
TRACEPOINT_PROGS(dax_writeback_one, (struct inode *inode, unsigned long pgoff,
	unsigned long pglen),
	tp_wb(inode, pgoff, pglen, DT_WB_ENTRY, DT_HOOK_TP_WRITEBACK_ONE, direct))

static __always_inline void wb_fn_enter(struct address_space *mapping,
					struct writeback_control *wbc, bool direct)
{
	__s64 start = READ_KERNEL(direct, wbc, range_start);
	__s64 end = READ_KERNEL(direct, wbc, range_end);
	__u64 pgoff = start >> DT_PAGE_SHIFT;

	ev_enter(DT_WB_RANGE_ENTER, DT_HOOK_FN_DAX_WRITEBACK_RANGE,
		 READ_KERNEL(direct, mapping, host), direct, 0, 0, pgoff,
		 end == 0x7fffffffffffffffll ? 0 : ((end >> DT_PAGE_SHIFT) - pgoff + 1), 0);
}

FENTRY_AND_KPROBE(dax_writeback_mapping_range, (struct address_space *mapping,
	void *dax_dev, struct writeback_control *wbc),
	wb_fn_enter(mapping, wbc, direct))
BRACKET_EXIT_PROGS(dax_writeback_mapping_range, DT_HOOK_FN_DAX_WRITEBACK_RANGE,
		   DT_WB_RANGE_EXIT, (struct address_space *mapping, void *dax_dev,
		   struct writeback_control *wbc, int ret))

/* fsync/msync on DAX files only (S_DAX), so other files cost one test. */
static __always_inline void fsync_enter(struct file *file, __s64 start,
					__s64 end, int datasync, bool direct)
{
	struct inode *inode = file_inode_of(file, direct);
	__u64 pgoff = start >> DT_PAGE_SHIFT;

	if (!inode_is_dax(inode, direct))
		return;
	ev_enter(DT_FSYNC_ENTER, DT_HOOK_FN_VFS_FSYNC_RANGE, inode, direct,
		 datasync ? DT_F_DATASYNC : 0, 0, pgoff,
		 end == 0x7fffffffffffffffll ? 0 : ((end >> DT_PAGE_SHIFT) - pgoff + 1), 0);
}

FENTRY_AND_KPROBE(vfs_fsync_range, (struct file *file, __s64 start, __s64 end,
	int datasync),
	fsync_enter(file, start, end, datasync, direct))
BRACKET_EXIT_PROGS(vfs_fsync_range, DT_HOOK_FN_VFS_FSYNC_RANGE, DT_FSYNC_EXIT,
		   (struct file *file, __s64 start, __s64 end, int datasync, int ret))

#endif /* DAXTRACE_WRITEBACK_BPF_H */
