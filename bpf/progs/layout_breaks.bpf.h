/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * L: layout breaks.
 *
 * Layout breaks (ext4/xfs break_layouts), the busy-page scan's answer with
 * the pinned page's refcount, and the series' break/busy/wait/
 * disassociate tracepoints.
 */
#ifndef DAXTRACE_LAYOUT_BREAKS_BPF_H
#define DAXTRACE_LAYOUT_BREAKS_BPF_H

#include "core.bpf.h"

static __always_inline void break_enter(struct inode *inode, __u16 hook)
{
	struct dt_event e;

	if (!inode_is_dax(inode))
		return;
	ev_init(&e, DT_BREAK_ENTER, hook);
	ev_inode(&e, inode);
	ev_enter(&e);
}

/* fexit needs the exact argument count to find the return value, so each
 * function gets its own exit program. */
#define BREAK_ENTRY_PROGS(fn, hook)					\
SEC("fentry/" #fn)							\
int BPF_PROG(fe_##fn, struct inode *inode)				\
{									\
	break_enter(inode, hook);					\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int BPF_KPROBE(kp_##fn, struct inode *inode)				\
{									\
	break_enter(inode, hook);					\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int BPF_KRETPROBE(kr_##fn, int ret)					\
{									\
	ev_exit(hook, DT_BREAK_EXIT, ret);				\
	return 0;							\
}

BREAK_ENTRY_PROGS(ext4_break_layouts, DT_HOOK_FN_EXT4_BREAK_LAYOUTS)
SEC("fexit/ext4_break_layouts")
int BPF_PROG(fx_ext4_break_layouts, struct inode *inode, int ret)
{
	ev_exit(DT_HOOK_FN_EXT4_BREAK_LAYOUTS, DT_BREAK_EXIT, ret);
	return 0;
}

BREAK_ENTRY_PROGS(xfs_break_layouts, DT_HOOK_FN_XFS_BREAK_LAYOUTS)
SEC("fexit/xfs_break_layouts")
int BPF_PROG(fx_xfs_break_layouts, struct inode *inode, void *iolock,
	     int reason, int ret)
{
	ev_exit(DT_HOOK_FN_XFS_BREAK_LAYOUTS, DT_BREAK_EXIT, ret);
	return 0;
}

/* 6.1: xfs_break_dax_layouts(inode, bool *retry); 6.18: (inode).  The
 * return value's slot in the fexit context moves with the argument count,
 * so fetch it with bpf_get_func_ret() (5.17+). */
SEC("fentry/xfs_break_dax_layouts")
int BPF_PROG(fe_xfs_break_dax_layouts, struct inode *inode)
{
	break_enter(inode, DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS);
	return 0;
}

SEC("fexit/xfs_break_dax_layouts")
int BPF_PROG(fx_xfs_break_dax_layouts)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	ev_exit(DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS, DT_BREAK_EXIT, (int)ret);
	return 0;
}

SEC("kprobe/xfs_break_dax_layouts")
int BPF_KPROBE(kp_xfs_break_dax_layouts, struct inode *inode)
{
	break_enter(inode, DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS);
	return 0;
}

SEC("kretprobe/xfs_break_dax_layouts")
int BPF_KRETPROBE(kr_xfs_break_dax_layouts, int ret)
{
	ev_exit(DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS, DT_BREAK_EXIT, ret);
	return 0;
}

/* dax_layout_busy_page_range(mapping, start, end): the scan's answer, and
 * the busy page (with its refcount) when there is one. */
static __always_inline void busy_scan(struct address_space *mapping,
				      __s64 start, __s64 end, struct page *page)
{
	struct dt_event e;
	struct inode *inode = BPF_CORE_READ(mapping, host);

	ev_init(&e, DT_BUSY_SCAN, DT_HOOK_FN_BUSY_PAGE_RANGE);
	ev_inode(&e, inode);
	e.pgoff = start >> DT_PAGE_SHIFT;
	e.nr_pages = (end == -1 || end == 0x7fffffffffffffffll) ? 0 :
		((end >> DT_PAGE_SHIFT) - e.pgoff + 1);
	if (page) {
		e.flags |= DT_F_BUSY;
		e.refcount = page_refcount(page);
		e.ret = page_index(page);
	}
	if (!ev_emit(&e) || !page || tp_busy_page_attached)
		return;
	e.type = DT_BREAK_BUSY;
	e.pgoff = e.ret;
	e.nr_pages = 1;
	e.ret = 0;
	ev_emit(&e);
}

SEC("fexit/dax_layout_busy_page_range")
int BPF_PROG(fx_dax_layout_busy_page_range, struct address_space *mapping,
	     __s64 start, __s64 end, struct page *ret)
{
	busy_scan(mapping, start, end, ret);
	return 0;
}

SEC("kprobe/dax_layout_busy_page_range")
int BPF_KPROBE(kp_dax_layout_busy_page_range, struct address_space *mapping,
	       __s64 start, __s64 end)
{
	save_args(DT_HOOK_FN_BUSY_PAGE_RANGE, (__u64)mapping, start, end);
	return 0;
}

SEC("kretprobe/dax_layout_busy_page_range")
int BPF_KRETPROBE(kr_dax_layout_busy_page_range, struct page *ret)
{
	struct dt_args a;

	if (take_args(DT_HOOK_FN_BUSY_PAGE_RANGE, &a))
		busy_scan((struct address_space *)a.a[0], a.a[1], a.a[2], ret);
	return 0;
}

/* New tracepoints (patches/). */
static __always_inline void tp_break(struct inode *inode, int ret, __u16 type,
				     __u16 hook)
{
	struct dt_event e;

	ev_init(&e, type, hook);
	ev_inode(&e, inode);
	e.ret = ret;
	ev_emit(&e);
}

TRACEPOINT_PROGS(dax_layout_break_begin, (struct inode *inode),
	tp_break(inode, 0, DT_BREAK_ENTER, DT_HOOK_TP_BREAK_BEGIN))
TRACEPOINT_PROGS(dax_layout_break_end, (struct inode *inode, int ret),
	tp_break(inode, ret, DT_BREAK_EXIT, DT_HOOK_TP_BREAK_END))

static __always_inline void tp_page(struct inode *inode, __u64 index,
				    struct page *page, __u16 type, __u16 hook,
				    __u32 flags)
{
	struct dt_event e;

	ev_init(&e, type, hook);
	ev_inode(&e, inode);
	e.pgoff = page && index == (__u64)-1 ? page_index(page) : index;
	e.nr_pages = 1;
	e.refcount = page_refcount(page);
	e.flags |= flags;
	ev_emit(&e);
}

TRACEPOINT_PROGS(dax_busy_page, (struct inode *inode, unsigned long index,
	struct page *page),
	tp_page(inode, index, page, DT_BREAK_BUSY, DT_HOOK_TP_BREAK_BUSY, DT_F_BUSY))
TRACEPOINT_PROGS(dax_layout_wait, (struct inode *inode, struct page *page),
	tp_page(inode, (__u64)-1, page, DT_BREAK_WAIT, DT_HOOK_TP_BREAK_WAIT, 0))
TRACEPOINT_PROGS(dax_entry_disassociate, (struct inode *inode, unsigned long index,
	struct page *page, bool trunc),
	tp_page(inode, index, page, DT_ENTRY_DISASSOC, DT_HOOK_TP_DISASSOCIATE,
		trunc ? DT_F_TRUNC : 0))

#endif /* DAXTRACE_LAYOUT_BREAKS_BPF_H */
