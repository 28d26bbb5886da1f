// SPDX-License-Identifier: GPL-2.0
/*
 * Race class T, one page per round: a fault maps a block that a
 * concurrent hole punch frees, and the freed block stays visible.
 *
 * Hole punch removes the page's mappings and entries, then frees its
 * blocks.  A fault serialised with it by the invalidate lock (ext4) or
 * MMAPLOCK (xfs) waits and then maps the hole; a fault that is not (the
 * race lab kernel's dax_reopen.t=1, as before those locks existed) can
 * look the block up after the mappings were removed and before the block
 * is freed, and map it: the mapping then shows the freed block's old
 * contents (and writes through it would land in a block the file no
 * longer owns) while read(2) sees the hole.
 *
 * Each round: page P holds a pattern; thread H punches it (fallocate
 * PUNCH_HOLE); as soon as H sleeps in the kernel, the main thread reads P
 * through its own mapping (a read fault).  After the punch returned, the
 * round is damaged when the mapping still shows the pattern although
 * pread(2) reads zeros.
 *
 * usage: punch_fault_stale [DIR] [-n rounds] [-d max_wait_ms]
 * Output: KTAP, one "# round" line per round (race_round.h).
 */
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dax_file.h"
#include "race_round.h"

struct puncher {
	int fd;
	long page;
	struct rr_sleeper sleeper;
	int ret;
};

static void *punch_fn(void *arg)
{
	struct puncher *h = arg;

	rr_sleeper_started(&h->sleeper);
	h->ret = fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			   (off_t)h->page * PAGE, PAGE);
	return NULL;
}

static unsigned int pattern(long page)
{
	return 0x54540000u + (unsigned int)page;
}

int main(int argc, char **argv)
{
	struct rr_run run = { .name = "punch_fault_stale", .rounds = 20, .wait_ms = 500 };
	int damaged = 0, punch_errors = 0;
	unsigned int buf[PAGE / 4];

	rr_start(&run, argc, argv, 3);
	size_t len = (size_t)run.rounds * PAGE;

	for (long p = 0; p < run.rounds; p++) {
		for (int i = 0; i < PAGE / 4; i++)
			buf[i] = pattern(p);
		ktap_require(pwrite(run.fd, buf, PAGE, p * PAGE) == PAGE, "pwrite");
	}
	ktap_require(fsync(run.fd) == 0, "fsync");
	volatile unsigned int *map = mmap(NULL, len, PROT_READ, MAP_SHARED, run.fd, 0);

	ktap_require(map != MAP_FAILED, "mmap");
	for (int r = 0; r < run.rounds; r++) {
		struct puncher h = { .fd = run.fd, .page = r };
		volatile unsigned int *pg = map + (size_t)r * PAGE / 4;
		unsigned int during, after;
		pthread_t t;
		char what[200];

		uint64_t t0 = rr_now_ns();

		bool blocked = rr_start_sleeper(&t, punch_fn, &h, &h.sleeper, run.wait_ms);

		during = pg[0];		/* the racing read fault */
		pthread_join(t, NULL);
		punch_errors += h.ret != 0;
		after = pg[0];
		ktap_require(pread(run.fd, buf, PAGE, (off_t)r * PAGE) == PAGE, "pread");
		uint64_t t1 = rr_now_ns();

		bool bad = after == pattern(r) && buf[0] == 0;

		damaged += bad;
		snprintf(what, sizeof(what),
			 "fault %s the punch: mapping read %#x during, %#x after the punch; read(2) %#x",
			 blocked ? "while the punch slept in" : "without seeing", during, after, buf[0]);
		rr_round(r, t0, t1, run.ino, r, bad, what);
		/* Drop a stale PTE before anything reuses the freed block. */
		madvise((void *)pg, PAGE, MADV_DONTNEED);
	}
	ktap_result(punch_errors == 0, "%d hole punches returned 0 (%d failed)", run.rounds, punch_errors);
	ktap_result(!damaged,
		    "no mapping showed a punched page's old block after the punch (%d of %d rounds did)",
		    damaged, run.rounds);
	munmap((void *)map, len);
	return rr_finish(&run, damaged);
}
