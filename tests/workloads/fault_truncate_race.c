// SPDX-License-Identifier: GPL-2.0
/*
 * Race class T: page faults vs. truncate and hole punch.
 *
 * A faulter reads and writes every page of a shared DAX mapping in a loop
 * while a truncator punches holes and shrinks/regrows the file.  The
 * filesystems serialise the two with the invalidate lock (ext4's and XFS's
 * MMAPLOCK); without it a fault could map a block the truncate is freeing,
 * and the mapping would keep pointing at a block the file no longer owns.
 * The check: once both stop, the mapping and read(2) agree on every page
 * (a stale mapping would show different data), and SIGBUS was only ever
 * seen past end of file.
 *
 * usage: fault_truncate_race [DIR] [-p pages] [-s seconds]
 */
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "dax_file.h"

struct shared {
	unsigned char *map;
	size_t len;
	int fd, pages;
	double deadline;
	atomic_int stop;
	long faults, sigbus, sigbus_inside, punches, truncates;
};

static __thread sigjmp_buf fault_env;
static __thread volatile int in_probe;

static void on_sigbus(int sig)
{
	(void)sig;
	if (in_probe)
		siglongjmp(fault_env, 1);
	abort();
}

static void *faulter(void *arg)
{
	struct shared *s = arg;
	volatile unsigned char v = 1;

	while (!atomic_load(&s->stop)) {
		for (volatile int p = 0; p < s->pages; p++, v = v % 250 + 1) {
			in_probe = 1;
			if (sigsetjmp(fault_env, 1)) {
				in_probe = 0;
				s->sigbus++;
				/* The lower half is never truncated away. */
				if (p < s->pages / 2)
					s->sigbus_inside++;
				continue;
			}
			(void)*(volatile unsigned char *)(s->map + (size_t)p * PAGE);
			*(volatile unsigned char *)(s->map + (size_t)p * PAGE + 1) = v;
			in_probe = 0;
			s->faults++;
		}
	}
	return NULL;
}

static void *truncator(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = 1;

	while (ktap_now() < s->deadline) {
		int p = rand_r(&seed) % s->pages;
		int n = 1 + rand_r(&seed) % 4;

		if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)p * PAGE, (off_t)n * PAGE) == 0)
			s->punches++;
		if (s->punches % 8 == 0) {
			off_t half = (off_t)(s->pages / 2) * PAGE;

			if (ftruncate(s->fd, half) == 0 && ftruncate(s->fd, s->len) == 0)
				s->truncates++;
		}
	}
	atomic_store(&s->stop, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct shared s;
	struct workload_opts o = { .pages = 64, .seconds = 10 };
	char path[4096];
	const char *dir = workload_parse(argc, argv, &o);

	if (o.pages < 2) {
		fprintf(stderr, "%s: need at least 2 pages\n", argv[0]);
		return 2;
	}
	ktap_plan(3);
	s.fd = dax_file_create(dir, "fault_truncate_race", path, sizeof(path));
	s.pages = o.pages;
	s.len = (size_t)o.pages * PAGE;
	ktap_require(ftruncate(s.fd, s.len) == 0, "ftruncate");
	s.map = dax_file_map(s.fd, s.len);

	struct sigaction sa = { .sa_handler = on_sigbus };

	sigaction(SIGBUS, &sa, NULL);
	s.deadline = ktap_now() + o.seconds;

	workload_race(faulter, truncator, &s);

	ktap_result(s.faults > 0 && s.punches > 0 && s.sigbus_inside == 0,
		    "%ld page accesses raced %ld hole punches and %ld truncate/regrow cycles; SIGBUS %ld times, %ld of them inside EOF",
		    s.faults, s.punches, s.truncates, s.sigbus, s.sigbus_inside);

	long differ = 0;
	unsigned char *buf = malloc(s.len);

	ktap_require(buf, "malloc");
	ktap_require(pread(s.fd, buf, s.len, 0) == (ssize_t)s.len, "pread");
	for (int p = 0; p < o.pages; p++) {
		if (memcmp(buf + (size_t)p * PAGE, s.map + (size_t)p * PAGE, PAGE) == 0)
			continue;
		if (differ++ < 10)
			ktap_diag("page %d: the mapping and read(2) disagree", p);
	}
	ktap_result(differ == 0, "mapping and read(2) agree on all %d pages after the race (%ld differ)",
		    o.pages, differ);
	munmap(s.map, s.len);
	close(s.fd);
	unlink(path);
	free(buf);
	return ktap_finish();
}
