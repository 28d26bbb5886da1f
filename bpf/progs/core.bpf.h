/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every daxtrace BPF program shares: the configuration the loader
 * writes into .rodata before load, the maps (ring buffer, per-CPU
 * counters, ENTER events waiting for their EXIT, kprobe arguments waiting
 * for their kretprobe), and the helpers that fill an event, apply the
 * filters, emit it and pair a function's entry with its return.
 *
 * Included once, by daxtrace.bpf.c, before the hook files: they all end
 * up in one object and share these definitions.
 */
#ifndef DAXTRACE_CORE_BPF_H
#define DAXTRACE_CORE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "daxtrace_abi.h"
#include "daxtrace_bpf_compat.h"

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
 * READ_KERNEL(direct, src, a, b, ...) reads src->a->b... (up to four
 * members deep).  With direct true it is a plain load, for BTF-typed
 * programs (tp_btf, fentry/fexit): the verifier checks the access and no
 * helper is called.  With direct false it is BPF_CORE_READ, i.e.
 * bpf_probe_read_kernel, which untyped programs (raw_tp, kprobe) must use.
 * Both paths carry CO-RE relocations.  direct is a constant at every call
 * site and the handlers are always_inline, so each program keeps one path.
 */
#define DIRECT_LOAD_1(s, a) ((s)->a)
#define DIRECT_LOAD_2(s, a, b) ((s)->a->b)
#define DIRECT_LOAD_3(s, a, b, c) ((s)->a->b->c)
#define DIRECT_LOAD_4(s, a, b, c, e) ((s)->a->b->c->e)
#define DIRECT_LOAD(s, ...) ___apply(DIRECT_LOAD_, ___narg(__VA_ARGS__))(s, __VA_ARGS__)
#define READ_KERNEL(direct, s, ...)					\
	((direct) ? (__typeof__(BPF_CORE_READ(s, __VA_ARGS__)))DIRECT_LOAD(s, __VA_ARGS__) \
		  : BPF_CORE_READ(s, __VA_ARGS__))

/* UNPAREN (a, b, c) is a, b, c: lets a parenthesised argument list pass
 * through a macro as one argument. */
#define UNPAREN(...) __VA_ARGS__

/*
 * TRACEPOINT_PROGS(event, (args...), body...) defines the two programs of
 * one tracepoint: SEC("tp_btf/event") btf_<event> and SEC("raw_tp/event")
 * raw_<event>, with the tracepoint's arguments (without the leading
 * void *__data).  body runs in both with a constant `direct` (true in
 * tp_btf, false in raw_tp) to hand to READ_KERNEL.
 */
#define TRACEPOINT_PROGS(event, args, ...)				\
SEC("tp_btf/" #event) int BPF_PROG(btf_##event, UNPAREN args)		\
{									\
	const bool direct __attribute__((unused)) = true;		\
	__VA_ARGS__;							\
	return 0;							\
}									\
SEC("raw_tp/" #event) int BPF_PROG(raw_##event, UNPAREN args)		\
{									\
	const bool direct __attribute__((unused)) = false;		\
	__VA_ARGS__;							\
	return 0;							\
}

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

static __always_inline void ev_inode_read(struct dt_event *e, struct inode *inode,
					bool direct)
{
	if (!inode) {
		e->flags |= DT_F_NOINODE;
		return;
	}
	e->dev = READ_KERNEL(direct, inode, i_sb, s_dev);
	e->ino = READ_KERNEL(direct, inode, i_ino);
}

/* Most handlers read through bpf_probe_read_kernel in every flavour. */
#define ev_inode(e, inode) ev_inode_read(e, inode, false)

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

#endif /* DAXTRACE_CORE_BPF_H */
