/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * L: layout breaks.
 *
 * Layout breaks (ext4/xfs break_layouts), the busy-page scan's answer with
 * the pinned page's refcount, and the series' break/busy/wait
 * tracepoints.
 */
#ifndef DAXTRACE_LAYOUT_BREAKS_BPF_H
#define DAXTRACE_LAYOUT_BREAKS_BPF_H

#include "core.bpf.h"

static __always_inline void break_enter(struct inode *inode, bool direct,
					__u8 hook)
{
	if (!inode_is_dax(inode, direct))
		return;
	ev_enter(DT_BREAK_ENTER, hook, inode, direct, 0, 0, 0, 0, 0);
}

FENTRY_AND_KPROBE(ext4_break_layouts, (struct inode *inode),
	break_enter(inode, direct, DT_HOOK_FN_EXT4_BREAK_LAYOUTS))
BRACKET_EXIT_PROGS(ext4_break_layouts, DT_HOOK_FN_EXT4_BREAK_LAYOUTS,
		   DT_BREAK_EXIT, (struct inode *inode, int ret))

FENTRY_AND_KPROBE(xfs_break_layouts, (struct inode *inode),
	break_enter(inode, direct, DT_HOOK_FN_XFS_BREAK_LAYOUTS))
BRACKET_EXIT_PROGS(xfs_break_layouts, DT_HOOK_FN_XFS_BREAK_LAYOUTS,
		   DT_BREAK_EXIT, (struct inode *inode, void *iolock, int reason, int ret))

/* 6.1: xfs_break_dax_layouts(inode, bool *retry); 6.18: (inode).  The
 * return value's slot in the fexit context moves with the argument count,
 * so fetch it with bpf_get_func_ret() (5.17+). */
FENTRY_AND_KPROBE(xfs_break_dax_layouts, (struct inode *inode),
	break_enter(inode, direct, DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS))

SEC("fexit/xfs_break_dax_layouts")
int BPF_PROG(fx_xfs_break_dax_layouts)
{
	__u64 ret = 0;

	if (empty_programs)
		return 0;
	bpf_get_func_ret(ctx, &ret);
	ev_exit(DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS, DT_BREAK_EXIT, (int)ret);
	return 0;
}

SEC("kretprobe/xfs_break_dax_layouts")
int BPF_KRETPROBE(kr_xfs_break_dax_layouts, int ret)
{
	if (empty_programs)
		return 0;
	ev_exit(DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS, DT_BREAK_EXIT, ret);
	return 0;
}

/* dax_layout_busy_page_range(mapping, start, end): the scan's answer, and
 * the busy page (with its refcount) when there is one. */
static __always_inline void busy_scan(struct address_space *mapping,
				      __s64 start, __s64 end, struct page *page,
				      bool direct)
{
	struct dt_out o;
	struct inode *inode = READ_KERNEL(direct, mapping, host);
	__u64 pgoff = start >> DT_PAGE_SHIFT;
	__u32 refcount = 0;
	__u64 index = 0;
	__u32 dev;
	__u64 ino;
	__u16 flags = 0;

	if (page) {
		flags |= DT_F_BUSY;
		refcount = page_refcount(page, direct);
		index = page_index(page, direct);
	}
	inode_ids(inode, direct, &dev, &ino, &flags);
	if (rec_open(&o, DT_BUSY_SCAN, DT_HOOK_FN_BUSY_PAGE_RANGE, dev, ino, flags,
		     false, 1, NULL, false) != DT_OPEN_OK)
		return;
	o.r->pgoff = pgoff;
	o.r->nr_pages = (end == -1 || end == 0x7fffffffffffffffll) ? 0 :
		((end >> DT_PAGE_SHIFT) - pgoff + 1);
	o.r->refcount = refcount;
	o.r->ret = index;
	rec_submit(&o);
	if (!page || tp_busy_page_attached)
		return;
	if (rec_open(&o, DT_BREAK_BUSY, DT_HOOK_FN_BUSY_PAGE_RANGE, dev, ino, flags,
		     false, 1, o.t, false) != DT_OPEN_OK)
		return;
	o.r->pgoff = index;
	o.r->nr_pages = 1;
	o.r->refcount = refcount;
	rec_submit(&o);
}

SEC("fexit/dax_layout_busy_page_range")
int BPF_PROG(fx_dax_layout_busy_page_range, struct address_space *mapping,
	     __s64 start, __s64 end, struct page *ret)
{
	if (empty_programs)
		return 0;
	busy_scan(mapping, start, end, ret, true);
	return 0;
}

SEC("kprobe/dax_layout_busy_page_range")
int BPF_KPROBE(kp_dax_layout_busy_page_range, struct address_space *mapping,
	       __s64 start, __s64 end)
{
	if (empty_programs)
		return 0;
	save_args(DT_HOOK_FN_BUSY_PAGE_RANGE, (__u64)mapping, start, end);
	return 0;
}

SEC("kretprobe/dax_layout_busy_page_range")
int BPF_KRETPROBE(kr_dax_layout_busy_page_range, struct page *ret)
{
	struct dt_args a;

	if (empty_programs)
		return 0;
	if (take_args(DT_HOOK_FN_BUSY_PAGE_RANGE, &a))
		busy_scan((struct address_space *)a.a[0], a.a[1], a.a[2], ret, false);
	return 0;
}

/* New tracepoints (patches/). */
static __always_inline void tp_break(struct inode *inode, int ret, __u8 type,
				     __u8 hook, bool direct)
{
	struct dt_out o;

	if (!rec_open_inode(&o, type, hook, inode, direct, 0, false, 1))
		return;
	o.r->ret = ret;
	rec_submit(&o);
}

TRACEPOINT_PROGS(dax_layout_break_begin, (struct inode *inode),
	tp_break(inode, 0, DT_BREAK_ENTER, DT_HOOK_TP_BREAK_BEGIN, direct))
TRACEPOINT_PROGS(dax_layout_break_end, (struct inode *inode, int ret),
	tp_break(inode, ret, DT_BREAK_EXIT, DT_HOOK_TP_BREAK_END, direct))

static __always_inline void tp_page(struct inode *inode, __u64 index,
				    struct page *page, __u8 type, __u8 hook,
				    __u16 flags, bool direct)
{
	struct dt_out o;

	if (!rec_open_inode(&o, type, hook, inode, direct, flags, false, 1))
		return;
	o.r->pgoff = page && index == (__u64)-1 ? page_index(page, direct) : index;
	o.r->nr_pages = 1;
	o.r->refcount = page_refcount(page, direct);
	rec_submit(&o);
}

TRACEPOINT_PROGS(dax_busy_page, (struct inode *inode, unsigned long index,
	struct page *page),
	tp_page(inode, index, page, DT_BREAK_BUSY, DT_HOOK_TP_BREAK_BUSY, DT_F_BUSY, direct))
TRACEPOINT_PROGS(dax_layout_wait, (struct inode *inode, struct page *page),
	tp_page(inode, (__u64)-1, page, DT_BREAK_WAIT, DT_HOOK_TP_BREAK_WAIT, 0, direct))

#endif /* DAXTRACE_LAYOUT_BREAKS_BPF_H */
