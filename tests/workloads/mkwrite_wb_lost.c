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

static void instance_write(const char *file, const char *s)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/%s", instance, file);
	ktap_require(tracefs_write(p, s) == 0, "write '%s' to %s", s, p);
}

static void tracefs_cleanup(void)
{
	tracefs_instance_remove(instance, "events/fs_dax/enable");
}

static void tracefs_setup(unsigned long ino)
{
	char filter[64];

	tracefs_instance_create("mkwrite_wb_lost", instance, sizeof(instance));
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
	struct rr_sleeper sleeper;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	rr_sleeper_started(&w->sleeper);
	*(volatile unsigned int *)(w->map + w->page * PAGE + 128) = w->value;
	return NULL;
}

int main(int argc, char **argv)
{
	struct rr_run run = { .name = "mkwrite_wb_lost", .rounds = 20, .wait_ms = 500 };
	int damaged = 0, fsync_errors = 0;

	rr_start(&run, argc, argv, 3);
	size_t len = (size_t)run.rounds * PAGE;

	ktap_require(posix_fallocate(run.fd, 0, (off_t)len) == 0, "fallocate");
	volatile unsigned char *map = dax_file_map(run.fd, len);

	/* Every page mapped and dirty, then cleaned: every PTE is now
	 * write-protected, so each round's store is a first-write fault. */
	for (int p = 0; p < run.rounds; p++)
		map[(size_t)p * PAGE] = 1;
	ktap_require(fsync(run.fd) == 0, "fsync");
	tracefs_setup(run.ino);

	for (int r = 0; r < run.rounds; r++) {
		struct writer w = { .map = map, .page = r, .value = 0x57570000u + r };
		uint64_t fault_end, last_wb;
		int wbs;
		pthread_t t;
		char what[200];

		instance_write("trace", "");
		uint64_t t0 = rr_now_ns();

		bool blocked = rr_start_sleeper(&t, writer_fn, &w, &w.sleeper, run.wait_ms);

		fsync_errors += fsync(run.fd) != 0;
		pthread_join(t, NULL);
		fsync_errors += fsync(run.fd) != 0;
		uint64_t t1 = rr_now_ns();

		trace_scan(w.sleeper.tid, r, &fault_end, &last_wb, &wbs);
		/* Same microsecond: not counted (the trace shows us only). */
		bool bad = fault_end && last_wb < fault_end;

		damaged += bad;
		snprintf(what, sizeof(what),
			 "writer %s; its last fault on the page ended at %llu ns, %d writebacks of the page, last at %llu ns",
			 blocked ? "slept in its fault when fsync began" : "was not seen asleep",
			 (unsigned long long)fault_end, wbs, (unsigned long long)last_wb);
		rr_round(r, t0, t1, run.ino, r, bad, what);
		if (!fault_end)
			ktap_diag("round %d: no fault of the writer on page %d was traced", r, r);
	}
	tracefs_cleanup();
	ktap_result(fsync_errors == 0, "%d fsyncs returned 0 (%d failed)", 2 * run.rounds, fsync_errors);
	ktap_result(!damaged,
		    "every page written after fsync began was written back after the write (%d of %d rounds not)",
		    damaged, run.rounds);
	munmap((void *)map, len);
	return rr_finish(&run, damaged);
}
