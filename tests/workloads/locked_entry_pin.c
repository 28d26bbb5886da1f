// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L: the busy-page scan meets a locked entry.
 *
 * Before a filesystem frees blocks of a DAX file it asks
 * dax_layout_busy_page_range() for a pinned page and waits for it.  In
 * Linux 6.1 the scan, when it finds an entry locked, calls
 * get_unlocked_entry() on its walking xa_state; that does not return the
 * entry the walk is on, so the locked entry is never checked.  If that
 * entry's page is pinned, the scan answers "nothing busy" and the blocks
 * are freed under DMA (WARN in dax_disassociate_entry()).
 *
 * Who locks an entry while truncate holds the invalidate lock?  Writeback:
 * dax_writeback_one() locks the entry and then write-protects every
 * mapping of it under i_mmap_rwsem.  This workload maps page 0 of a file
 * NVMAS times (so that both the truncate's unmap_mapping_pages() and
 * writeback's write-protect walk take long), dirties and pins the page
 * through the first mapping with vmsplice(), and starts fsync() a little
 * after the truncate, sweeping the delay.  When fsync locks the entry
 * while truncate is unmapping, writeback waits for i_mmap_rwsem with the
 * entry locked, and truncate's scan, which runs as soon as the unmap is
 * done, finds it locked.
 * The pin is released after HOLD ms by another thread.  Checks:
 *   - every truncate returned only after the pin was released (NOT OK
 *     as soon as one did not: the scan skipped the pinned page);
 *   - the pinned page held the file's data whenever it was released.
 * The run is bounded by -s seconds (default 20).
 *
 * usage: locked_entry_pin [DIR] [-s seconds] [-h hold_ms] [-n mappings]
 */
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

struct race {
	int fd;
	atomic_int go, done;
	long delay_us;
	int fsync_ret;
};

static void *fsyncer(void *arg)
{
	struct race *r = arg;
	double start;

	while (!atomic_load(&r->go))
		;
	start = ktap_now();
	while ((ktap_now() - start) * 1e6 < r->delay_us)
		;
	r->fsync_ret = fsync(r->fd);
	atomic_store(&r->done, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned int hold_ms = 20, seconds = 60, nvmas = 2048;
	long attempts = 0, skipped = 0, bad_data = 0;
	char path[4096];
	double deadline, t1;
	char **maps;
	int fd;

	struct workload_opts o = { .hold_ms = hold_ms, .seconds = seconds, .count = (int)nvmas };

	dir = workload_parse(argc, argv, &o);
	hold_ms = o.hold_ms;
	seconds = (unsigned int)o.seconds;
	nvmas = (unsigned int)o.count;

	dax_watchdog(seconds + 60);
	ktap_plan(3);
	fd = dax_file_create(dir, "locked_entry_pin", path, sizeof(path));
	ktap_require(ftruncate(fd, PAGE) == 0, "ftruncate");
	maps = calloc(nvmas, sizeof(*maps));
	ktap_require(maps, "calloc");
	for (unsigned int i = 0; i < nvmas; i++) {
		maps[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ktap_require(maps[i] != MAP_FAILED, "mmap %u", i);
	}

	deadline = ktap_now() + seconds;
	while (ktap_now() < deadline && !skipped) {
		struct race r = { .fd = fd };
		struct dax_pin pin;
		pthread_t t;

		/*
		 * Page 0 allocated, dirty and mapped in the first mapping; the
		 * others only make the unmap and the write-protect walks long.
		 */
		ktap_require(ftruncate(fd, PAGE) == 0, "ftruncate up");
		memset(maps[0], 'L', PAGE);

		dax_pin_take(&pin, maps[0], PAGE);
		r.delay_us = (attempts * 37) % 4000;
		ktap_require(pthread_create(&t, NULL, fsyncer, &r) == 0, "pthread_create");
		dax_pin_release_after(&pin, hold_ms);
		atomic_store(&r.go, 1);
		ktap_require(ftruncate(fd, 0) == 0, "ftruncate down");
		t1 = ktap_now();
		pthread_join(t, NULL);
		dax_pin_join(&pin);
		if (!dax_pin_waited(&pin, t1)) {
			skipped++;
			ktap_diag("attempt %ld (fsync %ld us after truncate): truncate returned %.1f ms before the pin was released",
				  attempts, r.delay_us, (pin.t_release - t1) * 1000);
		}
		if (pin.data[0] != 'L')
			bad_data++;
		dax_pin_free(&pin);
		attempts++;
	}
	ktap_result(skipped == 0,
		    "truncate waited for the pinned page in all %ld attempts with a concurrent fsync (%ld did not)",
		    attempts, skipped);
	ktap_result(bad_data == 0,
		    "the pinned page held the file's data whenever it was released (%ld times not)",
		    bad_data);
	for (unsigned int i = 0; i < nvmas; i++)
		munmap(maps[i], PAGE);
	close(fd);
	unlink(path);
	return ktap_finish();
}
