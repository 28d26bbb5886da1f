// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L: truncate of a DAX file whose page is still pinned after
 * the file was unmapped.
 *
 * A get_user_pages() pin outlives the mapping it was taken through:
 * munmap() does not wait for DMA.  dax_layout_busy_page_range() in Linux
 * 6.1 returns "nothing busy" as soon as the file has no mapping left
 * (!mapping_mapped()), so ext4 and XFS free the blocks while the page is
 * still pinned (WARN in dax_disassociate_entry()), and the DMA target now
 * belongs to whoever allocates the block next.
 *
 * The pin: vmsplice() of the mapped page into a pipe, then munmap(), then
 * the truncate; the pin is released after HOLD ms by another thread.
 * Checks, for truncate and for hole punch (where supported):
 *   - the operation returns only after the pin was released;
 *   - the pinned page still held the file's data when released.
 *
 * usage: unmapped_pin_truncate [DIR] [-s seconds] [-h hold_ms]
 */
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

static void one_op(int fd, int punch, unsigned int hold_ms)
{
	const char *what = punch ? "hole punch" : "truncate";
	unsigned char buf[2 * PAGE];
	struct dax_pin pin;
	double t0, t1;
	char *map;
	int ret;

	memset(buf, 'U', sizeof(buf));
	ktap_require(ftruncate(fd, 0) == 0, "ftruncate");
	ktap_require(pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf), "pwrite");
	map = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ktap_require(map != MAP_FAILED, "mmap");
	map[0] = 'U';			/* write fault on page 0 */
	dax_pin_take(&pin, map, PAGE);
	ktap_require(munmap(map, sizeof(buf)) == 0, "munmap");

	dax_pin_release_after(&pin, hold_ms);
	t0 = ktap_now();
	if (punch)
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				0, PAGE);
	else
		ret = ftruncate(fd, 0);
	t1 = ktap_now();
	if (ret && punch && errno == EOPNOTSUPP) {
		dax_pin_join(&pin);
		dax_pin_free(&pin);
		ktap_skip("hole punch not supported here");
		ktap_skip("hole punch not supported here");
		return;
	}
	ktap_require(ret == 0, "%s", what);
	ktap_result(dax_pin_waited(&pin, t1),
		    "%s after munmap waited for the still pinned page (returned after %.0f ms, pin held %u ms)",
		    what, (t1 - t0) * 1000, hold_ms);
	dax_pin_join(&pin);
	ktap_result(pin.data[0] == 'U' && pin.data[PAGE - 1] == 'U',
		    "the pinned page still held the file's data when released ('%c')",
		    pin.data[0]);
	dax_pin_free(&pin);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned int hold_ms = 300;
	char path[4096];
	int fd;

	struct workload_opts o = { .hold_ms = hold_ms };

	dir = workload_parse(argc, argv, &o);
	hold_ms = o.hold_ms;

	dax_watchdog(60);
	ktap_plan(5);
	fd = dax_file_create(dir, "unmapped_pin_truncate", path, sizeof(path));
	one_op(fd, 0, hold_ms);
	one_op(fd, 1, hold_ms);
	close(fd);
	unlink(path);
	return ktap_finish();
}
