/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * L, T: removal of blocks from a file.
 *
 * Punch, collapse, insert and zero range, truncate, swap-boot/swapext, and
 * what happens to the mapping entries of the removed range (deleted,
 * disassociated from their page).
 */
#ifndef DAXTRACE_BLOCK_REMOVAL_BPF_H
#define DAXTRACE_BLOCK_REMOVAL_BPF_H

#include "core.bpf.h"
#include "layout_breaks.bpf.h"	/* tp_page() */

static __always_inline void remove_enter(struct inode *inode, bool direct,
					 __u16 op, __s64 off, __s64 len, __u8 hook)
{
	__u64 pgoff = off >> DT_PAGE_SHIFT;

	if (!inode_is_dax(inode, direct))
		return;
	ev_enter(DT_REMOVE_ENTER, hook, inode, direct, 0, op, pgoff,
		 len <= 0 ? 0 : ((off + len - 1) >> DT_PAGE_SHIFT) - pgoff + 1, len);
}

static __always_inline __u16 falloc_op(int mode)
{
	if (mode & DT_FALLOC_FL_PUNCH_HOLE)
		return DT_ROP_PUNCH;
	if (mode & DT_FALLOC_FL_COLLAPSE_RANGE)
		return DT_ROP_COLLAPSE;
	if (mode & DT_FALLOC_FL_ZERO_RANGE)
		return DT_ROP_ZERO_RANGE;
	if (mode & DT_FALLOC_FL_INSERT_RANGE)
		return DT_ROP_INSERT;
	return DT_ROP_UNKNOWN;
}

static __always_inline void falloc_enter(struct file *file, bool direct, int mode,
					 __s64 off, __s64 len, __u16 hook)
{
	__u16 op = falloc_op(mode);

	if (op != DT_ROP_UNKNOWN)
		remove_enter(file_inode_of(file, direct), direct, op, off, len, hook);
}

/* truncate: ->setattr with ATTR_SIZE; off = new size, len 0 = to EOF. */
static __always_inline void setattr_enter(struct dentry *dentry,
					  struct iattr *attr, bool direct,
					  __u16 hook)
{
	if (!(READ_KERNEL(direct, attr, ia_valid) & DT_ATTR_SIZE))
		return;
	remove_enter(READ_KERNEL(direct, dentry, d_inode), direct, DT_ROP_TRUNCATE,
		     READ_KERNEL(direct, attr, ia_size), 0, hook);
}

#define FALLOC_PROGS(fn, hook)						\
FENTRY_AND_KPROBE(fn, (struct file *file, int mode, __s64 off, __s64 len), \
	falloc_enter(file, direct, mode, off, len, hook))		\
BRACKET_EXIT_PROGS(fn, hook, DT_REMOVE_EXIT, (struct file *file, int mode, \
		   __s64 off, __s64 len, long ret))

FALLOC_PROGS(ext4_fallocate, DT_HOOK_FN_EXT4_FALLOCATE)
FALLOC_PROGS(xfs_file_fallocate, DT_HOOK_FN_XFS_FALLOCATE)

/* ext4_punch_hole(file, off, len) on 6.1 .. 6.18 (fallback for
 * ext4_fallocate). */
FENTRY_AND_KPROBE(ext4_punch_hole, (struct file *file, __s64 off, __s64 len),
	remove_enter(file_inode_of(file, direct), direct, DT_ROP_PUNCH, off, len,
		     DT_HOOK_FN_EXT4_PUNCH_HOLE))
BRACKET_EXIT_PROGS(ext4_punch_hole, DT_HOOK_FN_EXT4_PUNCH_HOLE, DT_REMOVE_EXIT,
		   (struct file *file, __s64 off, __s64 len, int ret))

#define SETATTR_PROGS(fn, hook)						\
FENTRY_AND_KPROBE(fn, (void *idmap, struct dentry *dentry, struct iattr *attr), \
	setattr_enter(dentry, attr, direct, hook))			\
BRACKET_EXIT_PROGS(fn, hook, DT_REMOVE_EXIT, (void *idmap,		\
		   struct dentry *dentry, struct iattr *attr, int ret))

