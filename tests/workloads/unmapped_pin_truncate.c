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
	char *map = dax_file_refill_map(fd, 'U', 2 * PAGE);
	struct dax_pin pin;
	double t0, t1;
	int ret;

	map[0] = 'U';			/* write fault on page 0 */
	dax_pin_take(&pin, map, PAGE);
	ktap_require(munmap(map, 2 * PAGE) == 0, "munmap");

	dax_pin_release_after(&pin, hold_ms);
	t0 = ktap_now();
	if (punch)
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				0, PAGE);
	else
		ret = ftruncate(fd, 0);
	t1 = ktap_now();
	if (ret && punch && errno == EOPNOTSUPP) {
		dax_pin_skip_checks(&pin, "hole punch not supported here");
		return;
	}
	ktap_require(ret == 0, "%s", what);
	dax_pin_check_waited(&pin, t0, t1, "%s after munmap waited for the still pinned page", what);
	dax_pin_finish(&pin, 'U');
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .hold_ms = 300 };
	const char *dir = dax_pin_workload_start(argc, argv, &o, 60, 5);
	char path[4096];
	int fd = dax_file_create(dir, "unmapped_pin_truncate", path, sizeof(path));

	one_op(fd, 0, o.hold_ms);
	one_op(fd, 1, o.hold_ms);
	close(fd);
	unlink(path);
	return ktap_finish();
}
