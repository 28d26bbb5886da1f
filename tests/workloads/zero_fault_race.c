// SPDX-License-Identifier: GPL-2.0
/*
 * Race class Z: block zeroing vs. concurrent first-write faults.
 *
 * Several threads store to different bytes of the same unallocated page of
 * a sparse DAX file at the same moment.  Each store takes a write fault
 * that allocates (or finds) the page's block.  If the filesystem handed the
 * block out before zeroing it and zeroed it after another thread had
 * already mapped it and stored, that store is wiped (Dave Chinner's and
 * Matthew Wilcox's 2015 scenario, fixed by zeroing inside the allocator).
 * The check: after every round, every thread's byte on every page is
 * still there.
 *
 * usage: zero_fault_race [DIR] [-t threads] [-p pages] [-s seconds]
 */
#include <getopt.h>
#include <pthread.h>
#include <sys/mman.h>

#include "dax_file.h"

struct run {
	unsigned char *map;
	int pages, threads, round;
	pthread_barrier_t barrier;
};

struct worker {
	struct run *run;
	int id;
};

/* The value thread @id stores on @page in @round: never zero, so a wiped
 * store is always detected. */
static unsigned char stamp(int round, int page, int id)
{
	return (unsigned char)(((round * 31 + page * 7 + id) % 255) + 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	for (int p = 0; p < r->pages; p++) {
		/* Line the threads up so that their first-write faults on
		 * page p start together. */
		pthread_barrier_wait(&r->barrier);
		r->map[(size_t)p * PAGE + 64 * w->id + 1] = stamp(r->round, p, w->id);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .threads = 4, .pages = 128, .seconds = 10 };
	const char *dir = workload_parse(argc, argv, &o);
	int threads = o.threads, pages = o.pages;
	double seconds = o.seconds;
	char path[4096];

	if (threads < 2 || threads > 64 || pages < 1) {
		fprintf(stderr, "%s: need 2..64 threads and at least one page\n", argv[0]);
		return 2;
	}
	ktap_plan(2);
	int fd = dax_file_create(dir, "zero_fault_race", path, sizeof(path));

	struct run r = { .pages = pages, .threads = threads };
	pthread_t tid[64];
	struct worker w[64];
	long stores = 0, lost = 0;
	double t0 = ktap_now();
	unsigned char *buf = malloc((size_t)pages * PAGE);

	ktap_require(buf, "malloc");
	for (r.round = 0; ktap_now() - t0 < seconds; r.round++) {
		/* A fresh sparse file every round: every page is a hole. */
		ktap_require(ftruncate(fd, 0) == 0 && ftruncate(fd, (off_t)pages * PAGE) == 0,
			     "ftruncate");
		r.map = dax_file_map(fd, (size_t)pages * PAGE);
		pthread_barrier_init(&r.barrier, NULL, threads);
		for (int i = 0; i < threads; i++) {
			w[i] = (struct worker){ .run = &r, .id = i };
			ktap_require(pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0,
				     "pthread_create");
		}
		for (int i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
		pthread_barrier_destroy(&r.barrier);
		munmap(r.map, (size_t)pages * PAGE);

		/* Read back through read(2), not the mapping: what the file
		 * holds is what counts. */
		ktap_require(pread(fd, buf, (size_t)pages * PAGE, 0) == (ssize_t)pages * PAGE,
			     "pread");
		for (int p = 0; p < pages; p++) {
			for (int i = 0; i < threads; i++, stores++) {
				unsigned char got = buf[(size_t)p * PAGE + 64 * i + 1];

				if (got == stamp(r.round, p, i))
					continue;
				if (lost++ < 10)
					ktap_diag("round %d page %d thread %d: stored %u, file has %u",
						  r.round, p, i, stamp(r.round, p, i), got);
			}
		}
	}
	ktap_result(lost == 0, "%d threads x %d pages x %d rounds: %ld concurrent first-write stores, %ld lost",
		    threads, pages, r.round, stores, lost);
	close(fd);
	unlink(path);
	free(buf);
	return ktap_finish();
}