SETATTR_PROGS(ext4_setattr, DT_HOOK_FN_EXT4_SETATTR)
SETATTR_PROGS(xfs_vn_setattr, DT_HOOK_FN_XFS_SETATTR)

/* EXT4_IOC_SWAP_BOOT: swaps the whole block map with the boot inode. */
FENTRY_AND_KPROBE(ext4_ioctl, (struct file *file, unsigned int cmd),
	if (cmd == DT_EXT4_IOC_SWAP_BOOT)
		remove_enter(file_inode_of(file, direct), direct, DT_ROP_SWAP_BOOT,
			     0, 0, DT_HOOK_FN_EXT4_IOCTL))
BRACKET_EXIT_PROGS(ext4_ioctl, DT_HOOK_FN_EXT4_IOCTL, DT_REMOVE_EXIT,
		   (struct file *file, unsigned int cmd, unsigned long arg, long ret))

/* XFS_IOC_SWAPEXT -> xfs_swap_extents(ip, tip, sxp). */
FENTRY_AND_KPROBE(xfs_swap_extents, (struct xfs_inode___dt *ip),
	remove_enter(&ip->i_vnode, direct, DT_ROP_SWAPEXT, 0, 0,
		     DT_HOOK_FN_XFS_SWAP_EXTENTS))
BRACKET_EXIT_PROGS(xfs_swap_extents, DT_HOOK_FN_XFS_SWAP_EXTENTS, DT_REMOVE_EXIT,
		   (void *ip, void *tip, void *sxp, int ret))

/*
 * The teardown of one mapping entry passes two hooks: the deletion
 * (dax_delete_mapping_entry(): the index, before the entry is looked up)
 * and then the disassociation of the entry's page (the page and its
 * refcount).  For an idle page the second tells nothing the first did
 * not: the rules act on a disassociation only when the page is still held
 * (refcount > 1), and the deletion already marked the page torn down.  So
 * the deletion leaves tid, inode and index in the CPU's slot, and the
 * disassociation on truncate of that same page with an idle refcount is
 * not sent: one record per idle page instead of two.  A pinned page's
 * disassociation is always sent, and so is any without the deletion just
 * before it (the delete hook absent or disabled, invalidation, another
 * task, the tail pages of a PMD entry on the series' tracepoint).  Inside
 * a removal, the deletions themselves are sent a run at a time
 * (deletion_held()).
 */
/*
 * A deletion inside a removal current opened on this CPU (s->removing) is
 * held in the CPU's dt_dels with the ones before it of the same inode,
 * and sent DT_DEL_BATCH at a time (struct dt_rec_deletes): the one
 * admission, reservation and submission a removal's run of pages costs
 * instead of one per page.  Returns false if the deletion is not held
 * (then it is sent on its own); true if it is, or if it was filtered or
 * dropped.
 */
static __always_inline bool deletion_held(struct inode *inode, __u64 index, bool direct)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_cpu_slot *s = cpu_slot(task);
	struct dt_del_held *d;
	struct dt_out o;
	__u16 flags = 0;
	__u32 dev, n;
	__u64 ino;

	if (s->removing != (__u64)task || !inode)
		return false;
	d = &dt_dels[task_cpu_of(task) & (DT_MAX_CPUS - 1)];
	inode_ids(inode, direct, &dev, &ino, &flags);
	n = d->rec.head.reserved;
	if (d->task == (__u64)task && d->rec.head.dev == dev && d->rec.head.ino == ino) {
		struct dt_del_page *p = &d->rec.page[n & (DT_DEL_BATCH - 1)];

		p->ts = bpf_ktime_get_ns();
		p->index = index;
		d->rec.head.reserved = ++n;
	} else {
		if (d->task)
			dels_flush(d, s);
		if (rec_admit(&o, dev, ino, flags, 1, NULL, false) != DT_OPEN_OK)
			return true;
		__builtin_memset(&d->rec.head, 0, sizeof(d->rec.head));
		rec_head(&d->rec.head, &o, DT_ENTRY_DELETE, DT_HOOK_FN_DELETE_MAPPING_ENTRY,
			 dev, ino, flags);
		d->rec.head.pgoff = index;
		d->rec.head.nr_pages = 1;
		d->rec.page[0].ts = d->rec.head.ts;
		d->rec.page[0].index = index;
		d->rec.head.reserved = n = 1;
		d->task = (__u64)task;
	}
	s->del_tid = task->pid;
	s->del_inode = (__u64)inode;
	s->del_index = index;
	if (n >= DT_DEL_BATCH)
		dels_flush(d, s);
	return true;
}

