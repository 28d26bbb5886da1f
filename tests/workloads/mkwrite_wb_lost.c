// SPDX-License-Identifier: GPL-2.0
/*
 * Race class W, one page per round: a first write to a mapped page races
 * with fsync, and the written data is never written back.
 *
 * A first write to a clean, write-protected DAX page is a fault that tags
 * the page's entry dirty and makes the PTE writable; the store lands
 * after the fault returns.  fsync write-protects and cleans dirty entries.
 * If writeback can clean the entry between the fault's dirtying and its
 * PTE becoming writable (the race of the original DAX fsync series; the
 * race lab kernel's dax_reopen.w=1), the PTE ends up writable over a clean
 * entry: the store lands, and no later fsync writes it back.
 *
 * Each round: thread W stores into page P (clean and write-protected by
 * the previous fsync); as soon as W sleeps in the kernel (its fault), the
 * main thread calls fsync; then, after W returned, fsync again.  The damage
 * is observed without daxtrace, in a private tracefs instance with the
 * monotonic trace clock: fs_dax:dax_pte_fault_done of W's faults on P and
 * fs_dax:dax_writeback_one of the two fsyncs.  The store lands after W's
 * last fault on P returned, so on a correct kernel some writeback of P
 * comes after that fault's end (the fault left the entry dirty, or a
 * writeback that cleaned it write-protected the PTE after the store, or
 * the store faulted again); the round is damaged when none does.
 *
 * usage: mkwrite_wb_lost [DIR] [-n rounds] [-d max_wait_ms]
 * Output: KTAP, one "# round" line per round (race_round.h).  Needs root.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dax_file.h"
#include "tracefs_instance.h"
#include "race_round.h"

static char instance[512];

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void instance_write(const char *file, const char *s)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/%s", instance, file);
	ktap_require(write_file(p, s) == 0, "write '%s' to %s", s, p);
}

static void tracefs_cleanup(void)
{
	char p[700];

	if (!instance[0])
		return;
	snprintf(p, sizeof(p), "%s/events/fs_dax/enable", instance);
	write_file(p, "0");
	rmdir(instance);
	instance[0] = 0;
}

static void tracefs_setup(unsigned long ino)
{
	const char *root = tracefs_root();
	char filter[64];

	ktap_require(root, "tracefs (mount -t tracefs tracefs /sys/kernel/tracing)");
	snprintf(instance, sizeof(instance), "%s/instances/mkwrite_wb_lost.%d", root, getpid());
	ktap_require(tracefs_make_instance(root, instance) == 0, "mkdir %s", instance);
	atexit(tracefs_cleanup);
	/* Timestamps comparable across CPUs (the default clock is not). */
	instance_write("trace_clock", "mono");
	snprintf(filter, sizeof(filter), "ino == %lu", ino);
	instance_write("events/fs_dax/dax_pte_fault_done/filter", filter);
	instance_write("events/fs_dax/dax_writeback_one/filter", filter);
	instance_write("events/fs_dax/dax_pte_fault_done/enable", "1");
	instance_write("events/fs_dax/dax_writeback_one/enable", "1");
}

/*
 * From this round's events: the end of the last fault of @tid on @page,
 * and the time of the last writeback covering @page (0 if none).
 */
static void trace_scan(pid_t tid, long page, uint64_t *fault_end, uint64_t *last_wb, int *wbs)
{
	char p[700], line[512];
	FILE *f;

	*fault_end = *last_wb = 0;
	*wbs = 0;
	snprintf(p, sizeof(p), "%s/trace", instance);
	f = fopen(p, "r");
	ktap_require(f, "open %s", p);
	while (fgets(line, sizeof(line), f)) {
		char *colon, *a, *b;
		unsigned long sec, usec;
		int pid;
		uint64_t ts;

		if (line[0] == '#')
			continue;
		/* "  comm-PID  [CPU] flags  SEC.USEC: event: ..." */
		colon = strstr(line, ": dax_");
		if (!colon)
			continue;
		a = colon;
		while (a > line && a[-1] != ' ')
			a--;
		if (sscanf(a, "%lu.%lu", &sec, &usec) != 2)
			continue;
		ts = (uint64_t)sec * 1000000000ull + (uint64_t)usec * 1000ull;
		b = strstr(line, " [");
		if (!b)
			continue;
		for (a = b; a > line && a[-1] != '-'; a--)
			;
		pid = atoi(a);
		if (strstr(colon, "dax_pte_fault_done:")) {
			char *g = strstr(colon, " pgoff ");

			if (pid == tid && g && strtol(g + 7, NULL, 0) == page && ts > *fault_end)
				*fault_end = ts;
		} else if (strstr(colon, "dax_writeback_one:")) {
			char *g = strstr(colon, " pgoff "), *l = strstr(colon, " pglen ");
			long off, len;

			if (!g || !l)
				continue;
			off = strtol(g + 7, NULL, 0);
			len = strtol(l + 7, NULL, 0);
			if (page >= off && page < off + len) {
				(*wbs)++;
				if (ts > *last_wb)
					*last_wb = ts;
			}
		}
	}
	fclose(f);
}

