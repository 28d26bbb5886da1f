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

static __always_inline void zero_blkdev(struct block_device *bdev, __u64 sector,
					__u64 nr_sects, bool direct)
{
	struct dt_event e;

	ev_init(&e, DT_ZERO, DT_HOOK_FN_BLKDEV_ZEROOUT);
	e.op = DT_ZOP_BLKDEV;
	e.flags = DT_F_NOINODE;
	e.dev = READ_KERNEL(direct, bdev, bd_dev);
	e.block = sector;
	e.len = nr_sects << 9;
	ev_emit(&e);
}

SEC("fentry/blkdev_issue_zeroout")
int BPF_PROG(fe_blkdev_issue_zeroout, struct block_device *bdev, __u64 sector,
	     __u64 nr_sects)
{
	zero_blkdev(bdev, sector, nr_sects, true);
	return 0;
}

SEC("kprobe/blkdev_issue_zeroout")
int BPF_KPROBE(kp_blkdev_issue_zeroout, struct block_device *bdev, __u64 sector,
	       __u64 nr_sects)
{
	zero_blkdev(bdev, sector, nr_sects, false);
	return 0;
}

/* Logical and physical blocks in fs blocks; the event wants pages, sectors
 * and bytes. */
static __always_inline void zero_fsblocks(struct inode *inode, __u64 lblk,
					  __u64 pblk, __u64 len, __u16 op,
					  __u16 hook, bool direct)
{
	struct dt_event e;
	__u32 bits = READ_KERNEL(direct, inode, i_blkbits);

	ev_init(&e, DT_ZERO, hook);
	ev_inode_read(&e, inode, direct);
	e.op = op;
	e.pgoff = (lblk << bits) >> DT_PAGE_SHIFT;
	e.nr_pages = ((len << bits) + (1 << DT_PAGE_SHIFT) - 1) >> DT_PAGE_SHIFT;
	e.block = pblk << (bits - 9);
	e.len = len << bits;
	ev_emit(&e);
}

SEC("fentry/ext4_issue_zeroout")
int BPF_PROG(fe_ext4_issue_zeroout, struct inode *inode, __u32 lblk, __u64 pblk,
	     __u32 len)
{
	zero_fsblocks(inode, lblk, pblk, len, DT_ZOP_EXT4,
		      DT_HOOK_FN_EXT4_ZEROOUT, true);
	return 0;
}

SEC("kprobe/ext4_issue_zeroout")
int BPF_KPROBE(kp_ext4_issue_zeroout, struct inode *inode, __u32 lblk,
	       __u64 pblk, __u32 len)
{
	zero_fsblocks(inode, lblk, pblk, len, DT_ZOP_EXT4,
		      DT_HOOK_FN_EXT4_ZEROOUT, false);
	return 0;
}

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
				     __u16 hook)
{
	struct dt_event e;
	struct inode *inode = &ip->i_vnode;
	__u32 bits = BPF_CORE_READ(inode, i_blkbits);

	ev_init(&e, DT_ZERO, hook);
	ev_inode(&e, inode);
	e.op = op;
	if (lblk != (__u64)-1) {
		e.pgoff = (lblk << bits) >> DT_PAGE_SHIFT;
		e.nr_pages = ((count << bits) + (1 << DT_PAGE_SHIFT) - 1) >>
			DT_PAGE_SHIFT;
	}
	e.block = xfs_fsb_to_sector(ip, fsb);
	e.len = count << bits;
	ev_emit(&e);
}

/* xfs_zero_extent() does not know the file offset: pgoff/nr_pages stay 0
 * and the analyzer matches the zeroing by sector. */
SEC("fentry/xfs_zero_extent")
int BPF_PROG(fe_xfs_zero_extent, struct xfs_inode___dt *ip, __u64 fsb,
	     __u64 count)
{
	zero_xfs(ip, (__u64)-1, fsb, count, DT_ZOP_XFS,
		 DT_HOOK_FN_XFS_ZERO_EXTENT);
	return 0;
}

SEC("kprobe/xfs_zero_extent")
int BPF_KPROBE(kp_xfs_zero_extent, struct xfs_inode___dt *ip, __u64 fsb,
	       __u64 count)
{
	zero_xfs(ip, (__u64)-1, fsb, count, DT_ZOP_XFS,
		 DT_HOOK_FN_XFS_ZERO_EXTENT);
	return 0;
}

static __always_inline void zero_range(struct inode *inode, __u64 pos, __u64 len)
{
	struct dt_event e;

	ev_init(&e, DT_ZERO, DT_HOOK_FN_DAX_ZERO_RANGE);
	ev_inode(&e, inode);
	e.op = DT_ZOP_DAX_RANGE;
	e.pgoff = pos >> DT_PAGE_SHIFT;
	e.nr_pages = (len + (1 << DT_PAGE_SHIFT) - 1) >> DT_PAGE_SHIFT;
	e.len = len;
	ev_emit(&e);
}

SEC("fentry/dax_zero_range")
int BPF_PROG(fe_dax_zero_range, struct inode *inode, __s64 pos, __s64 len)
{
	zero_range(inode, pos, len);
	return 0;
}

SEC("kprobe/dax_zero_range")
int BPF_KPROBE(kp_dax_zero_range, struct inode *inode, __s64 pos, __s64 len)
{
	zero_range(inode, pos, len);
	return 0;
}

/* New tracepoints (patches/): zeroing inside the allocator. */
TRACEPOINT_PROGS(ext4_alloc_zeroout, (struct inode *inode, __u32 lblk,
	__u64 pblk, unsigned int len),
	zero_fsblocks(inode, lblk, pblk, len, DT_ZOP_ALLOC, DT_HOOK_TP_ALLOC_ZERO, direct))
TRACEPOINT_PROGS(xfs_alloc_zero_extent, (struct xfs_inode___dt *ip, __u64 lblk,
	__u64 pblk, __u32 len),
	zero_xfs(ip, lblk, pblk, len, DT_ZOP_ALLOC, DT_HOOK_TP_XFS_ALLOC_ZERO))

#endif /* DAXTRACE_ZEROING_BPF_H */