static __always_inline void entry_delete(struct address_space *mapping,
					 __u64 index, bool direct)
{
	struct inode *inode = READ_KERNEL(direct, mapping, host);
	struct dt_out o;

	/* Load-time constants: without them the verifier drops the call. */
	if (join_faults && join_fentry_parts && deletion_held(inode, index, direct))
		return;
	if (!rec_open_inode(&o, DT_ENTRY_DELETE, DT_HOOK_FN_DELETE_MAPPING_ENTRY,
			    inode, direct, 0, false, 1))
		return;
	o.r->pgoff = index;
	o.r->nr_pages = 1;
	o.s->del_tid = o.r->tid;
	o.s->del_inode = (__u64)inode;
	o.s->del_index = index;
	rec_submit(&o);
}

/* Whether the disassociation of page INDEX of INODE, on truncate, with
 * REFCOUNT, is the idle tail of a teardown the deletion reported. */
static __always_inline bool teardown_reported(struct inode *inode, __u64 index,
					      bool trunc, __u32 refcount)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_cpu_slot *s = cpu_slot(task);
	bool same;

	if (!s->del_inode)
		return false;
	same = s->del_inode == (__u64)inode && s->del_index == index &&
	       s->del_tid == task->pid;
	s->del_inode = 0;
	if (!same || !trunc || refcount > 1)
		return false;
	s->folded++;
	return true;
}

FENTRY_AND_KPROBE(dax_delete_mapping_entry, (struct address_space *mapping,
	unsigned long index),
	entry_delete(mapping, index, direct))

/* 6.1: dax_disassociate_entry(void *entry, mapping, bool trunc).  The page
 * comes from the entry's pfn (6.1 has no folio in the entry and no
 * tracepoint here); a refcount > 1 on truncate means a page still pinned
 * after the layout break, which the kernel WARNs about. */
static __always_inline void disassociate(void *entry,
					 struct address_space *mapping,
					 bool trunc, bool direct)
{
	struct inode *inode;
	struct dt_out o;
	struct dt_rec_ext *x;
	__u64 v = (__u64)entry;
	struct page *page;
	__u64 index;
	__u32 refcount;

	if (!(v & 1))
		return;			/* not an xarray value entry */
	v >>= 1;
	if (v & (DT_DAX_ZERO_PAGE | DT_DAX_EMPTY))
		return;			/* the function returns early too */
	inode = READ_KERNEL(direct, mapping, host);
	page = pfn_to_page_ptr(v >> DT_DAX_SHIFT);
	index = page_index(page, false);	/* a computed pointer */
	refcount = page_refcount(page, false);
	if (teardown_reported(inode, index, trunc, refcount))
		return;
	dels_before_next();
	if (!rec_open_inode(&o, DT_ENTRY_DISASSOC, DT_HOOK_FN_DISASSOCIATE_ENTRY,
			    inode, direct, trunc ? DT_F_TRUNC : 0, true, 1))
		return;
	x = rec_ext(&o);
	x->r.pgoff = index;
	x->r.nr_pages = 1;
	x->block = v >> DT_DAX_SHIFT;	/* pfn */
	x->r.refcount = refcount;
	rec_submit(&o);
}

FENTRY_AND_KPROBE(dax_disassociate_entry, (void *entry,
	struct address_space *mapping, bool trunc),
	disassociate(entry, mapping, trunc, direct))

/* The series' tracepoint: once per page of the entry, with its index. */
TRACEPOINT_PROGS(dax_entry_disassociate, (struct inode *inode, unsigned long index,
	struct page *page, bool trunc),
	if (!teardown_reported(inode, index, trunc, page_refcount(page, direct))) {
		dels_before_next();
		tp_page(inode, index, page, DT_ENTRY_DISASSOC, DT_HOOK_TP_DISASSOCIATE,
			trunc ? DT_F_TRUNC : 0, direct);
	})

#endif /* DAXTRACE_BLOCK_REMOVAL_BPF_H */
