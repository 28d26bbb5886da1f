/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ring-buffer records between the BPF programs and the loader.  Not a
 * file format: the loader (bpf/loader/probe_set.cpp) expands every record
 * into the struct dt_event of daxtrace_abi.h before anyone else sees it,
 * so trace files, the engine and replay of old traces are unaffected; the
 * two sides are built together from one tree.
 *
 * Why not struct dt_event itself: a 112-byte event with comm and pid per
 * record costs a helper call (bpf_get_current_comm) and a copy per event.
 * Instead a task's pid and comm go into the ring once (struct dt_rec_task,
 * again when its comm or tid changes), and events carry only what varies:
 * struct dt_rec (64 bytes), or struct dt_rec_ext (88) for the events with
 * a block range or an iomap answer, struct dt_rec_fault (272) for a
 * whole PTE fault, or struct dt_rec_deletes (320) for a removal's run of
 * deletions.  The record kind is the size the ring reports and, for
 * task records, the type byte.
 */
#ifndef DAXTRACE_RING_H
#define DAXTRACE_RING_H

#include "daxtrace_abi.h"

/* dt_rec.type of a struct dt_rec_task (enum dt_type stays below it). */
#define DT_REC_TASK 0xff

/* Ring-only bit in dt_rec.flags, never in a dt_event: this fault was a
 * first write to a read-mapped page (FAULT_FLAG_MKWRITE) of an ext4
 * inode, whose ->pfn_mkwrite is ext4_dax_fault(); the loader delivers the
 * DT_MKWRITE_ENTER (before FAULT_ENTER) or DT_MKWRITE_EXIT (after
 * FAULT_EXIT) the pfn_mkwrite_ext4 hook stands for, from the fault
 * tracepoint that saw it. */
#define DT_RF_MKWRITE (1u << 15)

struct dt_rec {
	__u64 ts;
	__u32 tid;
	__u8 type;		/* enum dt_type, or DT_REC_TASK */
	__u8 hook;		/* enum dt_hook */
	__u16 cpu;
	__u32 dev;		/* dev_t, kernel encoding */
	__u16 flags;		/* DT_F_*, DT_RF_* */
	__u16 op;
	__u64 ino;
	__u64 pgoff;
	__u64 nr_pages;
	__s64 ret;
	__u32 refcount;
	__u32 reserved;
};

struct dt_rec_ext {
	struct dt_rec r;
	__u64 block;
	__u64 len;
	__u16 iomap_type;
	__u16 iomap_flags;
	__u32 reserved;
};

/*
 * A PTE fault that ran without its task being switched out, sent as one
 * record at its end instead of one per part (the fault_join hook group):
 * its FAULT_ENTER (enter, as a struct dt_rec, reserved = DT_PART_* bits),
 * FAULT_EXIT time and result, and what the same task reported inside it,
 * zeroing and the iomap answer, each as the struct dt_rec_ext it would
 * have been sent as, and the tagging of the page's entry dirty
 * (dax_entry_mkdirty, patches/), of which only the time and the pfn vary:
 * the rest of its DT_MKWRITE_DIRTY is the fault's own inode and page.
 * Every part keeps its own time stamp; the loader
 * delivers the dt_events in time order.  Holding a part costs no lateness
 * worth the name: the record is sent before the task can sleep (a task
 * switched out sends what it holds there and then), so it comes at most
 * one fault's CPU time after its first part.
 */
#define DT_PART_ZERO (1u << 0)
#define DT_PART_IOMAP (1u << 1)
#define DT_PART_DIRTY (1u << 2)
/* How many dt_events the parts in P stand for (one each). */
#define DT_PART_COUNT(p) (((p) & 1u) + (((p) >> 1) & 1u) + (((p) >> 2) & 1u))

struct dt_rec_fault {
	struct dt_rec enter;
	__u64 exit_ts;
	__s64 exit_ret;
	struct dt_rec_ext zero;
	struct dt_rec_ext iomap;
	__u64 dirty_ts;
	__u64 dirty_pfn;
};

struct dt_rec_task {
	__u64 ts;
	__u32 tid;
	__u8 type;		/* DT_REC_TASK */
	__u8 reserved0;
	__u16 cpu;
	__u32 pid;		/* thread-group id */
	__u32 reserved1;
	char comm[DT_COMM_LEN];
};

