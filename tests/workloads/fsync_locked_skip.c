// SPDX-License-Identifier: GPL-2.0
/*
 * fsync returns without flushing a page that was dirty before it began,
 * because a concurrent fault held the page's DAX entry locked.
 *
 * dax_writeback_mapping_range() walks the TOWRITE-tagged entries with one
 * xa_state and hands it to dax_writeback_one().  For an entry that is
 * locked, dax_writeback_one() calls get_unlocked_entry() on that walking
 * xa_state; xas_find_conflict() on an xa_state positioned on an order-0
 * (or, from the order-0 walk, a PMD) entry returns NULL at once, the
 * "entry got punched out" path is taken and the entry is skipped without
 * waiting.  The entry stays dirty, so nothing is lost until the next
 * fsync, but this fsync returned 0 with data written before it still in
 * the CPU caches: a power cut then loses it.
 *
 * Each round: store into every page through a shared mapping (all pages
 * dirty), then fsync while a second thread read-faults the same pages
 * through another mapping of the file (MADV_DONTNEED, then touch: every
 * touch is a DAX fault that locks the entry).  The damage is observed
 * without daxtrace: the fs_dax:dax_writeback_one tracepoint (one event
 * per entry flushed, with its page count) is enabled in a private tracefs
 * instance, filtered to this inode and this thread, and read after each
 * fsync.  A round is damaged when fsync wrote back fewer pages than were
 * dirty before it began.
 *
 * usage: fsync_locked_skip [DIR] [-n rounds] [-p pages] [--pmd] [--no-racer]
 *   DIR          a directory on a filesystem mounted -o dax (default $LAB_MNT)
 *   -n rounds    fsync rounds (default 100)
 *   -p pages     4 KiB pages dirtied per round (default 100; with --pmd a
 *                multiple of 512, default 512)
 *   --pmd        a 2 MiB aligned file and mappings, so that the entries are
 *                PMD entries (Bail out if the kernel gave none)
 *   --no-racer   control: no second thread; every fsync must write back all
 * Output: KTAP.  "not ok" (exit 1) when any round was damaged; every
 * damaged round is one diagnostic line
 *   # damaged round R: fsync T0..T1 ns wrote back W of D dirty pages, missed pgoff A[-B],...
 * (T0/T1 CLOCK_MONOTONIC, the clock of daxtrace's events), and the last
 * diagnostic is
 *   # fsync_locked_skip: rounds N damaged K missed_pages M mode 4k|pmd racer yes|no
 * Exit 2 (Bail out) when the set-up failed (no DAX, no tracefs, no PMD).
 * Needs root (tracefs).
 */
#include <getopt.h>
#include <sched.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dax_file.h"
#include "tracefs_instance.h"

#define PMD_SIZE (2UL << 20)
#define PMD_PAGES 512

static char instance[512];	/* our tracefs instance, removed at exit */

struct racer {
	volatile unsigned char *map;
	size_t len;
	int pages;
	atomic_int stop;
	long faults;
};

static void *racer_fn(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->stop)) {
		/* Zap our PTEs so that every touch below is a DAX fault,
		 * and every such fault locks the entry for a moment. */
		madvise((void *)r->map, r->len, MADV_DONTNEED);
		for (int p = 0; p < r->pages && !atomic_load(&r->stop); p++) {
			(void)r->map[(size_t)p * PAGE];
			r->faults++;
		}
	}
	return NULL;
}

/*
 * The race needs the racer's fault and fsync's walk on two CPUs at once.
 * Left to the scheduler, a lab boot sometimes kept both threads on one of
 * its two vCPUs (a third runnable task, daxtrace, on the other) and no
 * round was damaged in the whole run; so the fsync thread takes the first
 * allowed CPU and the racer the second.  One CPU: left as it is.
 */
static void spread_over_cpus(pthread_t racer)
{
	cpu_set_t allowed, one;
	int cpus[2], n = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	if (n < 2)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpus[1], &one);
	if (pthread_setaffinity_np(racer, sizeof(one), &one))
		return;
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void tracefs_cleanup(void)
{
	tracefs_instance_remove(instance, "events/fs_dax/dax_writeback_one/enable");
}

