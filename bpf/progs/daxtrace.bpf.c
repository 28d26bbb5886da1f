// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * daxtrace BPF programs: every hook point of DESIGN.md §3, in every attach
 * flavour it can have (tp_btf, raw_tp, fentry/fexit, kprobe/kretprobe).
 * The loader (probe_set.cpp) turns on, per logical hook, the first flavour
 * the running kernel supports and turns the others off before load, so one
 * compiled object runs everywhere.
 *
 * All kernel memory is read with BPF_CORE_READ (bpf_probe_read_kernel), so
 * the same handler body is valid in BTF-typed programs (tp_btf, fentry) and
 * in untyped ones (raw_tp, kprobe).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "daxtrace_abi.h"
#include "daxtrace_bpf_compat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- configuration, written by the loader before load ------------------- */

const volatile __u64 filter_dev = 0;	/* 0 = any (kernel dev_t encoding) */
const volatile __u64 filter_ino = 0;	/* 0 = any */
const volatile __u32 filter_pid = 0;	/* tgid, 0 = any */
const volatile __u64 filter_cgroup = 0;	/* cgroup v2 id, 0 = any */
/* Address of the kernel variable vmemmap_base (from /proc/kallsyms); 0 =
 * use the non-randomised default.  Needed to turn a pfn into a struct page
 * where the kernel gives us only the pfn (dax_disassociate_entry on 6.1). */
const volatile __u64 vmemmap_base_addr = 0;
/* Wake the consumer only when this much data is waiting (0 = on every
 * event); the consumer's poll timeout bounds the latency otherwise. */
const volatile __u64 wakeup_bytes = 0;
/* The dax_busy_page tracepoint is attached: the busy-scan function hook
 * then reports only the scan result, not the busy page a second time. */
const volatile bool tp_busy_page_attached = false;

/* ---- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* loader may resize before load */
} dt_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_cpu_stats);
} dt_stats SEC(".maps");

struct dt_pend_key {
	__u32 tid;
	__u32 hook;
};

/* ENTER events waiting for their EXIT (fexit and kretprobe alike). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dt_pend_key);
	__type(value, struct dt_event);
} dt_pending SEC(".maps");

/* Arguments saved by a kprobe for the kretprobe that needs them. */
struct dt_args {
	__u64 a[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dt_pend_key);
	__type(value, struct dt_args);
} dt_saved_args SEC(".maps");

/* ---- helpers ------------------------------------------------------------- */

/*
 * RD(d, src, a, b, ...) reads src->a->b...: with d true as a direct load
 * (BTF-typed programs: tp_btf, fentry/fexit; the verifier checks the
 * access and no helper call is made), else with bpf_probe_read_kernel
 * (raw_tp, kprobe).  d is a literal at every call site and the handlers
 * are always_inline, so each program keeps only one of the two paths.
 */
#define DT_D1(s, a) ((s)->a)
#define DT_D2(s, a, b) ((s)->a->b)
#define DT_D3(s, a, b, c) ((s)->a->b->c)
#define DT_D4(s, a, b, c, e) ((s)->a->b->c->e)
#define DT_DIRECT(s, ...) ___apply(DT_D, ___narg(__VA_ARGS__))(s, __VA_ARGS__)
#define RD(d, s, ...)							\
	((d) ? (__typeof__(BPF_CORE_READ(s, __VA_ARGS__)))DT_DIRECT(s, __VA_ARGS__) \
	     : BPF_CORE_READ(s, __VA_ARGS__))

#define DT_PAGE_SHIFT 12
#define DT_S_DAX (1u << 13)		/* include/linux/fs.h, 4.9 .. 6.18 */
#define DT_ATTR_SIZE (1u << 3)
#define DT_FALLOC_FL_PUNCH_HOLE 0x02
#define DT_FALLOC_FL_COLLAPSE_RANGE 0x08
#define DT_FALLOC_FL_ZERO_RANGE 0x10
#define DT_FALLOC_FL_INSERT_RANGE 0x20
#define DT_EXT4_IOC_SWAP_BOOT 0x6611	/* _IO('f', 17) */
#define DT_DAX_SHIFT 4			/* fs/dax.c entry encoding */
#define DT_DAX_ZERO_PAGE (1ul << 2)
#define DT_DAX_EMPTY (1ul << 3)
#define DT_VMEMMAP_DEFAULT 0xffffea0000000000ull

static __always_inline struct dt_cpu_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dt_stats, &zero);
}

