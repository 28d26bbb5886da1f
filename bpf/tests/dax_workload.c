// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dax_workload: small deterministic workloads on a DAX file, each one a step
 * sequence the lab tests expect to see in the probes' events.
 *
 *   hole-write FILE          write fault into a hole (allocation + zeroing)
 *   msync FILE NPAGES        mmap-write NPAGES pages, msync(MS_SYNC)
 *   pin-punch FILE HOLD_MS   punch a hole over a page held busy by vmsplice
 *   pin-truncate FILE HOLD_MS  truncate over a page held busy by vmsplice
 *   fault-bench FILE NPAGES ITERS  fault-heavy loop; prints ns per fault
 *
 * The busy page: vmsplice() of a DAX mapping into a pipe takes page
 * references that live until the pipe is read, so the
 * filesystem's layout break must find the page busy and wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PG 4096L

static void die(const char *what)
{
	fprintf(stderr, "dax_workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_new(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path);
	if (ftruncate(fd, size))
		die("ftruncate");
	return fd;
}

static char *map(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static int hole_write(const char *path)
{
	int fd = open_new(path, 64 * PG);	/* sparse: all holes */
	char *p = map(fd, 64 * PG);

	p[5 * PG] = 'x';			/* write fault on page 5 */
	munmap(p, 64 * PG);
	close(fd);
	printf("hole-write: wrote page 5\n");
	return 0;
}

static int do_msync(const char *path, long n)
{
	int fd = open_new(path, n * PG);
	char *p = map(fd, n * PG);

	for (long i = 0; i < n; i++)
		p[i * PG] = 'a' + i % 26;
	if (msync(p, n * PG, MS_SYNC))
		die("msync");
	munmap(p, n * PG);
	close(fd);
	printf("msync: %ld pages\n", n);
	return 0;
}

struct remover {
	int fd;
	int truncate;
	double done_at;
	int err;
};

static void *remove_blocks(void *arg)
{
	struct remover *r = arg;

	if (r->truncate)
		r->err = ftruncate(r->fd, 0) ? errno : 0;
	else
		r->err = fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   0, 16 * PG) ? errno : 0;
	r->done_at = now();
	return NULL;
}

static int pinned_remove(const char *path, long hold_ms, int truncate)
{
	int fd = open_new(path, 16 * PG);
	int pfd[2];
	char *p = map(fd, 16 * PG), buf[PG];
	struct iovec iov = { .iov_base = p + 3 * PG, .iov_len = PG };
	struct remover r = { .fd = fd, .truncate = truncate };
	pthread_t t;
	double released;

	for (long i = 0; i < 16; i++)
		p[i * PG] = 'p';	/* allocate and map every page */
	if (fsync(fd))
		die("fsync");
	if (pipe(pfd))
		die("pipe");
	if (vmsplice(pfd[1], &iov, 1, 0) != PG)	/* page 3 is now busy */
		die("vmsplice");
	/* Keep the mapping: 6.1's dax_layout_busy_page_range() returns early
	 * for an unmapped file (!mapping_mapped()), and this test is about the
	 * path that works. */
	if (pthread_create(&t, NULL, remove_blocks, &r))
		die("pthread_create");
	usleep(hold_ms * 1000);
	released = now();
	if (read(pfd[0], buf, sizeof(buf)) != PG)	/* drain: page idle */
		die("read pipe");
	pthread_join(t, NULL);
	munmap(p, 16 * PG);
	if (r.err) {
		errno = r.err;
		die(truncate ? "ftruncate" : "fallocate");
	}
	printf("%s: blocks removed %.1f ms after the pin was released (%s)\n",
	       truncate ? "pin-truncate" : "pin-punch",
	       (r.done_at - released) * 1e3,
	       r.done_at >= released ? "waited for the pin" : "did NOT wait");
	close(fd);
	return 0;
}

static int fault_bench(const char *path, long n, long iters)
{
	int fd = open_new(path, 0);
	double t0 = now();

	for (long it = 0; it < iters; it++) {
		char *p;

		if (ftruncate(fd, 0) || ftruncate(fd, n * PG))
			die("ftruncate");
		p = map(fd, n * PG);
		for (long i = 0; i < n; i++)
			p[i * PG] = (char)it;	/* write fault into a hole */
		for (long i = 0; i < n; i++)
			p[i * PG + 1] = (char)i;	/* (mapped: no fault) */
		munmap(p, n * PG);
	}
	double dt = now() - t0;
	printf("{\"faults\": %ld, \"seconds\": %.6f, \"ns_per_fault\": %.1f}\n",
	       n * iters, dt, dt * 1e9 / (n * iters));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "hole-write"))
		return hole_write(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "msync"))
		return do_msync(argv[2], atol(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "pin-punch"))
		return pinned_remove(argv[2], atol(argv[3]), 0);
	if (argc >= 4 && !strcmp(argv[1], "pin-truncate"))
		return pinned_remove(argv[2], atol(argv[3]), 1);
	if (argc >= 5 && !strcmp(argv[1], "fault-bench"))
		return fault_bench(argv[2], atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: dax_workload hole-write|msync|pin-punch|pin-truncate|"
			"fault-bench FILE [ARGS]\n");
	return 2;
}