/* A private instance: daxtrace, other tracers and the global buffer are
 * left alone, and clearing our buffer each round disturbs nobody. */
static void tracefs_setup(ino_t ino)
{
	char event_dir[600], p[700], filter[128];

	tracefs_instance_create("fsync_locked_skip", instance, sizeof(instance));
	atexit(tracefs_cleanup);
	snprintf(event_dir, sizeof(event_dir), "%s/events/fs_dax/dax_writeback_one", instance);
	snprintf(p, sizeof(p), "%s/filter", event_dir);
	snprintf(filter, sizeof(filter), "ino == %lu && common_pid == %d", (unsigned long)ino,
		 (int)gettid());
	ktap_require(tracefs_write(p, filter) == 0, "set %s to '%s'", p, filter);
	snprintf(p, sizeof(p), "%s/enable", event_dir);
	ktap_require(tracefs_write(p, "1") == 0, "enable fs_dax:dax_writeback_one (%s)", p);
}

static void trace_clear(void)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/trace", instance);
	ktap_require(tracefs_write(p, "") == 0, "clear %s", p);
}

/* Marks the pages of every dax_writeback_one event in wb[]; returns the
 * number of entries seen and counts PMD entries in *pmd_entries. */
static int trace_collect(unsigned char *wb, int pages, long *pmd_entries)
{
	char p[600], line[512];
	FILE *f;
	int entries = 0;

	snprintf(p, sizeof(p), "%s/trace", instance);
	f = fopen(p, "r");
	ktap_require(f, "open %s", p);
	while (fgets(line, sizeof(line), f)) {
		char *a = strstr(line, "dax_writeback_one:"), *b, *c;
		unsigned long pgoff, pglen;

		if (!a || !(b = strstr(a, " pgoff ")) || !(c = strstr(a, " pglen ")))
			continue;
		pgoff = strtoul(b + 7, NULL, 0);
		pglen = strtoul(c + 7, NULL, 0);
		entries++;
		if (pglen >= PMD_PAGES)
			(*pmd_entries)++;
		for (unsigned long i = pgoff; i < pgoff + pglen && i < (unsigned long)pages; i++)
			wb[i] = 1;
	}
	fclose(f);
	return entries;
}

