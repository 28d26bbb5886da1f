/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every daxtrace BPF program shares: the configuration the loader
 * writes into .rodata before load, the maps (ring buffer, the per-task
 * storage that pairs a function's entry with its return and remembers
 * what user space knows of the task), the per-CPU counters, and the
 * helpers that filter an event and write it in place into the ring.
 *
 * Records are the compact ones of daxtrace_ring.h, reserved in the ring
 * and filled there (no stack copy, no bpf_ringbuf_output); the loader
 * expands them into struct dt_event.
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
#include "daxtrace_ring.h"
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
/*
 * A CPU wakes the consumer once it has submitted this many bytes since its
 * last wake-up (0 = on every record); every other record is submitted with
 * BPF_RB_NO_WAKEUP.  Waking whenever the ring holds more than a threshold
 * (what the kernel's own heuristics and bpf_ringbuf_query() invite) turns
 * into a wake-up, an irq_work and a self-interrupt per event once the
 * consumer lags; this way a busy CPU wakes it at most once per
 * wakeup_bytes, and the consumer's poll timeout bounds the latency of a
 * quiet one.
 */
const volatile __u64 wakeup_bytes = 0;
/* The dax_busy_page tracepoint is attached: the busy-scan function hook
 * then reports only the scan result, not the busy page a second time. */
const volatile bool tp_busy_page_attached = false;
/* pfn_mkwrite_ext4 is served by the fault tracepoints (see
 * DT_RF_MKWRITE): ext4's ->pfn_mkwrite is ext4_dax_fault(), which is also
 * its ->fault, so hooking the function costs a trampoline on every fault
 * only to test FAULT_FLAG_MKWRITE, which fs_dax:dax_pte_fault carries. */
const volatile bool mkwrite_from_fault_tp = false;
/* The fault_join hook (sched_switch) is attached and the PTE fault
 * tracepoints are: a PTE fault is held in its CPU's dt_held and sent as one
 * struct dt_rec_fault at its end, or part by part when its task is
 * switched out first. */
const volatile bool join_faults = false;
/* fentry/kprobe programs may add their part to a held fault too: this
 * kernel cannot preempt them (tracepoint programs run with preemption
 * disabled anyway).  A program preempted half-way through writing its
 * part would race with the flush at the switch; the loader sets this only
 * where that cannot happen (no preemption of kernel code). */
const volatile bool join_fentry_parts = false;

/* Measurement only (bpf/tests/bench_bpf.sh, dtprobe --empty-programs):
 * every program returns at once, so that a run measures what the chosen
 * hooks cost before a program does anything (trampoline or tracepoint
 * call, the statistics' clock reads).  False in production, where it
 * costs each run a load and a branch: the verifier knows the value but
 * keeps the test, as both of its ways lead to code that runs. */
const volatile bool empty_programs = false;

/* ---- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* loader may resize before load */
} dt_events SEC(".maps");

/* Per-CPU counters (struct dt_cpu_slot, daxtrace_ring.h): a global array
 * indexed by CPU instead of a per-CPU map, so counting costs no helper
 * call and user space reads it through the skeleton's mmap. */
struct dt_cpu_slot dt_cpu[DT_MAX_CPUS];

/* vmemmap_base, read once from vmemmap_base_addr (it does not change
 * after boot). */
__u64 dt_vmemmap;

/* The PTE fault each CPU is in the middle of (struct dt_held). */
struct dt_held dt_held[DT_MAX_CPUS];

/* The deletions each CPU holds (struct dt_del_held). */
struct dt_del_held dt_dels[DT_MAX_CPUS];

/*
 * What a task's probes share, in task-local storage (no hash map, no
 * per-event key): the pid and comm user space last learnt for it, the
 * fields of a function's ENTER waiting for its EXIT (one slot per kind of
 * bracket, as they nest: fsync > writeback, setattr > break_layouts >
 * busy scan, xfs_break_layouts > xfs_break_dax_layouts), arguments a
 * kprobe saved for its kretprobe.
 */
