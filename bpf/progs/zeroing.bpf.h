/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Z: zeroing of newly allocated blocks.
 *
 * Every path that zeroes blocks: the block layer, ext4, xfs, partial
 * blocks (dax_zero_range), and zeroing inside the allocator (the
 * tracepoints added by patches/).
 */
#ifndef DAXTRACE_ZEROING_BPF_H
#define DAXTRACE_ZEROING_BPF_H

#include "core.bpf.h"

/*
 * One zeroing passes up to three hooks, each of which could report it:
 * the allocator's tracepoint (ext4_alloc_zeroout, xfs_alloc_zero_extent:
 * patches/) fires just before ext4_issue_zeroout() or xfs_zero_extent(),
 * which call blkdev_issue_zeroout().  The first to report it leaves tid,
 * device and sector in the CPU's slot (zero_seen()); the hooks below it
 * skip that zeroing, and the block layer's, the last, clears the slot.
 * Another task's zeroing of the same sector is still reported; if the
 * task migrated in between, the zeroing is reported twice.
 */
static __always_inline bool zero_reported(__u32 dev, __u64 sector, bool last)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_cpu_slot *s = cpu_slot(task);
	bool same;

	if (!s->zero_sector)
		return false;
	same = s->zero_sector == sector + 1 && s->zero_dev == dev &&
	       s->zero_tid == task->pid;
	if (last || !same)
		s->zero_sector = 0;
	return same;
}

/* Opens the ZERO record of a filesystem's zeroing of SECTOR, unless a hook
 * above it reported it already (the allocator's tracepoint reports always). */
static __always_inline bool zero_open(struct dt_out *o, __u8 hook, struct inode *inode,
				      bool direct, __u16 op, __u64 sector)
{
	__u16 flags = 0;
	__u32 dev;
	__u64 ino;

	inode_ids(inode, direct, &dev, &ino, &flags);
	if (op != DT_ZOP_ALLOC && zero_reported(dev, sector, false))
		return false;
	return rec_open_part(o, DT_ZERO, hook, dev, ino, flags, true, 1, NULL, false,
			     part_if(op == DT_ZOP_ALLOC, DT_PART_ZERO)) == DT_OPEN_OK;
}

/* A zeroing was reported: the hooks below it skip it. */
static __always_inline void zero_seen(struct dt_out *o, __u32 dev, __u64 sector)
{
	o->s->zero_tid = o->tid;
	o->s->zero_dev = dev;
	o->s->zero_sector = sector + 1;
}

static __always_inline void zero_blkdev(struct block_device *bdev, __u64 sector,
					__u64 nr_sects, bool direct)
{
	struct dt_out o;
	struct dt_rec_ext *x;
	__u32 dev = READ_KERNEL(direct, bdev, bd_dev);

	if (zero_reported(dev, sector, true))
		return;
	if (rec_open_part(&o, DT_ZERO, DT_HOOK_FN_BLKDEV_ZEROOUT, dev, 0, DT_F_NOINODE,
			  true, 1, NULL, false, part_if(false, DT_PART_ZERO)) != DT_OPEN_OK)
		return;
	x = rec_ext(&o);
	x->r.op = DT_ZOP_BLKDEV;
	x->block = sector;
	x->len = nr_sects << 9;
	rec_submit(&o);
}

FENTRY_AND_KPROBE(blkdev_issue_zeroout, (struct block_device *bdev, __u64 sector,
	__u64 nr_sects),
	zero_blkdev(bdev, sector, nr_sects, direct))

/* Logical and physical blocks in fs blocks; the event wants pages, sectors
 * and bytes. */
static __always_inline void zero_fsblocks(struct inode *inode, __u64 lblk,
					  __u64 pblk, __u64 len, __u16 op,
					  __u8 hook, bool direct)
{
	struct dt_out o;
	struct dt_rec_ext *x;
	__u32 bits = READ_KERNEL(direct, inode, i_blkbits);
	__u64 sector = pblk << (bits - 9);

	if (!zero_open(&o, hook, inode, direct, op, sector))
		return;
	x = rec_ext(&o);
	x->r.op = op;
	x->r.pgoff = (lblk << bits) >> DT_PAGE_SHIFT;
	x->r.nr_pages = ((len << bits) + (1 << DT_PAGE_SHIFT) - 1) >> DT_PAGE_SHIFT;
	x->block = sector;
	x->len = len << bits;
	zero_seen(&o, x->r.dev, sector);
	rec_submit(&o);
}

