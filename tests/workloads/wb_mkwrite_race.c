// SPDX-License-Identifier: GPL-2.0
/*
 * Race class W: writeback vs. pfn_mkwrite (Ross Zwisler's 2016 scenario).
 *
 * A writer stores to pages of a shared DAX mapping while a syncer loops
 * msync(MS_SYNC)/fsync/fdatasync over the file.  Every writeback
 * write-protects the page table entries and cleans the mapping's entries,
 * so the writer's next store to each page is a new first-write fault
 * (pfn_mkwrite) racing the next writeback.  If writeback could clean an
 * entry between the fault tagging it dirty and the PTE becoming writable,
 * later stores would never be flushed: a lost fsync.  That loss is only
 * visible after a power cut, which the lab cannot make; so this workload
 * checks what can be checked (every sync succeeds, the file matches every
 * last store) and daxtrace judges the ordering of the two paths.
 *
 * usage: wb_mkwrite_race [DIR] [-p pages] [-s seconds]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "dax_file.h"

struct shared {
	volatile unsigned char *map;
	size_t len;
	int fd, pages;
	double deadline;
	atomic_int stop;
	long stores, syncs, sync_errors;
	unsigned int last[4096];	/* last value stored per page */
};

static void *writer(void *arg)
{
	struct shared *s = arg;
	unsigned int v = 0;

	while (!atomic_load(&s->stop)) {
		for (int p = 0; p < s->pages; p++) {
			v++;
			/* A read first, so the page is mapped read-only again
			 * after writeback and the store is a pfn_mkwrite. */
			(void)s->map[(size_t)p * PAGE];
			*(volatile unsigned int *)(s->map + (size_t)p * PAGE + 128) = v;
			s->last[p] = v;
			s->stores++;
		}
	}
	return NULL;
}

static void *syncer(void *arg)
{
	struct shared *s = arg;

	while (ktap_now() < s->deadline) {
		int rc;

		switch (s->syncs % 3) {
		case 0: rc = msync((void *)s->map, s->len, MS_SYNC); break;
		case 1: rc = fsync(s->fd); break;
		default: rc = fdatasync(s->fd); break;
		}
		if (rc)
			s->sync_errors++;
		s->syncs++;
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

	if (o.pages < 1 || o.pages > 4096) {
		fprintf(stderr, "%s: pages must be 1..4096\n", argv[0]);
		return 2;
	}
	ktap_plan(3);
	s.fd = dax_file_create(dir, "wb_mkwrite_race", path, sizeof(path));
	s.pages = o.pages;
	s.len = (size_t)o.pages * PAGE;
	/* Allocate every block first: this workload is about dirtiness, not
	 * allocation. */
	ktap_require(posix_fallocate(s.fd, 0, s.len) == 0, "fallocate");
	ktap_require(fsync(s.fd) == 0, "fsync");
	s.map = dax_file_map(s.fd, s.len);
	s.deadline = ktap_now() + o.seconds;

	workload_race(writer, syncer, &s);

	ktap_result(s.sync_errors == 0 && s.syncs > 0,
		    "%ld msync/fsync/fdatasync calls racing %ld stores through the mapping, %ld failed",
		    s.syncs, s.stores, s.sync_errors);

	ktap_require(msync((void *)s.map, s.len, MS_SYNC) == 0, "final msync");
	long mismatches = 0;

	for (int p = 0; p < o.pages; p++) {
		unsigned int got;

		ktap_require(pread(s.fd, &got, sizeof(got), (off_t)p * PAGE + 128) == sizeof(got),
			     "pread");
		if (got != s.last[p] && mismatches++ < 10)
			ktap_diag("page %d: last store %u, file has %u", p, s.last[p], got);
	}
	ktap_result(mismatches == 0, "read(2) sees the last store on all %d pages (%ld differ)",
		    o.pages, mismatches);
	munmap((void *)s.map, s.len);
	close(s.fd);
	unlink(path);
	return ktap_finish();
}