struct writer {
	volatile unsigned char *map;
	long page;
	unsigned int value;
	pid_t tid;
	atomic_int started;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	w->tid = rr_gettid();
	atomic_store(&w->started, 1);
	*(volatile unsigned int *)(w->map + w->page * PAGE + 128) = w->value;
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = 20;
	unsigned int wait_ms = 500;
	const char *dir = rr_parse(argc, argv, &rounds, &wait_ms);
	char path[4096];
	int damaged = 0, fsync_errors = 0;
	struct stat st;

	ktap_plan(3);
	int fd = dax_file_create(dir, "mkwrite_wb_lost", path, sizeof(path));
	size_t len = (size_t)rounds * PAGE;

	ktap_require(posix_fallocate(fd, 0, (off_t)len) == 0, "fallocate");
	ktap_require(fstat(fd, &st) == 0, "fstat");
	volatile unsigned char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ktap_require(map != MAP_FAILED, "mmap");
	/* Every page mapped and dirty, then cleaned: every PTE is now
	 * write-protected, so each round's store is a first-write fault. */
	for (int p = 0; p < rounds; p++)
		map[(size_t)p * PAGE] = 1;
	ktap_require(fsync(fd) == 0, "fsync");
	tracefs_setup((unsigned long)st.st_ino);

	for (int r = 0; r < rounds; r++) {
		struct writer w = { .map = map, .page = r, .value = 0x57570000u + r };
		uint64_t fault_end, last_wb;
		int wbs;
		pthread_t t;
		char what[200];

		instance_write("trace", "");
		uint64_t t0 = rr_now_ns();

		ktap_require(pthread_create(&t, NULL, writer_fn, &w) == 0, "pthread_create");
		while (!atomic_load(&w.started))
			;
		bool blocked = rr_wait_blocked(w.tid, wait_ms);

		fsync_errors += fsync(fd) != 0;
		pthread_join(t, NULL);
		fsync_errors += fsync(fd) != 0;
		uint64_t t1 = rr_now_ns();

		trace_scan(w.tid, r, &fault_end, &last_wb, &wbs);
		/* Same microsecond: not counted (the trace shows us only). */
		bool bad = fault_end && last_wb < fault_end;

		damaged += bad;
		snprintf(what, sizeof(what),
			 "writer %s; its last fault on the page ended at %llu ns, %d writebacks of the page, last at %llu ns",
			 blocked ? "slept in its fault when fsync began" : "was not seen asleep",
			 (unsigned long long)fault_end, wbs, (unsigned long long)last_wb);
		rr_round(r, t0, t1, (unsigned long)st.st_ino, r, bad, what);
		if (!fault_end)
			ktap_diag("round %d: no fault of the writer on page %d was traced", r, r);
	}
	tracefs_cleanup();
	ktap_result(fsync_errors == 0, "%d fsyncs returned 0 (%d failed)", 2 * rounds, fsync_errors);
	ktap_result(!damaged,
		    "every page written after fsync began was written back after the write (%d of %d rounds not)",
		    damaged, rounds);
	ktap_diag("mkwrite_wb_lost: rounds %d damaged %d", rounds, damaged);
	munmap((void *)map, len);
	close(fd);
	unlink(path);
	return ktap_finish();
}
