// SPDX-License-Identifier: GPL-2.0
/*
 * Race class Z, one page per round: a store that lands in a freshly
 * allocated block is wiped by that block's late zeroing.
 *
 * Thread A write-faults a hole through one mapping; the filesystem
 * allocates the block.  As soon as the block shows up as data
 * (lseek SEEK_DATA), thread B stores to another byte of the same page
 * through a second mapping of the file (its own PTE: a fault of its own).
 * If the kernel zeroes the new block only after the fault that allocated
 * it has dropped the entry lock (the pre-4.4 order; the race lab kernel's
 * dax_reopen.z=1), B's store is wiped.  The damage is read back with
 * pread(2): B's byte reads as zero.  A correct kernel zeroes inside the
 * allocator, before anyone can map the block.
 *
 * usage: zero_store_wiped [DIR] [-n rounds] [-d max_wait_ms]
 * Output: KTAP, one "# round" line per round (race_round.h).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dax_file.h"
#include "race_round.h"

struct zround {
	int fd;
	long page;
	volatile unsigned char *map_a, *map_b;
	unsigned char va, vb;
	unsigned int wait_ms;
	bool b_saw_data;
};

static void *thread_a(void *arg)
{
	struct zround *z = arg;

	z->map_a[z->page * PAGE + 1] = z->va;
	return NULL;
}

static void *thread_b(void *arg)
{
	struct zround *z = arg;
	uint64_t end = rr_now_ns() + (uint64_t)z->wait_ms * 1000000ull;
	off_t off = (off_t)z->page * PAGE;

	/* The block exists as soon as A's allocation committed; A may
	 * still hold the entry lock, then B's fault waits for it. */
	while (rr_now_ns() < end) {
		if (lseek(z->fd, off, SEEK_DATA) == off) {
			z->b_saw_data = true;
			break;
		}
		sched_yield();
	}
	z->map_b[z->page * PAGE + 65] = z->vb;
	return NULL;
}

int main(int argc, char **argv)
{
	struct rr_run run = { .name = "zero_store_wiped", .rounds = 20, .wait_ms = 2000 };
	int damaged = 0;

	rr_start(&run, argc, argv, 2);
	size_t len = (size_t)run.rounds * PAGE;

	/* Every page a hole; round r allocates page r. */
	ktap_require(ftruncate(run.fd, (off_t)len) == 0, "ftruncate");
	/* Two mappings: A's and B's stores are faults on PTEs of their own. */
	unsigned char *map_a = dax_file_map(run.fd, len);
	unsigned char *map_b = dax_file_map(run.fd, len);

	for (int r = 0; r < run.rounds; r++) {
		struct zround z = {
			.fd = run.fd, .page = r, .map_a = map_a, .map_b = map_b,
			.va = (unsigned char)(0x41 + r % 26), .vb = (unsigned char)(0x61 + r % 26),
			.wait_ms = run.wait_ms,
		};
		unsigned char got[2], buf[PAGE];
		pthread_t ta, tb;
		char what[160];

		uint64_t t0 = rr_now_ns();

		ktap_require(pthread_create(&tb, NULL, thread_b, &z) == 0, "pthread_create");
		ktap_require(pthread_create(&ta, NULL, thread_a, &z) == 0, "pthread_create");
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		uint64_t t1 = rr_now_ns();

		ktap_require(pread(run.fd, buf, PAGE, (off_t)r * PAGE) == PAGE, "pread");
		got[0] = buf[1];
		got[1] = buf[65];
		bool bad = got[0] != z.va || got[1] != z.vb;

		damaged += bad;
		snprintf(what, sizeof(what), "A stored %#x, file has %#x; B stored %#x%s, file has %#x",
			 z.va, got[0], z.vb, z.b_saw_data ? " after SEEK_DATA saw the block" : "",
			 got[1]);
		rr_round(r, t0, t1, run.ino, r, bad, what);
	}
	ktap_result(!damaged, "every store into a freshly allocated page survived (%d of %d rounds lost one)",
		    damaged, run.rounds);
	munmap(map_a, len);
	munmap(map_b, len);
	return rr_finish(&run, damaged);
}