/* Per-CPU state, in the object's .bss (user space reads the counters
 * through the skeleton's mmap, no syscall); two cache lines per CPU.
 * Counts are in struct dt_event units, as user space delivers them. */
#define DT_MAX_CPUS 1024
struct dt_cpu_slot {
	__u64 emitted;		/* events written to the ring buffer */
	__u64 dropped;		/* lost: the ring buffer was full */
	__u64 filtered;		/* rejected by a dev/ino/pid/cgroup filter */
	__u64 unwoken;		/* bytes submitted since this CPU last woke the consumer */
	/* The task of this CPU's last event, as user space knows it (task
	 * pointer, tgid << 32 | tid, comm): the next event of the same task
	 * needs no task-storage lookup to know its task record was sent. */
	__u64 task;
	__u64 ids;
	__u64 comm[2];
	/* The zeroing a filesystem hook just reported on this CPU (tid, dev,
	 * sector + 1): its own blkdev_issue_zeroout() is the same zeroing. */
	__u32 zero_tid;
	__u32 zero_dev;
	__u64 zero_sector;
	/* The mapping entry whose deletion was just reported on this CPU
	 * (tid, inode pointer, index): the disassociation of its page that
	 * follows is the same teardown. */
	__u32 del_tid;
	__u32 del_pad;
	__u64 del_inode;
	__u64 del_index;
	__u64 folded;		/* idle disassociations not sent (the deletion was) */
	__u64 joined;		/* PTE faults sent as one struct dt_rec_fault */
	/* The task (pointer) that opened a removal (truncate, punch, ...) on
	 * this CPU and has not left it since: its deletions may be held in
	 * dt_dels (struct dt_del_held). */
	__u64 removing;
};

/*
 * The PTE fault a CPU is in the middle of, held instead of sent (the BPF
 * side's join_faults): its FAULT_ENTER and the parts its task reported
 * since.  Per CPU, not per task, because a task that leaves its CPU
 * (switched out) sends what it holds at the switch: a holder is always
 * the CPU's current task, found without a lookup.  Only the BPF side
 * uses it.
 */
struct dt_held {
	__u64 task;		/* the holder (task_struct pointer); 0: none */
	__u32 nev;		/* dt_events its FAULT_ENTER stands for */
	__u32 pad;
	struct dt_rec_fault rec;	/* rec.enter.reserved: DT_PART_* held */
};

/*
 * The deletions of mapping entries (DT_ENTRY_DELETE) one task's removal
 * (truncate, punch, collapse, ... : inside its REMOVE_ENTER/EXIT) makes on
 * one CPU in a row for one inode, up to DT_DEL_BATCH, sent as one record
 * instead of one each: head is the first deletion's record with
 * reserved = how many, and every deletion keeps its own time stamp and
 * index.  Held in the CPU's struct dt_del_held until the batch is full,
 * another inode's or task's deletion comes, the removal ends or the task
 * leaves the CPU; so a deletion is late by at most DT_DEL_BATCH pages'
 * teardown.
 */
#define DT_DEL_BATCH 16

struct dt_del_page {
	__u64 ts;
	__u64 index;
};

struct dt_rec_deletes {
	struct dt_rec head;
	struct dt_del_page page[DT_DEL_BATCH];
};

struct dt_del_held {
	__u64 task;		/* the holder (task_struct pointer); 0: none */
	struct dt_rec_deletes rec;
};

#ifdef __cplusplus
static_assert(sizeof(struct dt_rec_deletes) == 320, "dt_rec_deletes");
static_assert(sizeof(struct dt_rec) == 64, "dt_rec");
static_assert(sizeof(struct dt_rec_ext) == 88, "dt_rec_ext");
static_assert(sizeof(struct dt_rec_task) == 40, "dt_rec_task");
static_assert(sizeof(struct dt_rec_fault) == 272, "dt_rec_fault");
static_assert(sizeof(struct dt_cpu_slot) == 128, "dt_cpu_slot");
static_assert(DT_TYPE_MAX < DT_REC_TASK && DT_HOOK_MAX <= 0xff, "type and hook fit a byte");
#endif

#endif /* DAXTRACE_RING_H */