static __always_inline void ev_init(struct dt_event *e, __u16 type, __u16 hook)
{
	__u64 id = bpf_get_current_pid_tgid();

	__builtin_memset(e, 0, sizeof(*e));
	e->ts = bpf_ktime_get_ns();
	e->type = type;
	e->hook = hook;
	e->cpu = bpf_get_smp_processor_id();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void ev_inode_rd(struct dt_event *e, struct inode *inode,
					bool d)
{
	if (!inode) {
		e->flags |= DT_F_NOINODE;
		return;
	}
	e->dev = RD(d, inode, i_sb, s_dev);
	e->ino = RD(d, inode, i_ino);
}

#define ev_inode(e, inode) ev_inode_rd(e, inode, false)

static __always_inline bool inode_is_dax(struct inode *inode)
{
	return inode && (BPF_CORE_READ(inode, i_flags) & DT_S_DAX);
}

static __always_inline bool ev_pass(const struct dt_event *e)
{
	if (filter_pid && e->pid != filter_pid)
		return false;
	if (filter_dev && e->dev != filter_dev)
		return false;
	if (filter_ino && !(e->flags & DT_F_NOINODE) && e->ino != filter_ino)
		return false;
	if (filter_cgroup && bpf_get_current_cgroup_id() != filter_cgroup)
		return false;
	return true;
}

/* Filter, then copy into the ring buffer; count what happened. */
static __always_inline bool ev_emit(struct dt_event *e)
{
	struct dt_cpu_stats *s = stats();

	if (!ev_pass(e)) {
		if (s)
			s->filtered++;
		return false;
	}
	__u64 wake = 0;

	if (wakeup_bytes)
		wake = bpf_ringbuf_query(&dt_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
			BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&dt_events, e, sizeof(*e), wake)) {
		if (s)
			s->dropped++;
	} else if (s) {
		s->emitted++;
	}
	return true;
}

static __always_inline struct dt_pend_key pend_key(__u16 hook)
{
	struct dt_pend_key k = {
		.tid = (__u32)bpf_get_current_pid_tgid(),
		.hook = hook,
	};
	return k;
}

/* Emit an ENTER event and remember it for the matching EXIT. */
static __always_inline void ev_enter(struct dt_event *e)
{
	struct dt_pend_key k;

	if (!ev_emit(e))
		return;
	k = pend_key(e->hook);
	bpf_map_update_elem(&dt_pending, &k, e, BPF_ANY);
}

/* EXIT of a function whose ENTER was emitted: same fields, new time. */
static __always_inline void ev_exit(__u16 hook, __u16 type, __s64 ret)
{
	struct dt_pend_key k = pend_key(hook);
	struct dt_event *p, e;

	p = bpf_map_lookup_elem(&dt_pending, &k);
	if (!p)
		return;
	e = *p;
	bpf_map_delete_elem(&dt_pending, &k);
	e.ts = bpf_ktime_get_ns();
	e.type = type;
	e.ret = ret;
	e.cpu = bpf_get_smp_processor_id();
	ev_emit(&e);
}

static __always_inline void save_args(__u16 hook, __u64 a0, __u64 a1, __u64 a2)
{
	struct dt_pend_key k = pend_key(hook);
	struct dt_args v = { .a = { a0, a1, a2 } };

	bpf_map_update_elem(&dt_saved_args, &k, &v, BPF_ANY);
}

static __always_inline bool take_args(__u16 hook, struct dt_args *out)
{
	struct dt_pend_key k = pend_key(hook);
	struct dt_args *v = bpf_map_lookup_elem(&dt_saved_args, &k);

	if (!v)
		return false;
	*out = *v;
	bpf_map_delete_elem(&dt_saved_args, &k);
	return true;
}

static __always_inline struct inode *vmf_inode(struct vm_fault *vmf)
{
	return BPF_CORE_READ(vmf, vma, vm_file, f_mapping, host);
}

static __always_inline struct inode *file_inode_of(struct file *f)
{
	return BPF_CORE_READ(f, f_mapping, host);
}

static __always_inline __u32 fault_flag_write(void)
{
	return bpf_core_enum_value(enum fault_flag, FAULT_FLAG_WRITE);
}

static __always_inline __u32 fault_flag_mkwrite(void)
{
	return bpf_core_enum_value(enum fault_flag, FAULT_FLAG_MKWRITE);
}

static __always_inline __u32 page_refcount(struct page *page)
{
	if (!page)
		return 0;
	return BPF_CORE_READ(page, _refcount.counter);
}

static __always_inline __u64 page_index(struct page *page)
{
	if (bpf_core_field_exists(struct page___new, __folio_index))
		return BPF_CORE_READ((struct page___new *)page, __folio_index);
	return BPF_CORE_READ((struct page___old *)page, index);
}

