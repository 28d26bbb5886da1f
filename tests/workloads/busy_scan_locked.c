// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L (L3), one truncate per round: the busy-page scan meets the
 * pinned page's entry locked and answers "idle".
 *
 * Before a truncate frees blocks of a DAX file, the filesystem asks
 * dax_layout_busy_page_range() for a pinned page and waits until it is
 * released.  A scan that skips an entry because it is locked at that
 * moment (6.1.y before the fix in patches/; the race lab kernel's
 * dax_reopen.l3=1) reports the pinned page idle, and the blocks are freed
 * under the pin.  Writeback locks the entry it flushes; the race lab
 * kernel holds it locked for a while (dax_reopen.l3=1 or 2), so that the
 * truncate meets it deterministically.
 *
 * Each round: page 0 written through a mapping (dirty), pinned with
 * vmsplice() (a get_user_pages() reference, as for DMA); thread F calls
 * fsync; as soon as F sleeps in the kernel, the main thread truncates the
 * file to 0.  Another thread releases the pin after HOLD ms.  The round is
 * damaged when the truncate returned before the release began: the busy
 * scan said idle while the page was pinned.
 *
 * usage: busy_scan_locked [DIR] [-n rounds] [-d max_wait_ms]
 * Output: KTAP, one "# round" line per round (race_round.h).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include "dax_file.h"
#include "dax_pin.h"
#include "race_round.h"

#define HOLD_MS 300

struct fsyncer {
	int fd;
	struct rr_sleeper sleeper;
	int ret;
};

static void *fsync_fn(void *arg)
{
	struct fsyncer *f = arg;

	rr_sleeper_started(&f->sleeper);
	f->ret = fsync(f->fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct rr_run run = { .name = "busy_scan_locked", .rounds = 20, .wait_ms = 500 };
	int damaged = 0, bad_data = 0;

	rr_start(&run, argc, argv, 3);
	dax_watchdog(run.rounds * 5 + 60);
	for (int r = 0; r < run.rounds; r++) {
		struct fsyncer f = { .fd = run.fd };
		struct dax_pin pin;
		pthread_t t;
		char what[200];

		ktap_require(ftruncate(run.fd, PAGE) == 0, "ftruncate up");
		unsigned char *map = dax_file_map(run.fd, PAGE);

		memset(map, 'L', PAGE);
		dax_pin_take(&pin, map, PAGE);

		uint64_t t0 = rr_now_ns();

		bool blocked = rr_start_sleeper(&t, fsync_fn, &f, &f.sleeper, run.wait_ms);

		dax_pin_release_after(&pin, HOLD_MS);
		ktap_require(ftruncate(run.fd, 0) == 0, "ftruncate down");
		double t_trunc = ktap_now();

		pthread_join(t, NULL);
		dax_pin_join(&pin);
		uint64_t t1 = rr_now_ns();

		bool bad = !dax_pin_waited(&pin, t_trunc);

		damaged += bad;
		bad_data += pin.data[0] != 'L';
		double gap = pin.t_release - t_trunc;

		snprintf(what, sizeof(what),
			 "fsync %s; truncate returned %.1f ms %s the pin's release began",
			 blocked ? "slept holding the entry" : "was not seen asleep",
			 (gap < 0 ? -gap : gap) * 1000, bad ? "before" : "after");
		rr_round(r, t0, t1, run.ino, 0, bad, what);
		dax_pin_free(&pin);
		munmap(map, PAGE);
	}
	ktap_result(!damaged, "every truncate waited for the pinned page (%d of %d rounds did not)",
		    damaged, run.rounds);
	ktap_result(!bad_data, "the pinned page held the file's data when it was released (%d times not)",
		    bad_data);
	return rr_finish(&run, damaged);
}