struct dt_pend {
	__u64 ino;
	__u64 pgoff;
	__u64 nr_pages;
	__u64 len;
	__u32 dev;
	__u16 flags;
	__u16 op;
	__u8 hook;		/* 0: empty */
	__u8 lost;		/* the ENTER was dropped: count the EXIT too */
	__u8 pad[6];
};

struct dt_args {
	__u64 a[3];
};

#define DT_NPEND 8
#define DT_NARGS 4

struct dt_task {
	__u64 comm[2];		/* as last sent in a struct dt_rec_task */
	__u64 ids;		/* tgid << 32 | tid as sent; 0: nothing sent yet */
	struct dt_pend pend[DT_NPEND];
	struct dt_args args[DT_NARGS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dt_task);
} dt_tasks SEC(".maps");

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
 * A typed program and its untyped fallback with the same arguments and
 * body: body runs with a constant `direct`, true in the typed one (tp_btf,
 * fentry: READ_KERNEL loads directly) and false in the fallback (raw_tp,
 * kprobe: READ_KERNEL reads through bpf_probe_read_kernel).
 */
#define TYPED_AND_FALLBACK_PROGS(typed_sec, typed_name, fallback_sec,	\
				 fallback_name, FALLBACK_PROG, args, ...) \
SEC(typed_sec) int BPF_PROG(typed_name, UNPAREN args)			\
{									\
	const bool direct __attribute__((unused)) = true;		\
	if (empty_programs)						\
		return 0;						\
	__VA_ARGS__;							\
	return 0;							\
}									\
SEC(fallback_sec) int FALLBACK_PROG(fallback_name, UNPAREN args)	\
{									\
	const bool direct __attribute__((unused)) = false;		\
	if (empty_programs)						\
		return 0;						\
	__VA_ARGS__;							\
	return 0;							\
}

/* TRACEPOINT_PROGS(event, (args...), body...): btf_<event> and
 * raw_<event>, with the tracepoint's arguments (without the leading
 * void *__data). */
#define TRACEPOINT_PROGS(event, args, ...)				\
	TYPED_AND_FALLBACK_PROGS("tp_btf/" #event, btf_##event,	\
				 "raw_tp/" #event, raw_##event, BPF_PROG, \
				 args, __VA_ARGS__)

/* FENTRY_AND_KPROBE(fn, (args...), body...): fe_<fn> and kp_<fn>, on the
 * entry of kernel function fn. */
#define FENTRY_AND_KPROBE(fn, args, ...)				\
	TYPED_AND_FALLBACK_PROGS("fentry/" #fn, fe_##fn,		\
				 "kprobe/" #fn, kp_##fn, BPF_KPROBE,	\
				 args, __VA_ARGS__)

/*
 * BRACKET_EXIT_PROGS(fn, hook, type, (fexit_args...)) defines the two
 * programs that close the bracket ev_enter() opened for fn: fexit, which
 * takes the function's arguments and then its return value `ret` (so it
 * needs fn's exact argument list), and the kretprobe, which takes only the
 * return value.  Both emit the EXIT event of `type`.
 */