FENTRY_AND_KPROBE(ext4_issue_zeroout, (struct inode *inode, __u32 lblk, __u64 pblk,
	__u32 len),
	zero_fsblocks(inode, lblk, pblk, len, DT_ZOP_EXT4, DT_HOOK_FN_EXT4_ZEROOUT,
		      direct))

/* XFS fsblock numbers encode (AG, block in AG): turn them into a daddr. */
static __always_inline __u64 xfs_fsb_to_sector(struct xfs_inode___dt *ip,
					       __u64 fsb)
{
	struct xfs_mount___dt *mp = BPF_CORE_READ(ip, i_mount);
	__u32 agblocks = BPF_CORE_READ(mp, m_sb.sb_agblocks);
	__u8 agblklog = BPF_CORE_READ(mp, m_sb.sb_agblklog);
	__u8 blocklog = BPF_CORE_READ(mp, m_sb.sb_blocklog);
	__u64 agno = fsb >> agblklog;
	__u64 agbno = fsb & ((1ull << agblklog) - 1);

	return (agno * agblocks + agbno) << (blocklog - 9);
}

/* lblk == (__u64)-1: the file offset is not known (xfs_zero_extent) and
 * pgoff/nr_pages stay 0. */
static __always_inline void zero_xfs(struct xfs_inode___dt *ip, __u64 lblk,
				     __u64 fsb, __u64 count, __u16 op,
				     __u8 hook)
{
	struct dt_out o;
	struct dt_rec_ext *x;
	struct inode *inode = &ip->i_vnode;
	__u32 bits = BPF_CORE_READ(inode, i_blkbits);
	__u64 sector = xfs_fsb_to_sector(ip, fsb);

	if (!zero_open(&o, hook, inode, false, op, sector))
		return;
	x = rec_ext(&o);
	x->r.op = op;
	if (lblk != (__u64)-1) {
		x->r.pgoff = (lblk << bits) >> DT_PAGE_SHIFT;
		x->r.nr_pages = ((count << bits) + (1 << DT_PAGE_SHIFT) - 1) >>
			DT_PAGE_SHIFT;
	}
	x->block = sector;
	x->len = count << bits;
	zero_seen(&o, x->r.dev, sector);
	rec_submit(&o);
}

/* xfs_zero_extent() does not know the file offset: pgoff/nr_pages stay 0
 * and the analyzer matches the zeroing by sector. */
FENTRY_AND_KPROBE(xfs_zero_extent, (struct xfs_inode___dt *ip, __u64 fsb,
	__u64 count),
	zero_xfs(ip, (__u64)-1, fsb, count, DT_ZOP_XFS, DT_HOOK_FN_XFS_ZERO_EXTENT))

static __always_inline void zero_range(struct inode *inode, __u64 pos, __u64 len,
				       bool direct)
{
	struct dt_out o;
	struct dt_rec_ext *x;

	if (!rec_open_inode(&o, DT_ZERO, DT_HOOK_FN_DAX_ZERO_RANGE, inode, direct, 0,
			    true, 1))
		return;
	x = rec_ext(&o);
	x->r.op = DT_ZOP_DAX_RANGE;
	x->r.pgoff = pos >> DT_PAGE_SHIFT;
	x->r.nr_pages = (len + (1 << DT_PAGE_SHIFT) - 1) >> DT_PAGE_SHIFT;
	x->len = len;
	rec_submit(&o);
}

FENTRY_AND_KPROBE(dax_zero_range, (struct inode *inode, __s64 pos, __s64 len),
	zero_range(inode, pos, len, direct))

/* New tracepoints (patches/): zeroing inside the allocator. */
TRACEPOINT_PROGS(ext4_alloc_zeroout, (struct inode *inode, __u32 lblk,
	__u64 pblk, unsigned int len),
	zero_fsblocks(inode, lblk, pblk, len, DT_ZOP_ALLOC, DT_HOOK_TP_ALLOC_ZERO, direct))
TRACEPOINT_PROGS(xfs_alloc_zero_extent, (struct xfs_inode___dt *ip, __u64 lblk,
	__u64 pblk, __u32 len),
	zero_xfs(ip, lblk, pblk, len, DT_ZOP_ALLOC, DT_HOOK_TP_XFS_ALLOC_ZERO))

#endif /* DAXTRACE_ZEROING_BPF_H */