static __always_inline struct page *pfn_to_page_ptr(__u64 pfn)
{
	__u64 base = DT_VMEMMAP_DEFAULT;

	if (vmemmap_base_addr)
		bpf_probe_read_kernel(&base, sizeof(base),
				      (void *)vmemmap_base_addr);
	return (struct page *)(base + pfn * bpf_core_type_size(struct page));
}

/* ---- Z/W/T: DAX faults --------------------------------------------------- */

static __always_inline void tp_fault(struct inode *inode, struct vm_fault *vmf,
				     int result, __u16 type, __u16 hook,
				     __u32 pmd, bool d)
{
	struct dt_event e;
	__u32 fl = RD(d, vmf, flags);

	ev_init(&e, type, hook);
	ev_inode_rd(&e, inode, d);
	e.pgoff = RD(d, vmf, pgoff);
	e.nr_pages = pmd ? 512 : 1;
	e.flags = pmd;
	if (fl & fault_flag_write())
		e.flags |= DT_F_WRITE;
	if (type == DT_FAULT_EXIT)
		e.ret = result;
	ev_emit(&e);
}

/* `call` may use DIRECT: true in the tp_btf program, false in raw_tp. */
#define TP_PAIR(name, proto, call)					\
SEC("tp_btf/" #name) int BPF_PROG(btf_##name, proto)			\
{ const bool DIRECT __attribute__((unused)) = true; call; return 0; }				\
SEC("raw_tp/" #name) int BPF_PROG(raw_##name, proto)			\
{ const bool DIRECT __attribute__((unused)) = false; call; return 0; }

#define COMMA ,

TP_PAIR(dax_pte_fault, struct inode *inode COMMA struct vm_fault *vmf COMMA int result,
	tp_fault(inode, vmf, result, DT_FAULT_ENTER, DT_HOOK_TP_PTE_FAULT, 0, DIRECT))
TP_PAIR(dax_pte_fault_done, struct inode *inode COMMA struct vm_fault *vmf COMMA int result,
	tp_fault(inode, vmf, result, DT_FAULT_EXIT, DT_HOOK_TP_PTE_FAULT_DONE, 0, DIRECT))
TP_PAIR(dax_pmd_fault, struct inode *inode COMMA struct vm_fault *vmf COMMA
	unsigned long max_pgoff COMMA int result,
	tp_fault(inode, vmf, result, DT_FAULT_ENTER, DT_HOOK_TP_PMD_FAULT, DT_F_PMD, DIRECT))
TP_PAIR(dax_pmd_fault_done, struct inode *inode COMMA struct vm_fault *vmf COMMA
	unsigned long max_pgoff COMMA int result,
	tp_fault(inode, vmf, result, DT_FAULT_EXIT, DT_HOOK_TP_PMD_FAULT_DONE, DT_F_PMD, DIRECT))

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

/* ---- Z/T: the mapping callback's answer (iomap) ------------------------- */

static __always_inline void emit_iomap_rd(struct inode *inode, struct iomap *map,
					  __u16 hook, bool d)
{
	struct dt_event e;
	__u64 addr, off, len;

	/* Only DAX mappings: their iomap carries the dax_device. */
	if (!RD(d, map, dax_dev))
		return;
	ev_init(&e, DT_IOMAP, hook);
	ev_inode_rd(&e, inode, d);
	addr = RD(d, map, addr);
	off = RD(d, map, offset);
	len = RD(d, map, length);
	e.pgoff = off >> DT_PAGE_SHIFT;
	e.nr_pages = (len + (1 << DT_PAGE_SHIFT) - 1) >> DT_PAGE_SHIFT;
	e.len = len;
	e.block = addr == (__u64)-1 ? (__u64)-1 : addr >> 9;
	e.iomap_type = RD(d, map, type);
	e.iomap_flags = RD(d, map, flags);
	ev_emit(&e);
}

#define emit_iomap(inode, map, hook) emit_iomap_rd(inode, map, hook, false)

/* iomap:iomap_iter_dstmap fires right after ->iomap_begin filled the map. */
TP_PAIR(iomap_iter_dstmap, struct inode *inode COMMA struct iomap *iomap,
	emit_iomap_rd(inode, iomap, DT_HOOK_TP_IOMAP_DSTMAP, DIRECT))

SEC("fexit/iomap_iter")
int BPF_PROG(fx_iomap_iter, struct iomap_iter *iter, void *ops, int ret)
{
	if (ret > 0)
		emit_iomap(BPF_CORE_READ(iter, inode), &iter->iomap,
			   DT_HOOK_FN_IOMAP_ITER);
	return 0;
}

SEC("kprobe/iomap_iter")
int BPF_KPROBE(kp_iomap_iter, struct iomap_iter *iter)
{
	save_args(DT_HOOK_FN_IOMAP_ITER, (__u64)iter, 0, 0);
	return 0;
}

SEC("kretprobe/iomap_iter")
int BPF_KRETPROBE(kr_iomap_iter, int ret)
{
	struct dt_args a;
	struct iomap_iter *iter;

	if (!take_args(DT_HOOK_FN_IOMAP_ITER, &a) || ret <= 0)
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
	if (ret == 0)							\
		emit_iomap(inode, iomap, hook);				\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int BPF_KPROBE(kp_##fn, struct inode *inode, __s64 off, __s64 len,	\
	       unsigned int flags, struct iomap *iomap)			\
{									\
	save_args(hook, (__u64)inode, (__u64)iomap, 0);			\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int BPF_KRETPROBE(kr_##fn, int ret)					\
{									\
	struct dt_args a;						\
									\
	if (take_args(hook, &a) && ret == 0)				\
		emit_iomap((struct inode *)a.a[0],			\
			   (struct iomap *)a.a[1], hook);		\
	return 0;							\
}

IOMAP_BEGIN_PROGS(ext4_iomap_begin, DT_HOOK_FN_EXT4_IOMAP_BEGIN)
IOMAP_BEGIN_PROGS(xfs_direct_write_iomap_begin, DT_HOOK_FN_XFS_IOMAP_BEGIN)

/* ---- Z: zeroing ---------------------------------------------------------- */

static __always_inline void zero_blkdev(struct block_device *bdev, __u64 sector,
					__u64 nr_sects, bool d)
{
	struct dt_event e;

	ev_init(&e, DT_ZERO, DT_HOOK_FN_BLKDEV_ZEROOUT);
	e.op = DT_ZOP_BLKDEV;
	e.flags = DT_F_NOINODE;
	e.dev = RD(d, bdev, bd_dev);
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
					  __u16 hook, bool d)
{
	struct dt_event e;
	__u32 bits = RD(d, inode, i_blkbits);

	ev_init(&e, DT_ZERO, hook);
	ev_inode_rd(&e, inode, d);
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
TP_PAIR(ext4_alloc_zeroout, struct inode *inode COMMA __u32 lblk COMMA
	__u64 pblk COMMA unsigned int len,
	zero_fsblocks(inode, lblk, pblk, len, DT_ZOP_ALLOC, DT_HOOK_TP_ALLOC_ZERO, DIRECT))
TP_PAIR(xfs_alloc_zero_extent, struct xfs_inode___dt *ip COMMA __u64 lblk COMMA
	__u64 pblk COMMA __u32 len,
	zero_xfs(ip, lblk, pblk, len, DT_ZOP_ALLOC, DT_HOOK_TP_XFS_ALLOC_ZERO))

/* ---- W: first write (pfn_mkwrite) ---------------------------------------- */

/* ext4's pfn_mkwrite is ext4_dax_fault(), which is also its ->fault and
 * ->page_mkwrite: only the calls flagged FAULT_FLAG_MKWRITE count. */
static __always_inline void mkwrite_enter(struct vm_fault *vmf, __u16 hook,
					  bool need_flag, bool d)
{
	struct dt_event e;
	__u32 fl = RD(d, vmf, flags);

	if (need_flag && !(fl & fault_flag_mkwrite()))
		return;
	ev_init(&e, DT_MKWRITE_ENTER, hook);
	ev_inode_rd(&e, RD(d, vmf, vma, vm_file, f_mapping, host), d);
	e.pgoff = RD(d, vmf, pgoff);
	e.nr_pages = 1;
	e.flags = DT_F_WRITE;
	ev_enter(&e);
}

#define MKWRITE_PROGS(fn, hook, need_flag)				\
SEC("fentry/" #fn)							\
int BPF_PROG(fe_##fn, struct vm_fault *vmf)				\
{									\
	mkwrite_enter(vmf, hook, need_flag, true);			\
	return 0;							\
}									\
SEC("fexit/" #fn)							\
int BPF_PROG(fx_##fn, struct vm_fault *vmf, unsigned int ret)		\
{									\
	if (need_flag && !(RD(true, vmf, flags) & fault_flag_mkwrite())) \
		return 0;						\
	ev_exit(hook, DT_MKWRITE_EXIT, ret);				\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int BPF_KPROBE(kp_##fn, struct vm_fault *vmf)				\
{									\
	mkwrite_enter(vmf, hook, need_flag, false);			\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int BPF_KRETPROBE(kr_##fn, unsigned int ret)				\
{									\
	ev_exit(hook, DT_MKWRITE_EXIT, ret);				\
	return 0;							\
}

MKWRITE_PROGS(ext4_dax_fault, DT_HOOK_FN_EXT4_PFN_MKWRITE, true)
MKWRITE_PROGS(xfs_filemap_pfn_mkwrite, DT_HOOK_FN_XFS_PFN_MKWRITE, false)

/* dax_insert_pfn_mkwrite: MAP_SYNC faults dirty the entry after the fsync. */
static __always_inline void tp_insert_mkwrite(struct inode *inode,
					      struct vm_fault *vmf, int result)
{
	struct dt_event e;

	ev_init(&e, DT_MKWRITE_DIRTY, DT_HOOK_TP_INSERT_PFN_MKWRITE);
	ev_inode(&e, inode);
	e.pgoff = BPF_CORE_READ(vmf, pgoff);
	e.nr_pages = 1;
	e.flags = DT_F_WRITE | DT_F_SYNC;
	e.ret = result;
	ev_emit(&e);
}

TP_PAIR(dax_insert_pfn_mkwrite, struct inode *inode COMMA struct vm_fault *vmf COMMA
	int result, tp_insert_mkwrite(inode, vmf, result))

/* New tracepoints (patches/): entry tagged dirty / cleaned. */
static __always_inline void tp_entry(struct inode *inode, __u64 index,
				     __u64 pfn, __u16 type, __u16 hook)
{
	struct dt_event e;

	ev_init(&e, type, hook);
	ev_inode(&e, inode);
	e.pgoff = index;
	e.nr_pages = 1;
	e.block = pfn;		/* pfn, not a sector, for these two hooks */
	if (type == DT_MKWRITE_DIRTY)
		e.flags = DT_F_WRITE;
	ev_emit(&e);
}

TP_PAIR(dax_entry_mkdirty, struct inode *inode COMMA unsigned long index COMMA
	unsigned long pfn,
	tp_entry(inode, index, pfn, DT_MKWRITE_DIRTY, DT_HOOK_TP_MKWRITE_DIRTY))
TP_PAIR(dax_entry_mkclean, struct inode *inode COMMA unsigned long index COMMA
	unsigned long pfn,
	tp_entry(inode, index, pfn, DT_WB_ENTRY, DT_HOOK_TP_ENTRY_MKCLEAN))

/* ---- W: writeback -------------------------------------------------------- */

static __always_inline void tp_wb(struct inode *inode, __u64 start, __u64 end,
				  __u16 type, __u16 hook, bool d)
{
	struct dt_event e;

	ev_init(&e, type, hook);
	ev_inode_rd(&e, inode, d);
	e.pgoff = start;
	/* range tracepoints give [start, end]; writeback_one gives a length */
	if (type == DT_WB_ENTRY)
		e.nr_pages = end;
	else if (end >= (0x7fffffffffffffffull >> DT_PAGE_SHIFT) || end < start)
		e.nr_pages = 0;		/* to the end of the file */
	else
		e.nr_pages = end - start + 1;
	ev_emit(&e);
}

TP_PAIR(dax_writeback_range, struct inode *inode COMMA unsigned long start COMMA
	unsigned long end,
	tp_wb(inode, start, end, DT_WB_RANGE_ENTER, DT_HOOK_TP_WRITEBACK_RANGE, DIRECT))
TP_PAIR(dax_writeback_range_done, struct inode *inode COMMA unsigned long start COMMA
	unsigned long end,
	tp_wb(inode, start, end, DT_WB_RANGE_EXIT, DT_HOOK_TP_WRITEBACK_RANGE_DONE, DIRECT))
TP_PAIR(dax_writeback_one, struct inode *inode COMMA unsigned long pgoff COMMA
	unsigned long pglen,
	tp_wb(inode, pgoff, pglen, DT_WB_ENTRY, DT_HOOK_TP_WRITEBACK_ONE, DIRECT))

static __always_inline void wb_fn_enter(struct address_space *mapping,
					struct writeback_control *wbc)
{
	struct dt_event e;
	__s64 start = BPF_CORE_READ(wbc, range_start);
	__s64 end = BPF_CORE_READ(wbc, range_end);

	ev_init(&e, DT_WB_RANGE_ENTER, DT_HOOK_FN_DAX_WRITEBACK_RANGE);
	ev_inode(&e, BPF_CORE_READ(mapping, host));
	e.pgoff = start >> DT_PAGE_SHIFT;
	e.nr_pages = end == 0x7fffffffffffffffll ? 0 :
		((end >> DT_PAGE_SHIFT) - e.pgoff + 1);
	ev_enter(&e);
}

SEC("fentry/dax_writeback_mapping_range")
int BPF_PROG(fe_dax_writeback_mapping_range, struct address_space *mapping,
	     void *dax_dev, struct writeback_control *wbc)
{
	wb_fn_enter(mapping, wbc);
	return 0;
}

SEC("fexit/dax_writeback_mapping_range")
int BPF_PROG(fx_dax_writeback_mapping_range, struct address_space *mapping,
	     void *dax_dev, struct writeback_control *wbc, int ret)
{
	ev_exit(DT_HOOK_FN_DAX_WRITEBACK_RANGE, DT_WB_RANGE_EXIT, ret);
	return 0;
}

SEC("kprobe/dax_writeback_mapping_range")
int BPF_KPROBE(kp_dax_writeback_mapping_range, struct address_space *mapping,
	       void *dax_dev, struct writeback_control *wbc)
{
	wb_fn_enter(mapping, wbc);
	return 0;
}

SEC("kretprobe/dax_writeback_mapping_range")
int BPF_KRETPROBE(kr_dax_writeback_mapping_range, int ret)
{
	ev_exit(DT_HOOK_FN_DAX_WRITEBACK_RANGE, DT_WB_RANGE_EXIT, ret);
	return 0;
}

/* fsync/msync on DAX files only (S_DAX), so other files cost one test. */
static __always_inline void fsync_enter(struct file *file, __s64 start,
					__s64 end, int datasync)
{
	struct dt_event e;
	struct inode *inode = file_inode_of(file);

	if (!inode_is_dax(inode))
		return;
	ev_init(&e, DT_FSYNC_ENTER, DT_HOOK_FN_VFS_FSYNC_RANGE);
	ev_inode(&e, inode);
	e.pgoff = start >> DT_PAGE_SHIFT;
	e.nr_pages = end == 0x7fffffffffffffffll ? 0 :
		((end >> DT_PAGE_SHIFT) - e.pgoff + 1);
	if (datasync)
		e.flags |= DT_F_DATASYNC;
	ev_enter(&e);
}

SEC("fentry/vfs_fsync_range")
int BPF_PROG(fe_vfs_fsync_range, struct file *file, __s64 start, __s64 end,
	     int datasync)
{
	fsync_enter(file, start, end, datasync);
	return 0;
}

SEC("fexit/vfs_fsync_range")
int BPF_PROG(fx_vfs_fsync_range, struct file *file, __s64 start, __s64 end,
	     int datasync, int ret)
{
	ev_exit(DT_HOOK_FN_VFS_FSYNC_RANGE, DT_FSYNC_EXIT, ret);
	return 0;
}

SEC("kprobe/vfs_fsync_range")
int BPF_KPROBE(kp_vfs_fsync_range, struct file *file, __s64 start, __s64 end,
	       int datasync)
{
	fsync_enter(file, start, end, datasync);
	return 0;
}

SEC("kretprobe/vfs_fsync_range")
int BPF_KRETPROBE(kr_vfs_fsync_range, int ret)
{
	ev_exit(DT_HOOK_FN_VFS_FSYNC_RANGE, DT_FSYNC_EXIT, ret);
	return 0;
}

/* ---- L: layout breaks ---------------------------------------------------- */

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

TP_PAIR(dax_layout_break_begin, struct inode *inode,
	tp_break(inode, 0, DT_BREAK_ENTER, DT_HOOK_TP_BREAK_BEGIN))
TP_PAIR(dax_layout_break_end, struct inode *inode COMMA int ret,
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

TP_PAIR(dax_busy_page, struct inode *inode COMMA unsigned long index COMMA
	struct page *page,
	tp_page(inode, index, page, DT_BREAK_BUSY, DT_HOOK_TP_BREAK_BUSY, DT_F_BUSY))
TP_PAIR(dax_layout_wait, struct inode *inode COMMA struct page *page,
	tp_page(inode, (__u64)-1, page, DT_BREAK_WAIT, DT_HOOK_TP_BREAK_WAIT, 0))
TP_PAIR(dax_entry_disassociate, struct inode *inode COMMA unsigned long index COMMA
	struct page *page COMMA bool trunc,
	tp_page(inode, index, page, DT_ENTRY_DISASSOC, DT_HOOK_TP_DISASSOCIATE,
		trunc ? DT_F_TRUNC : 0))

/* ---- L/T: block removal -------------------------------------------------- */

static __always_inline void remove_enter(struct inode *inode, __u16 op,
					 __s64 off, __s64 len, __u16 hook)
{
	struct dt_event e;

	if (!inode_is_dax(inode))
		return;
	ev_init(&e, DT_REMOVE_ENTER, hook);
	ev_inode(&e, inode);
	e.op = op;
	e.pgoff = off >> DT_PAGE_SHIFT;
	e.nr_pages = len <= 0 ? 0 : ((off + len - 1) >> DT_PAGE_SHIFT) - e.pgoff + 1;
	e.len = len;
	ev_enter(&e);
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

static __always_inline void falloc_enter(struct file *file, int mode, __s64 off,
					 __s64 len, __u16 hook)
{
	__u16 op = falloc_op(mode);

	if (op != DT_ROP_UNKNOWN)
		remove_enter(file_inode_of(file), op, off, len, hook);
}

/* truncate: ->setattr with ATTR_SIZE; off = new size, len 0 = to EOF. */
static __always_inline void setattr_enter(struct dentry *dentry,
					  struct iattr *attr, __u16 hook)
{
	if (!(BPF_CORE_READ(attr, ia_valid) & DT_ATTR_SIZE))
		return;
	remove_enter(BPF_CORE_READ(dentry, d_inode), DT_ROP_TRUNCATE,
		     BPF_CORE_READ(attr, ia_size), 0, hook);
}

#define REMOVE_EXIT_PROGS(fn, hook, nargs_fexit_proto)			\
SEC("fexit/" #fn)							\
int BPF_PROG(fx_##fn, nargs_fexit_proto)				\
{									\
	ev_exit(hook, DT_REMOVE_EXIT, (int)ret);			\
	return 0;							\
}									\
SEC("kretprobe/" #fn)							\
int BPF_KRETPROBE(kr_##fn, long ret)					\
{									\
	ev_exit(hook, DT_REMOVE_EXIT, (int)ret);			\
	return 0;							\
}

#define FALLOC_PROGS(fn, hook)						\
SEC("fentry/" #fn)							\
int BPF_PROG(fe_##fn, struct file *file, int mode, __s64 off, __s64 len) \
{									\
	falloc_enter(file, mode, off, len, hook);			\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int BPF_KPROBE(kp_##fn, struct file *file, int mode, __s64 off, __s64 len) \
{									\
	falloc_enter(file, mode, off, len, hook);			\
	return 0;							\
}									\
REMOVE_EXIT_PROGS(fn, hook, struct file *file COMMA int mode COMMA	\
		  __s64 off COMMA __s64 len COMMA long ret)

FALLOC_PROGS(ext4_fallocate, DT_HOOK_FN_EXT4_FALLOCATE)
FALLOC_PROGS(xfs_file_fallocate, DT_HOOK_FN_XFS_FALLOCATE)

/* ext4_punch_hole(file, off, len) on 6.1 .. 6.18 (fallback for
 * ext4_fallocate). */
SEC("fentry/ext4_punch_hole")
int BPF_PROG(fe_ext4_punch_hole, struct file *file, __s64 off, __s64 len)
{
	remove_enter(file_inode_of(file), DT_ROP_PUNCH, off, len,
		     DT_HOOK_FN_EXT4_PUNCH_HOLE);
	return 0;
}

SEC("kprobe/ext4_punch_hole")
int BPF_KPROBE(kp_ext4_punch_hole, struct file *file, __s64 off, __s64 len)
{
	remove_enter(file_inode_of(file), DT_ROP_PUNCH, off, len,
		     DT_HOOK_FN_EXT4_PUNCH_HOLE);
	return 0;
}

REMOVE_EXIT_PROGS(ext4_punch_hole, DT_HOOK_FN_EXT4_PUNCH_HOLE,
		  struct file *file COMMA __s64 off COMMA __s64 len COMMA int ret)

#define SETATTR_PROGS(fn, hook)						\
SEC("fentry/" #fn)							\
int BPF_PROG(fe_##fn, void *idmap, struct dentry *dentry,		\
	     struct iattr *attr)					\
{									\
	setattr_enter(dentry, attr, hook);				\
	return 0;							\
}									\
SEC("kprobe/" #fn)							\
int BPF_KPROBE(kp_##fn, void *idmap, struct dentry *dentry,		\
	       struct iattr *attr)					\
{									\
	setattr_enter(dentry, attr, hook);				\
	return 0;							\
}									\
REMOVE_EXIT_PROGS(fn, hook, void *idmap COMMA struct dentry *dentry COMMA \
		  struct iattr *attr COMMA int ret)

SETATTR_PROGS(ext4_setattr, DT_HOOK_FN_EXT4_SETATTR)
SETATTR_PROGS(xfs_vn_setattr, DT_HOOK_FN_XFS_SETATTR)

/* EXT4_IOC_SWAP_BOOT: swaps the whole block map with the boot inode. */
static __always_inline void ext4_ioctl_enter(struct file *file, __u32 cmd)
{
	if (cmd == DT_EXT4_IOC_SWAP_BOOT)
		remove_enter(file_inode_of(file), DT_ROP_SWAP_BOOT, 0, 0,
			     DT_HOOK_FN_EXT4_IOCTL);
}

SEC("fentry/ext4_ioctl")
int BPF_PROG(fe_ext4_ioctl, struct file *file, unsigned int cmd)
{
	ext4_ioctl_enter(file, cmd);
	return 0;
}

SEC("kprobe/ext4_ioctl")
int BPF_KPROBE(kp_ext4_ioctl, struct file *file, unsigned int cmd)
{
	ext4_ioctl_enter(file, cmd);
	return 0;
}

REMOVE_EXIT_PROGS(ext4_ioctl, DT_HOOK_FN_EXT4_IOCTL,
		  struct file *file COMMA unsigned int cmd COMMA
		  unsigned long arg COMMA long ret)

/* XFS_IOC_SWAPEXT -> xfs_swap_extents(ip, tip, sxp). */
SEC("fentry/xfs_swap_extents")
int BPF_PROG(fe_xfs_swap_extents, struct xfs_inode___dt *ip)
{
	remove_enter(&ip->i_vnode, DT_ROP_SWAPEXT, 0, 0,
		     DT_HOOK_FN_XFS_SWAP_EXTENTS);
	return 0;
}

SEC("kprobe/xfs_swap_extents")
int BPF_KPROBE(kp_xfs_swap_extents, struct xfs_inode___dt *ip)
{
	remove_enter(&ip->i_vnode, DT_ROP_SWAPEXT, 0, 0,
		     DT_HOOK_FN_XFS_SWAP_EXTENTS);
	return 0;
}

REMOVE_EXIT_PROGS(xfs_swap_extents, DT_HOOK_FN_XFS_SWAP_EXTENTS,
		  void *ip COMMA void *tip COMMA void *sxp COMMA int ret)

/* dax_delete_mapping_entry(mapping, index) */
static __always_inline void entry_delete(struct address_space *mapping,
					 __u64 index, bool d)
{
	struct dt_event e;

	ev_init(&e, DT_ENTRY_DELETE, DT_HOOK_FN_DELETE_MAPPING_ENTRY);
	ev_inode_rd(&e, RD(d, mapping, host), d);
	e.pgoff = index;
	e.nr_pages = 1;
	ev_emit(&e);
}

SEC("fentry/dax_delete_mapping_entry")
int BPF_PROG(fe_dax_delete_mapping_entry, struct address_space *mapping,
	     unsigned long index)
{
	entry_delete(mapping, index, true);
	return 0;
}

SEC("kprobe/dax_delete_mapping_entry")
int BPF_KPROBE(kp_dax_delete_mapping_entry, struct address_space *mapping,
	       unsigned long index)
{
	entry_delete(mapping, index, false);
	return 0;
}

/* 6.1: dax_disassociate_entry(void *entry, mapping, bool trunc).  The page
 * comes from the entry's pfn; its refcount > 1 on truncate is the seed-004
 * condition (the kernel WARNs on it). */
static __always_inline void disassociate(void *entry,
					 struct address_space *mapping,
					 bool trunc)
{
	struct dt_event e;
	__u64 v = (__u64)entry;
	struct page *page;

	if (!(v & 1))
		return;			/* not an xarray value entry */
	v >>= 1;
	if (v & (DT_DAX_ZERO_PAGE | DT_DAX_EMPTY))
		return;			/* the function returns early too */
	page = pfn_to_page_ptr(v >> DT_DAX_SHIFT);
	ev_init(&e, DT_ENTRY_DISASSOC, DT_HOOK_FN_DISASSOCIATE_ENTRY);
	ev_inode(&e, BPF_CORE_READ(mapping, host));
	e.pgoff = page_index(page);
	e.nr_pages = 1;
	e.block = v >> DT_DAX_SHIFT;	/* pfn */
	e.refcount = page_refcount(page);
	if (trunc)
		e.flags |= DT_F_TRUNC;
	ev_emit(&e);
}

SEC("fentry/dax_disassociate_entry")
int BPF_PROG(fe_dax_disassociate_entry, void *entry,
	     struct address_space *mapping, bool trunc)
{
	disassociate(entry, mapping, trunc);
	return 0;
}

SEC("kprobe/dax_disassociate_entry")
int BPF_KPROBE(kp_dax_disassociate_entry, void *entry,
	       struct address_space *mapping, bool trunc)
{
	disassociate(entry, mapping, trunc);
	return 0;
}