#define BRACKET_EXIT_PROGS(fn, hook, type, fexit_args)			\
SEC("fexit/" #fn) int BPF_PROG(fx_##fn, UNPAREN fexit_args)		\
{									\
	if (!empty_programs)						\
		ev_exit(hook, type, (int)ret);				\
	return 0;							\
}									\
SEC("kretprobe/" #fn) int BPF_KRETPROBE(kr_##fn, long ret)		\
{									\
	if (!empty_programs)						\
		ev_exit(hook, type, (int)ret);				\
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

/*
 * An event under construction: the ring-buffer record it is written into
 * in place (bpf_ringbuf_reserve), the CPU's counters, the task's storage.
 */
struct dt_out {
	struct dt_rec *r;
	struct dt_cpu_slot *s;
	struct dt_task *t;
	struct dt_held *h;	/* r is a part of this held fault, not in the ring */
	struct task_struct *task;	/* current, as rec_admit() read it */
	__u32 size;
	__u32 nev;		/* dt_events the record stands for */
	__u32 tid;
	__u32 cpu;
	__u32 part;		/* with h: the DT_PART_* bit r is */
};

enum dt_open { DT_OPEN_OK, DT_OPEN_FILTERED, DT_OPEN_DROPPED };

static __always_inline __u64 wake_flags(struct dt_cpu_slot *s, __u32 size)
{
	s->unwoken += size + 8;		/* + the ring's record header */
	if (s->unwoken < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	s->unwoken = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * The current CPU read from the task the program already has (a BTF load)
 * instead of bpf_get_smp_processor_id(), which 6.1 does not inline: one
 * helper call, and under the lab's TCG one more code page to fault into
 * its TLB, less per event.  The programs run with migration disabled, so
 * current's CPU is this program's CPU.
 */
static __always_inline __u32 task_cpu_of(struct task_struct *task)
{
	if (bpf_core_field_exists(((struct task_struct___ti *)0)->thread_info.cpu))
		return ((struct task_struct___ti *)task)->thread_info.cpu;
	if (bpf_core_field_exists(((struct task_struct___cpu *)0)->cpu))
		return ((struct task_struct___cpu *)task)->cpu;
	return bpf_get_smp_processor_id();
}

/* TASK's CPU's slot of dt_cpu (TASK: current). */
static __always_inline struct dt_cpu_slot *cpu_slot(struct task_struct *task)
{
	return &dt_cpu[task_cpu_of(task) & (DT_MAX_CPUS - 1)];
}

static __always_inline struct dt_task *task_storage(struct task_struct *task)
{
	return bpf_task_storage_get(&dt_tasks, task, 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline bool ids_pass(__u32 tgid, __u32 dev, __u64 ino,
				     __u16 flags)
{
	if (filter_pid && tgid != filter_pid)
		return false;
	if (filter_dev && dev != filter_dev)
		return false;
	if (filter_ino && !(flags & DT_F_NOINODE) && ino != filter_ino)
		return false;
	if (filter_cgroup && bpf_get_current_cgroup_id() != filter_cgroup)
		return false;
	return true;
}

/*
 * Filter, then reserve the record in the ring buffer and fill its header;
 * the caller fills the rest and calls rec_submit().  A task's pid and
 * comm go into the ring before its first event, and again when its comm
 * (exec, PR_SET_NAME) or tid (a thread exec'ing becomes the leader)
 * changed: a direct load of current->comm and a compare instead of
 * bpf_get_current_comm() per event.  If that task record does not fit,
 * the event is dropped too, so no event reaches user space without its
 * task.  The common case, the same task as the CPU's previous event, is
 * settled from the CPU's slot without a task-storage lookup.  known: the
 * task's storage if the caller has it; need_task: the caller wants it
 * (o->t) in any case.
 */
static __always_inline enum dt_open rec_admit(struct dt_out *o, __u32 dev, __u64 ino,
					      __u16 flags, __u32 nev,
					      struct dt_task *known, bool need_task)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 cpu = task_cpu_of(task);
	struct dt_cpu_slot *s = &dt_cpu[cpu & (DT_MAX_CPUS - 1)];
	__u32 tid = task->pid, tgid = task->tgid;
	__u64 ids = (__u64)tgid << 32 | tid;
	struct dt_task *t = known;
	__u64 c0, c1;

	o->s = s;
	o->nev = nev;
	o->r = NULL;
	o->t = t;
	o->h = NULL;
	o->task = task;
	o->tid = tid;
	o->cpu = cpu;
	if (!ids_pass(tgid, dev, ino, flags)) {
		s->filtered += nev;
		return DT_OPEN_FILTERED;
	}
	c0 = *(__u64 *)&task->comm[0];
	c1 = *(__u64 *)&task->comm[8];
	if (!t && need_task)
		o->t = t = task_storage(task);
	/* The same task as this CPU's last event: user space knows it. */
	if (s->task != (__u64)task || s->ids != ids || s->comm[0] != c0 || s->comm[1] != c1) {
		if (!t)
			o->t = t = task_storage(task);
		if (!t || t->ids != ids || t->comm[0] != c0 || t->comm[1] != c1) {
			struct dt_rec_task *tr = bpf_ringbuf_reserve(&dt_events, sizeof(*tr), 0);

			if (!tr) {
				s->dropped += nev;
				return DT_OPEN_DROPPED;
			}
			tr->ts = bpf_ktime_get_ns();
			tr->tid = tid;
			tr->type = DT_REC_TASK;
			tr->reserved0 = 0;
			tr->cpu = cpu;
			tr->pid = tgid;
			tr->reserved1 = 0;
			*(__u64 *)&tr->comm[0] = c0;
			*(__u64 *)&tr->comm[8] = c1;
			bpf_ringbuf_submit(tr, wake_flags(s, sizeof(*tr)));
			if (t) {
				t->ids = ids;
				t->comm[0] = c0;
				t->comm[1] = c1;
			}
		}
		s->task = (__u64)task;
		s->ids = ids;
		s->comm[0] = c0;
		s->comm[1] = c1;
	}
	return DT_OPEN_OK;
}

/* The header every record shares, for the task rec_admit() admitted. */
static __always_inline void rec_head(struct dt_rec *r, struct dt_out *o, __u8 type,
				     __u8 hook, __u32 dev, __u64 ino, __u16 flags)
{
	r->ts = bpf_ktime_get_ns();
	r->tid = o->tid;
	r->type = type;
	r->hook = hook;
	r->cpu = o->cpu;
	r->dev = dev;
	r->flags = flags;
	r->ino = ino;
}

/* The held fault of TASK's (current's) CPU; TASK holds it if h->task is
 * TASK.  (Not a pointer-or-NULL: the compiler would test the holder again
 * instead of the pointer, and the verifier cannot follow that.) */
static __always_inline struct dt_held *held_slot(struct task_struct *task)
{
	return &dt_held[task_cpu_of(task) & (DT_MAX_CPUS - 1)];
}

/*
 * Whether a part (PART, a DT_PART_* bit) about inode DEV:INO joins the
 * fault H holds: TASK (current) holds it, it has no such part yet, and it
 * is a fault of the same inode, or (INO 0: DT_F_NOINODE, the block
 * layer's zeroing) of the same device: what a task zeroes inside its DAX
 * fault are the blocks that fault allocates or converts.  Then the part
 * needs no admission of its own: the fault's ENTER passed the filters
 * and made sure user space knows the task.
 */
static __always_inline bool held_takes(struct dt_held *h, struct task_struct *task,
				       __u32 dev, __u64 ino, __u32 part)
{
	return join_faults && h->task == (__u64)task && !(h->rec.enter.reserved & part) &&
	       h->rec.enter.dev == dev && (h->rec.enter.ino == ino || !ino);
}

/*
 * rec_open() for a record that is a part of a fault (PART, a DT_PART_*
 * bit; 0: it is not): when held_takes() it, the record is written into
 * the held fault instead of the ring, and rec_submit() only marks it
 * present.
 */
static __always_inline enum dt_open rec_open_part(struct dt_out *o, __u8 type, __u8 hook,
						  __u32 dev, __u64 ino, __u16 flags,
						  bool ext, __u32 nev,
						  struct dt_task *known, bool need_task,
						  __u32 part)
{
	enum dt_open st;
	struct dt_rec *r;

	/* join_faults is a load-time constant: off, the verifier drops this. */
	if (part && join_faults) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct dt_held *h = held_slot(task);

		if (held_takes(h, task, dev, ino, part)) {
			r = part == DT_PART_ZERO ? &h->rec.zero.r : &h->rec.iomap.r;
			__builtin_memset(r, 0, sizeof(struct dt_rec_ext));
			o->s = cpu_slot(task);
			o->nev = nev;
			o->t = known;
			o->h = h;
			o->part = part;
			o->task = task;
			o->tid = h->rec.enter.tid;
			o->cpu = h->rec.enter.cpu;
			o->size = sizeof(struct dt_rec_ext);
			rec_head(r, o, type, hook, dev, ino, flags);
			o->r = r;
			return DT_OPEN_OK;
		}
	}
	st = rec_admit(o, dev, ino, flags, nev, known, need_task);
	if (st != DT_OPEN_OK)
		return st;
	o->size = ext ? sizeof(struct dt_rec_ext) : sizeof(struct dt_rec);
	if (ext)
		r = bpf_ringbuf_reserve(&dt_events, sizeof(struct dt_rec_ext), 0);
	else
		r = bpf_ringbuf_reserve(&dt_events, sizeof(struct dt_rec), 0);
	if (!r) {
		o->s->dropped += nev;
		return DT_OPEN_DROPPED;
	}
	if (ext)
		__builtin_memset(r, 0, sizeof(struct dt_rec_ext));
	else
		__builtin_memset(r, 0, sizeof(struct dt_rec));
	rec_head(r, o, type, hook, dev, ino, flags);
	o->r = r;
	return DT_OPEN_OK;
}

static __always_inline enum dt_open rec_open(struct dt_out *o, __u8 type, __u8 hook,
					     __u32 dev, __u64 ino, __u16 flags,
					     bool ext, __u32 nev,
					     struct dt_task *known, bool need_task)
{
	return rec_open_part(o, type, hook, dev, ino, flags, ext, nev, known, need_task, 0);
}

static __always_inline void rec_submit(struct dt_out *o)
{
	if (o->h) {
		o->h->rec.enter.reserved |= o->part;
		return;
	}
	o->s->emitted += o->nev;
	bpf_ringbuf_submit(o->r, wake_flags(o->s, o->size));
}

/*
 * A copy of SRC (SIZE bytes, a constant) as a record of its own.  Both
 * are 8-byte aligned (records, and ring-buffer samples, which start after
 * an 8-byte header): said so, the copy moves 8 bytes per instruction
 * instead of one, which is what clang assumes of a void pointer.
 */
static __always_inline void send_copy(struct dt_cpu_slot *s, const void *src, __u32 size,
				      __u32 nev)
{
	void *r = bpf_ringbuf_reserve(&dt_events, size, 0);

	if (!r) {
		s->dropped += nev;
		return;
	}
	__builtin_memcpy(__builtin_assume_aligned(r, 8), __builtin_assume_aligned(src, 8), size);
	s->emitted += nev;
	bpf_ringbuf_submit(r, wake_flags(s, size));
}

/* The DT_MKWRITE_DIRTY F holds (DT_PART_DIRTY) as the record
 * dax_entry_mkdirty would have sent: the fault's inode and page. */
static __always_inline void send_dirty(struct dt_cpu_slot *s, const struct dt_rec_fault *f)
{
	struct dt_rec_ext *x = bpf_ringbuf_reserve(&dt_events, sizeof(*x), 0);

	if (!x) {
		s->dropped++;
		return;
	}
	__builtin_memset(x, 0, sizeof(*x));
	x->r.ts = f->dirty_ts;
	x->r.tid = f->enter.tid;
	x->r.type = DT_MKWRITE_DIRTY;
	x->r.hook = DT_HOOK_TP_MKWRITE_DIRTY;
	x->r.cpu = f->enter.cpu;
	x->r.dev = f->enter.dev;
	x->r.flags = DT_F_WRITE;
	x->r.ino = f->enter.ino;
	x->r.pgoff = f->enter.pgoff;
	x->r.nr_pages = 1;
	x->block = f->dirty_pfn;
	s->emitted++;
	bpf_ringbuf_submit(x, wake_flags(s, sizeof(*x)));
}

/*
 * Send what H holds part by part, as if nothing had been held, and free
 * it.  Freed first: user space, which watches the slots to hold back
 * newer events until a held FAULT_ENTER arrives, must not find the slot
 * still taken once the record is in the ring.  (Only this CPU writes the
 * slot, and every caller is a tracepoint program: not preempted.)
 */
static __always_inline void held_flush(struct dt_held *h, struct dt_cpu_slot *s)
{
	__u32 parts = h->rec.enter.reserved;

	h->task = 0;
	h->rec.enter.reserved = 0;
	send_copy(s, &h->rec.enter, sizeof(struct dt_rec), h->nev);
	if (parts & DT_PART_ZERO)
		send_copy(s, &h->rec.zero, sizeof(struct dt_rec_ext), 1);
	if (parts & DT_PART_IOMAP)
		send_copy(s, &h->rec.iomap, sizeof(struct dt_rec_ext), 1);
	if (parts & DT_PART_DIRTY)
		send_dirty(s, &h->rec);
}

/* Send the deletions D holds as one struct dt_rec_deletes, and free it
 * (first, as held_flush() does). */
static __always_inline void dels_flush(struct dt_del_held *d, struct dt_cpu_slot *s)
{
	__u32 n = d->rec.head.reserved;
	struct dt_rec_deletes *r;

	d->task = 0;
	r = bpf_ringbuf_reserve(&dt_events, sizeof(*r), 0);
	if (!r) {
		s->dropped += n;
		return;
	}
	__builtin_memcpy(r, &d->rec, sizeof(*r));
	s->emitted += n;
	bpf_ringbuf_submit(r, wake_flags(s, sizeof(*r)));
}

/* TASK (current) leaves its removal or its CPU: send the deletions it
 * holds there, and deletions are not held any more until it opens a
 * removal on a CPU again. */
static __always_inline void removal_leave(struct task_struct *task)
{
	struct dt_cpu_slot *s = cpu_slot(task);
	struct dt_del_held *d = &dt_dels[task_cpu_of(task) & (DT_MAX_CPUS - 1)];

	if (s->removing == (__u64)task)
		s->removing = 0;
	if (d->task == (__u64)task)
		dels_flush(d, s);
}

/* Before a record that must follow current's held deletions in the ring
 * (the disassociation of a page one of them tore down): send them. */
static __always_inline void dels_before_next(void)
{
	struct task_struct *task;
	struct dt_del_held *d;

	if (!join_faults || !join_fentry_parts)
		return;
	task = bpf_get_current_task_btf();
	d = &dt_dels[task_cpu_of(task) & (DT_MAX_CPUS - 1)];
	if (d->task == (__u64)task)
		dels_flush(d, cpu_slot(task));
}

static __always_inline struct dt_rec_ext *rec_ext(struct dt_out *o)
{
	return (struct dt_rec_ext *)o->r;
}

static __always_inline void inode_ids(struct inode *inode, bool direct,
				      __u32 *dev, __u64 *ino, __u16 *flags)
{
	if (!inode) {
		*dev = 0;
		*ino = 0;
		*flags |= DT_F_NOINODE;
		return;
	}
	*dev = READ_KERNEL(direct, inode, i_sb, s_dev);
	*ino = READ_KERNEL(direct, inode, i_ino);
}

/* rec_open_part() for an event about an inode (NULL: DT_F_NOINODE). */
static __always_inline bool rec_open_inode_part(struct dt_out *o, __u8 type, __u8 hook,
						struct inode *inode, bool direct,
						__u16 flags, bool ext, __u32 nev,
						__u32 part)
{
	__u32 dev;
	__u64 ino;

	inode_ids(inode, direct, &dev, &ino, &flags);
	return rec_open_part(o, type, hook, dev, ino, flags, ext, nev, NULL, false,
			     part) == DT_OPEN_OK;
}

static __always_inline bool rec_open_inode(struct dt_out *o, __u8 type, __u8 hook,
					   struct inode *inode, bool direct,
					   __u16 flags, bool ext, __u32 nev)
{
	return rec_open_inode_part(o, type, hook, inode, direct, flags, ext, nev, 0);
}

/* PART, if a program of this kind may add it to a held fault (see
 * join_fentry_parts): TRACEPOINT, it runs with preemption disabled. */
static __always_inline __u32 part_if(bool tracepoint, __u32 part)
{
	return tracepoint || join_fentry_parts ? part : 0;
}

static __always_inline bool inode_is_dax(struct inode *inode, bool direct)
{
	return inode && (READ_KERNEL(direct, inode, i_flags) & DT_S_DAX);
}

/*
 * Slots of the task's pending brackets and saved arguments.  hook is a
 * constant at every call site, so this folds to a constant index.
 */
static __always_inline __u32 pend_slot(__u8 hook)
{
	switch (hook) {
	case DT_HOOK_FN_DAX_FAULT:
		return 0;
	case DT_HOOK_FN_EXT4_PFN_MKWRITE:
	case DT_HOOK_FN_XFS_PFN_MKWRITE:
		return 1;
	case DT_HOOK_FN_DAX_WRITEBACK_RANGE:
		return 2;
	case DT_HOOK_FN_VFS_FSYNC_RANGE:
		return 3;
	case DT_HOOK_FN_EXT4_BREAK_LAYOUTS:
	case DT_HOOK_FN_XFS_BREAK_LAYOUTS:
		return 4;
	case DT_HOOK_FN_XFS_BREAK_DAX_LAYOUTS:
		return 5;
	case DT_HOOK_FN_EXT4_FALLOCATE:
	case DT_HOOK_FN_EXT4_PUNCH_HOLE:
	case DT_HOOK_FN_EXT4_SETATTR:
	case DT_HOOK_FN_EXT4_IOCTL:
	case DT_HOOK_FN_XFS_FALLOCATE:
	case DT_HOOK_FN_XFS_SETATTR:
	case DT_HOOK_FN_XFS_SWAP_EXTENTS:
		return 6;
	default:
		return 7;
	}
}

static __always_inline __u32 args_slot(__u8 hook)
{
	switch (hook) {
	case DT_HOOK_FN_IOMAP_ITER:
		return 0;
	case DT_HOOK_FN_EXT4_IOMAP_BEGIN:
	case DT_HOOK_FN_XFS_IOMAP_BEGIN:
		return 1;
	case DT_HOOK_FN_FINISH_SYNC_FAULT:
		return 2;
	default:
		return 3;
	}
}

/*
 * ENTER of a function bracket: emit it and keep its fields in the task's
 * storage for the EXIT.  An ENTER that was dropped still leaves a marker,
 * so that its EXIT is counted as dropped instead of vanishing.
 */
static __always_inline void ev_enter(__u8 type, __u8 hook, struct inode *inode,
				     bool direct, __u16 flags, __u16 op, __u64 pgoff,
				     __u64 nr_pages, __u64 len)
{
	struct dt_out o;
	struct dt_pend *p;
	__u32 dev;
	__u64 ino;
	enum dt_open st;

	inode_ids(inode, direct, &dev, &ino, &flags);
	st = rec_open(&o, type, hook, dev, ino, flags, true, 1, NULL, true);
	if (st == DT_OPEN_FILTERED)
		return;
	if (st == DT_OPEN_OK) {
		struct dt_rec_ext *x = rec_ext(&o);

		x->r.op = op;
		x->r.pgoff = pgoff;
		x->r.nr_pages = nr_pages;
		x->len = len;
		rec_submit(&o);
		/* Its deletions may be held (deletion_held(); the same
		 * conditions as a fentry program's part of a held fault). */
		if (type == DT_REMOVE_ENTER && join_faults && join_fentry_parts)
			o.s->removing = (__u64)o.task;
	}
	if (!o.t)
		return;
	p = &o.t->pend[pend_slot(hook)];
	p->hook = hook;
	p->lost = st != DT_OPEN_OK;
	p->dev = dev;
	p->ino = ino;
	p->flags = flags;
	p->op = op;
	p->pgoff = pgoff;
	p->nr_pages = nr_pages;
	p->len = len;
}

/* EXIT of a function whose ENTER was seen: same fields, new time. */
static __always_inline void ev_exit(__u8 hook, __u8 type, __s64 ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dt_task *t = bpf_task_storage_get(&dt_tasks, task, 0, 0);
	struct dt_pend *p;
	struct dt_out o;

	if (type == DT_REMOVE_EXIT && join_faults && join_fentry_parts)
		removal_leave(task);
	if (!t)
		return;
	p = &t->pend[pend_slot(hook)];
	if (p->hook != hook)
		return;
	p->hook = 0;
	if (p->lost) {
		__u32 cpu = task_cpu_of(task);

		dt_cpu[cpu & (DT_MAX_CPUS - 1)].dropped++;
		return;
	}
	if (rec_open(&o, type, hook, p->dev, p->ino, p->flags, true, 1, t, false) != DT_OPEN_OK)
		return;
	struct dt_rec_ext *x = rec_ext(&o);

	x->r.op = p->op;
	x->r.pgoff = p->pgoff;
	x->r.nr_pages = p->nr_pages;
	x->r.ret = ret;
	x->len = p->len;
	rec_submit(&o);
}

static __always_inline void save_args(__u8 hook, __u64 a0, __u64 a1, __u64 a2)
{
	struct dt_task *t = task_storage(bpf_get_current_task_btf());
	struct dt_args *v;

	if (!t)
		return;
	v = &t->args[args_slot(hook)];
	v->a[0] = a0;
	v->a[1] = a1;
	v->a[2] = a2;
}

/* The arguments the kprobe saved; a[0] == 0 means none (every saved
 * first argument is a kernel pointer). */
static __always_inline bool take_args(__u8 hook, struct dt_args *out)
{
	struct dt_task *t = bpf_task_storage_get(&dt_tasks, bpf_get_current_task_btf(), 0, 0);
	struct dt_args *v;

	if (!t)
		return false;
	v = &t->args[args_slot(hook)];
	if (!v->a[0])
		return false;
	*out = *v;
	v->a[0] = 0;
	return true;
}

static __always_inline struct inode *vmf_inode(struct vm_fault *vmf, bool direct)
{
	return READ_KERNEL(direct, vmf, vma, vm_file, f_mapping, host);
}

static __always_inline struct inode *file_inode_of(struct file *f, bool direct)
{
	return READ_KERNEL(direct, f, f_mapping, host);
}

static __always_inline __u32 fault_flag_write(void)
{
	return bpf_core_enum_value(enum fault_flag, FAULT_FLAG_WRITE);
}

static __always_inline __u32 fault_flag_mkwrite(void)
{
	return bpf_core_enum_value(enum fault_flag, FAULT_FLAG_MKWRITE);
}

/* direct: page is a typed pointer the program was given, not one it
 * computed (pfn_to_page_ptr()). */
static __always_inline __u32 page_refcount(struct page *page, bool direct)
{
	if (!page)
		return 0;
	return READ_KERNEL(direct, page, _refcount.counter);
}

static __always_inline __u64 page_index(struct page *page, bool direct)
{
	if (bpf_core_field_exists(struct page___new, __folio_index))
		return READ_KERNEL(direct, (struct page___new *)page, __folio_index);
	return READ_KERNEL(direct, (struct page___old *)page, index);
}

static __always_inline struct page *pfn_to_page_ptr(__u64 pfn)
{
	__u64 base = dt_vmemmap;

	if (!base) {
		base = DT_VMEMMAP_DEFAULT;
		if (vmemmap_base_addr)
			bpf_probe_read_kernel(&base, sizeof(base),
					      (void *)vmemmap_base_addr);
		dt_vmemmap = base;
	}
	return (struct page *)(base + pfn * bpf_core_type_size(struct page));
}

#endif /* DAXTRACE_CORE_BPF_H */
