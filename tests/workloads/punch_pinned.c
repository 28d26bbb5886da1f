// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L, the paths that are already serialised: hole punch,
 * truncate, zero range and collapse/insert range of a DAX file whose page
 * is pinned.
 *
 * ext4 (ext4_break_layouts(), since 4.19) and XFS (xfs_break_layouts(),
 * since 4.17) unmap the file and wait until no page is pinned before they
 * free blocks.  This is the control for the other L-class workloads: the
 * pin (vmsplice() into a pipe, released after HOLD ms by another thread)
 * must hold the operation off on every kernel.  ext2 has no fallocate
 * modes; its truncate is checked too (it breaks layouts only with the
 * daxtrace series applied).  An operation the filesystem does not support
 * (EOPNOTSUPP) is reported as skipped.  Checks per operation:
 *   - the operation returns only after the pin was released;
 *   - the pinned page still held the file's data when released.
 *
 * usage: punch_pinned [DIR] [-s seconds] [-h hold_ms]
 */
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

#define PAGES 4

/* Every way of taking blocks away from (or shifting them in) a file. */
static const struct {
	const char *what;
	int mode;			/* fallocate mode; 0 = ftruncate */
} ops[] = {
	{ "hole punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE },
	{ "truncate", 0 },
	{ "zero range", FALLOC_FL_ZERO_RANGE },
	{ "collapse range", FALLOC_FL_COLLAPSE_RANGE },
	{ "insert range", FALLOC_FL_INSERT_RANGE },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static void one_op(int fd, int op, unsigned int hold_ms)
{
	const char *what = ops[op].what;
	char *map = dax_file_refill_map(fd, 'P', PAGES * PAGE);
	struct dax_pin pin;
	double t0, t1;
	int ret;

	map[PAGE] = 'P';		/* write fault on page 1 */

	dax_pin_take(&pin, map + PAGE, PAGE);
	dax_pin_release_after(&pin, hold_ms);
	t0 = ktap_now();
	if (ops[op].mode)
		ret = fallocate(fd, ops[op].mode, PAGE, PAGE);
	else
		ret = ftruncate(fd, PAGE);
	t1 = ktap_now();
	if (ret && ops[op].mode && errno == EOPNOTSUPP) {
		dax_pin_skip_checks(&pin, "%s not supported on this filesystem (EOPNOTSUPP)", what);
		munmap(map, PAGES * PAGE);
		return;
	}
	ktap_require(ret == 0, "%s", what);
	dax_pin_check_waited(&pin, t0, t1, "%s waited for the pinned page", what);
	dax_pin_finish(&pin, 'P');
	munmap(map, PAGES * PAGE);
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .hold_ms = 300 };
	const char *dir = dax_pin_workload_start(argc, argv, &o, 60, 1 + 2 * NOPS);
	char path[4096];
	int fd = dax_file_create(dir, "punch_pinned", path, sizeof(path));

	for (unsigned int op = 0; op < NOPS; op++)
		one_op(fd, op, o.hold_ms);
	close(fd);
	unlink(path);
	return ktap_finish();
}
