/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Z, T: the filesystem's mapping answer (iomap).
 *
 * What ->iomap_begin answered for a file range (type, IOMAP_F_NEW,
 * sector): the iomap_iter_dstmap tracepoint, else iomap_iter() on return,
 * else the filesystems' own iomap_begin.
 */
#ifndef DAXTRACE_IOMAP_BPF_H
#define DAXTRACE_IOMAP_BPF_H

#include "core.bpf.h"

static __always_inline void emit_iomap_read(struct inode *inode, struct iomap *map,
					  __u8 hook, bool direct)
{
	struct dt_out o;
	struct dt_rec_ext *x;
	__u64 addr, off, len;

	/* Only DAX mappings: their iomap carries the dax_device. */
	if (!READ_KERNEL(direct, map, dax_dev))
		return;
	if (!rec_open_inode_part(&o, DT_IOMAP, hook, inode, direct, 0, true, 1,
				 part_if(hook == DT_HOOK_TP_IOMAP_DSTMAP, DT_PART_IOMAP)))
		return;
	x = rec_ext(&o);
	addr = READ_KERNEL(direct, map, addr);
	off = READ_KERNEL(direct, map, offset);
	len = READ_KERNEL(direct, map, length);
	x->r.pgoff = off >> DT_PAGE_SHIFT;
	x->r.nr_pages = (len + (1 << DT_PAGE_SHIFT) - 1) >> DT_PAGE_SHIFT;
	x->len = len;
	x->block = addr == (__u64)-1 ? (__u64)-1 : addr >> 9;
	x->iomap_type = READ_KERNEL(direct, map, type);
	x->iomap_flags = READ_KERNEL(direct, map, flags);
	rec_submit(&o);
}

#define emit_iomap(inode, map, hook) emit_iomap_read(inode, map, hook, false)

/* iomap:iomap_iter_dstmap fires right after ->iomap_begin filled the map. */
TRACEPOINT_PROGS(iomap_iter_dstmap, (struct inode *inode, struct iomap *iomap),
	emit_iomap_read(inode, iomap, DT_HOOK_TP_IOMAP_DSTMAP, direct))

SEC("fexit/iomap_iter")
int BPF_PROG(fx_iomap_iter, struct iomap_iter *iter, void *ops, int ret)
{
	if (!empty_programs && ret > 0)
		emit_iomap(BPF_CORE_READ(iter, inode), &iter->iomap,
			   DT_HOOK_FN_IOMAP_ITER);
	return 0;
}

SEC("kprobe/iomap_iter")
int BPF_KPROBE(kp_iomap_iter, struct iomap_iter *iter)
{
	if (!empty_programs)
		save_args(DT_HOOK_FN_IOMAP_ITER, (__u64)iter, 0, 0);
	return 0;
}

SEC("kretprobe/iomap_iter")
int BPF_KRETPROBE(kr_iomap_iter, int ret)
{
	struct dt_args a;
	struct iomap_iter *iter;

	if (empty_programs || !take_args(DT_HOOK_FN_IOMAP_ITER, &a) || ret <= 0)
		return 0;
	iter = (struct iomap_iter *)a.a[0];
	emit_iomap(BPF_CORE_READ(iter, inode), &iter->iomap,
		   DT_HOOK_FN_IOMAP_ITER);
	return 0;
}

/* Fallback: the filesystems' own iomap_begin (ext4; xfs DAX writes). */
#define IOMAP_BEGIN_PROGS(fn, hook)					\
SEC("fexit/" #fn)							\
int BPF_PROG(fx_##fn, struct inode *inode, __s64 off, __s64 len,	\
	     unsigned int flags, struct iomap *iomap, struct iomap *src,	\
	     int ret)								\
{									\
	if (!empty_programs && ret == 0)				\
		emit_iomap(inode, iomap, hook);				\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int BPF_KPROBE(kp_##fn, struct inode *inode, __s64 off, __s64 len,	\
	       unsigned int flags, struct iomap *iomap)			\
{									\
	if (!empty_programs)						\
		save_args(hook, (__u64)inode, (__u64)iomap, 0);		\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int BPF_KRETPROBE(kr_##fn, int ret)					\
{									\
	struct dt_args a;						\
									\
	if (!empty_programs && take_args(hook, &a) && ret == 0)		\
		emit_iomap((struct inode *)a.a[0],			\
			   (struct iomap *)a.a[1], hook);		\
	return 0;							\
}

IOMAP_BEGIN_PROGS(ext4_iomap_begin, DT_HOOK_FN_EXT4_IOMAP_BEGIN)
IOMAP_BEGIN_PROGS(xfs_direct_write_iomap_begin, DT_HOOK_FN_XFS_IOMAP_BEGIN)

#endif /* DAXTRACE_IOMAP_BPF_H */
