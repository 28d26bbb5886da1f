/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the round-based race reproducers (zero_store_wiped,
 * mkwrite_wb_lost, punch_fault_stale, busy_scan_locked): each round is one
 * attempt at the race on one page, and each prints one line
 *   # round R: T0..T1 ns ino I pgoff P damaged 0|1 (what was seen)
 * with T0/T1 in CLOCK_MONOTONIC (the clock of daxtrace's events), so that
 * a judge can match findings to rounds.  The last diagnostic line is
 *   # NAME: rounds N damaged K
 * and the KTAP result is "not ok" when any round was damaged.
 *
 * The rounds line the racing sides up by waiting until the task on one
 * side sleeps in the kernel (state D in /proc): that is where a race
 * window is held open, so the other side enters it deterministically.
 */
#ifndef DAXTRACE_RACE_ROUND_H
#define DAXTRACE_RACE_ROUND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "dax_file.h"
#include "ktap.h"

static inline uint64_t rr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline pid_t rr_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The scheduler state letter of thread @tid of this process ('?' if
 * unreadable). */
static inline char rr_task_state(pid_t tid)
{
	char p[64], buf[512], *c;
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(p, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	c = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	return c && c[1] == ' ' ? c[2] : '?';
}

/* Where thread @tid sleeps (/proc wchan: a kernel function name, or "0"
 * or a number when the kernel cannot name it); "" if unreadable. */
static inline void rr_task_wchan(pid_t tid, char *buf, size_t len)
{
	char p[64];
	FILE *f;
	size_t n = 0;

	snprintf(p, sizeof(p), "/proc/self/task/%d/wchan", (int)tid);
	f = fopen(p, "r");
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
}

/*
 * Wait until thread @tid sleeps uninterruptibly (a kernel wait: a lock or
 * a held-open race window) or @max_ms passed; true if it did.  Polls
 * every 200 us: the windows held open in the lab are tens of ms.  A sleep
 * paging in the program itself does not count: in the lab the binaries
 * live on 9p, and a thread that blocks there (wchan p9_*, seen in the lab
 * before a punch) has not reached its race window yet.
 */
static inline bool rr_wait_blocked(pid_t tid, unsigned int max_ms)
{
	uint64_t end = rr_now_ns() + (uint64_t)max_ms * 1000000ull;
	struct timespec ts = { 0, 200000 };
	char wchan[128];

	while (rr_now_ns() < end) {
		if (rr_task_state(tid) == 'D') {
			rr_task_wchan(tid, wchan, sizeof(wchan));
			if (strncmp(wchan, "p9_", 3) && !strstr(wchan, "netfs"))
				return true;
		}
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * The side of a round that is to be caught asleep in the kernel runs in a
 * thread of its own, which says who it is (rr_sleeper_started()) before
 * it makes the call that may sleep.
 */
struct rr_sleeper {
	pid_t tid;
	atomic_int started;
};

static inline void rr_sleeper_started(struct rr_sleeper *s)
{
	s->tid = rr_gettid();
	atomic_store(&s->started, 1);
}

/* Start @fn(@arg) in thread *@t (@fn reports to @s) and wait until it
 * sleeps in the kernel; true if it did within @wait_ms. */
static inline bool rr_start_sleeper(pthread_t *t, void *(*fn)(void *), void *arg,
				    struct rr_sleeper *s, unsigned int wait_ms)
{
	ktap_require(pthread_create(t, NULL, fn, arg) == 0, "pthread_create");
	while (!atomic_load(&s->started))
		;
	return rr_wait_blocked(s->tid, wait_ms);
}

static inline void rr_round(int round, uint64_t t0, uint64_t t1, unsigned long ino, long pgoff,
			    bool damaged, const char *what)
{
	ktap_diag("round %d: %llu..%llu ns ino %lu pgoff %ld damaged %d (%s)", round,
		  (unsigned long long)t0, (unsigned long long)t1, ino, pgoff, damaged ? 1 : 0,
		  what);
}

/* Options of the round-based reproducers: [DIR] [-n rounds] [-d ms]. */
static inline const char *rr_parse(int argc, char **argv, int *rounds, unsigned int *wait_ms)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:d:")) != -1) {
		switch (opt) {
		case 'n': *rounds = atoi(optarg); break;
		case 'd': *wait_ms = (unsigned int)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [DIR] [-n rounds] [-d max_wait_ms]\n", argv[0]);
			exit(2);
		}
	}
	if (*rounds < 1 || *rounds > 100000) {
		fprintf(stderr, "%s: rounds must be 1..100000\n", argv[0]);
		exit(2);
	}
	return workload_dir(argc - optind + 1, argv + optind - 1);
}

/* One run of a round-based reproducer: its options and its DAX file. */
struct rr_run {
	const char *name;
	int rounds;		/* -n, the caller's default */
	unsigned int wait_ms;	/* -d, the caller's default */
	int fd;
	unsigned long ino;	/* of the file, for the "# round" lines */
	char path[4096];
};

/* Parse the options, print the plan of @checks checks and create the file
 * DIR/NAME.PID (the first check: it is a DAX file). */
static inline void rr_start(struct rr_run *run, int argc, char **argv, int checks)
{
	const char *dir = rr_parse(argc, argv, &run->rounds, &run->wait_ms);
	struct stat st;

	ktap_plan(checks);
	run->fd = dax_file_create(dir, run->name, run->path, sizeof(run->path));
	ktap_require(fstat(run->fd, &st) == 0, "fstat");
	run->ino = (unsigned long)st.st_ino;
}

/* The last diagnostic line; removes the file and gives the exit status. */
static inline int rr_finish(struct rr_run *run, int damaged)
{
	ktap_diag("%s: rounds %d damaged %d", run->name, run->rounds, damaged);
	close(run->fd);
	unlink(run->path);
	return ktap_finish();
}

#endif /* DAXTRACE_RACE_ROUND_H */