/* A mapping of the file at a 2 MiB aligned address (PMD faults need it). */
static void *map_aligned(size_t len, int prot, int fd)
{
	size_t span = len + PMD_SIZE;
	unsigned char *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *a;

	ktap_require(r != MAP_FAILED, "mmap reserve");
	a = (unsigned char *)(((uintptr_t)r + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	ktap_require(mmap(a, len, prot, MAP_SHARED | MAP_FIXED, fd, 0) == a, "mmap");
	return a;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [DIR] [-n rounds] [-p pages] [--pmd] [--no-racer]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "pmd", no_argument, NULL, 'P' },
		{ "no-racer", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'H' },
		{ 0 }
	};
	int rounds = 100, pages = -1, opt;
	bool pmd = false, use_racer = true;
	char path[4096];
	const char *dir;

	while ((opt = getopt_long(argc, argv, "n:p:", lopts, NULL)) != -1) {
		switch (opt) {
		case 'n': rounds = atoi(optarg); break;
		case 'p': pages = atoi(optarg); break;
		case 'P': pmd = true; break;
		case 'R': use_racer = false; break;
		default: usage(argv[0]);
		}
	}
	dir = optind < argc ? argv[optind] : getenv("LAB_MNT");
	if (!dir)
		usage(argv[0]);
	if (pages < 0)
		pages = pmd ? PMD_PAGES : 100;
	if (rounds < 1 || pages < 1 || pages > (1 << 20) || (pmd && pages % PMD_PAGES)) {
		fprintf(stderr, "%s: need rounds >= 1 and 1 <= pages <= 2^20 (a multiple of 512 with --pmd)\n",
			argv[0]);
		return 2;
	}

	ktap_plan(3);
	int fd = dax_file_create(dir, "fsync_locked_skip", path, sizeof(path));
	size_t len = (size_t)pages * PAGE;
	struct stat st;

	if (pmd) {
		/* xfs: ask for 2 MiB aligned extents (ext4 has no such hint
		 * and fails the ioctl: harmless). */
		struct fsxattr fsx;

		if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) == 0) {
			fsx.fsx_xflags |= FS_XFLAG_EXTSIZE;
			fsx.fsx_extsize = PMD_SIZE;
			ioctl(fd, FS_IOC_FSSETXATTR, &fsx);
		}
	}
	/* Blocks allocated up front: the race is about dirty entries, not
	 * about allocation. */
	ktap_require(posix_fallocate(fd, 0, len) == 0, "fallocate");
	ktap_require(fsync(fd) == 0, "fsync");
	ktap_require(fstat(fd, &st) == 0, "fstat");
	tracefs_setup(st.st_ino);

	volatile unsigned char *map = pmd ? map_aligned(len, PROT_READ | PROT_WRITE, fd) :
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ktap_require(map != MAP_FAILED, "mmap");

	static struct racer r;
	pthread_t rt;

	r.len = len;
	r.pages = pages;
	r.map = pmd ? map_aligned(len, PROT_READ, fd) : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ktap_require(r.map != MAP_FAILED, "mmap (racer)");
	if (use_racer) {
		ktap_require(pthread_create(&rt, NULL, racer_fn, &r) == 0, "pthread_create");
		spread_over_cpus(rt);
	}

	unsigned char *wb = malloc(pages);
	long damaged = 0, missed_total = 0, sync_errors = 0, pmd_entries = 0, entries = 0;

	ktap_require(wb, "malloc");
	for (int round = 1; round <= rounds; round++) {
		/* Every page dirty before fsync begins: the first store after
		 * the last writeback is a write fault that tags the entry dirty;
		 * a page a damaged round skipped is still dirty. */
		for (int p = 0; p < pages; p++)
			*(volatile unsigned int *)(map + (size_t)p * PAGE + 64) = (unsigned int)round;
		trace_clear();
		memset(wb, 0, pages);

		uint64_t t0 = now_ns();
		int rc = fsync(fd);
		uint64_t t1 = now_ns();

		if (rc)
			sync_errors++;
		entries += trace_collect(wb, pages, &pmd_entries);

		int written = 0;

		for (int p = 0; p < pages; p++)
			written += wb[p];
		if (written == pages)
			continue;
		damaged++;
		missed_total += pages - written;

		char list[256];
		size_t off = 0;

		list[0] = 0;
		for (int p = 0; p < pages && off < sizeof(list) - 32; p++) {
			int q = p;

			if (wb[p])
				continue;
			while (q + 1 < pages && !wb[q + 1])
				q++;
			off += snprintf(list + off, sizeof(list) - off, "%s%d", off ? "," : "", p);
			if (q > p)
				off += snprintf(list + off, sizeof(list) - off, "-%d", q);
			p = q;
		}
		ktap_diag("damaged round %d: fsync %llu..%llu ns wrote back %d of %d dirty pages, missed pgoff %s",
			  round, (unsigned long long)t0, (unsigned long long)t1, written, pages, list);
	}
	if (use_racer) {
		atomic_store(&r.stop, 1);
		pthread_join(rt, NULL);
		ktap_diag("racer: %ld read faults through the second mapping", r.faults);
	}
	tracefs_cleanup();

	if (pmd && !pmd_entries) {
		printf("Bail out! --pmd but fsync wrote back no PMD entry (%ld entries seen): the filesystem did not map the file with PMDs\n",
		       entries);
		exit(2);
	}
	ktap_result(sync_errors == 0, "%d fsyncs returned 0 (%ld failed)", rounds, sync_errors);
	ktap_result(damaged == 0,
		    "every fsync wrote back all %d pages dirtied before it (%ld of %d rounds damaged, %ld pages missed%s)",
		    pages, damaged, rounds, missed_total,
		    use_racer ? ", racing read faults through a second mapping" : ", no racer");
	ktap_diag("fsync_locked_skip: rounds %d damaged %ld missed_pages %ld mode %s racer %s",
		  rounds, damaged, missed_total, pmd ? "pmd" : "4k", use_racer ? "yes" : "no");
	munmap((void *)map, len);
	munmap((void *)r.map, len);
	close(fd);
	unlink(path);
	free(wb);
	return ktap_finish();
}
