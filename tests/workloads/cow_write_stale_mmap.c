// SPDX-License-Identifier: GPL-2.0
/*
 * A write() that copies a shared (reflinked) DAX extent leaves the file's
 * existing mappings on the old, still shared block.
 *
 * DAX has no page cache to copy into: a write to a reflinked extent goes
 * to a newly allocated block and the extent map is switched to it when
 * the write ends (XFS CoW).  The file's DAX entries and page-table
 * entries, made by an earlier read fault, still point at the shared
 * block until something invalidates them.  v6.2's f80e1668888f ("fsdax:
 * invalidate pages when CoW") does that in the write path; without it a
 * mapping keeps reading the other file's data after the write returned.
 *
 * Each round: file A gets pattern 'a', B = FICLONE(A), B is mapped
 * shared and read (a read fault maps the shared block), pwrite() puts 'b'
 * into B.  Checked, independently of any tracing:
 *   - B's mapping shows the bytes pwrite() wrote (not A's);
 *   - a store through B's mapping completes: Debian's 6.1.192 WARNs in
 *     insert_pfn() (the PTE maps another pfn than the fault's) and leaves
 *     the PTE read-only, so the store faults again forever; a timer ends
 *     the store (store_completes()), and the workload stops there;
 *   - that store does not show up in A (not seen in the lab either way,
 *     checked because the stale PTE maps A's block).
 *
 * Needs a DAX filesystem with reflink (XFS; on ext4 FICLONE fails and the
 * workload reports a SKIP).  usage: cow_write_stale_mmap [DIR] [-n rounds]
 */
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "dax_file.h"

#define PAGES 4
#define STORE_TIMEOUT_S 10

static bool all_bytes(const unsigned char *p, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

static sigjmp_buf store_timeout;

static void on_alarm(int sig)
{
	(void)sig;
	siglongjmp(store_timeout, 1);
}

/*
 * Store through the mapping: true if it finished in time.  A store that
 * the kernel keeps refaulting returns to user space between the faults, so
 * the timer's handler runs and jumps out of it.  (In a forked child the
 * store does not hang: fork() copies the stale PTE read-only and the
 * child's write fault takes another path.)
 */
static bool store_completes(unsigned char *m, size_t len)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	bool done = false;

	sigaction(SIGALRM, &sa, NULL);
	if (!sigsetjmp(store_timeout, 1)) {
		alarm(STORE_TIMEOUT_S);
		memset(m, 'c', len);
		done = true;
	}
	alarm(0);
	if (!done)
		ktap_diag("the store was still faulting after %d s", STORE_TIMEOUT_S);
	return done && msync(m, len, MS_SYNC) == 0;
}

static void fill(int fd, unsigned char c)
{
	static unsigned char buf[PAGES * PAGE];

	memset(buf, c, sizeof(buf));
	ktap_require(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf), "pwrite");
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .count = 20 };
	const char *dir = workload_parse(argc, argv, &o);
	char apath[512], bpath[512];
	int stale_reads = 0, leaked_stores = 0, hung_stores = 0, rounds = 0;
	unsigned char first_stale = 0;

	ktap_plan(5);
	int a = dax_file_create(dir, "cow_a", apath, sizeof(apath));
	int b = dax_file_create(dir, "cow_b", bpath, sizeof(bpath));

	fill(a, 'a');
	ktap_require(fsync(a) == 0, "fsync %s", apath);
	if (ioctl(b, FICLONE, a) != 0) {
		ktap_skip("FICLONE %s -> %s: %s (no reflink on this filesystem)", apath, bpath,
			  strerror(errno));
		ktap_skip("no reflink");
		ktap_skip("no reflink");
		unlink(apath);
		unlink(bpath);
		return ktap_finish();
	}
	for (int r = 0; r < o.count; r++) {
		unsigned char *m;
		unsigned char seen_a[PAGE];

		fill(a, 'a');
		ktap_require(fsync(a) == 0, "fsync");
		ktap_require(ioctl(b, FICLONE, a) == 0, "FICLONE round %d", r);
		m = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
		ktap_require(m != MAP_FAILED, "mmap %s", bpath);
		/* Read faults: B's entries and PTEs now point at the shared blocks. */
		ktap_require(all_bytes(m, PAGES * PAGE, 'a'), "round %d: the clone reads as its source", r);
		fill(b, 'b');	/* CoW: B's extent moves to new blocks */
		if (!all_bytes(m, PAGES * PAGE, 'b')) {
			if (!stale_reads++)
				first_stale = m[0];
		}
		/* A store through B's mapping must finish and stay in B. */
		bool stored = store_completes(m, PAGE);

		ktap_require(pread(a, seen_a, PAGE, 0) == PAGE, "pread %s", apath);
		if (!all_bytes(seen_a, PAGE, 'a'))
			leaked_stores++;
		munmap(m, PAGES * PAGE);
		rounds++;
		if (!stored) {
			hung_stores++;
			break;	/* the kernel has WARNed once; more rounds add nothing */
		}
	}
	ktap_diag("cow_write_stale_mmap: %d rounds, %d stale reads (first byte '%c'), %d stores hung, %d stores into the source",
		  rounds, stale_reads, stale_reads ? first_stale : '-', hung_stores, leaked_stores);
	ktap_result(!stale_reads, "after a CoW write() the mapping shows the written data (%d of %d rounds stale)",
		    stale_reads, rounds);
	ktap_result(!hung_stores, "a store through the mapping after the CoW write() completes within %d s (%d of %d rounds hung)",
		    STORE_TIMEOUT_S, hung_stores, rounds);
	ktap_result(!leaked_stores, "a store through the clone's mapping stays out of its source (%d of %d rounds leaked)",
		    leaked_stores, rounds);
	unlink(apath);
	unlink(bpath);
	return ktap_finish();
}
