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
	unsigned char buf[PAGES * PAGE];
	struct dax_pin pin;
	double t0, t1;
	char *map;
	int ret;

	memset(buf, 'P', sizeof(buf));
	ktap_require(ftruncate(fd, 0) == 0, "ftruncate");
	ktap_require(pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf), "pwrite");
	map = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ktap_require(map != MAP_FAILED, "mmap");
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
		dax_pin_join(&pin);
		dax_pin_free(&pin);
		ktap_skip("%s not supported on this filesystem (EOPNOTSUPP)", what);
		ktap_skip("%s not supported on this filesystem (EOPNOTSUPP)", what);
		munmap(map, sizeof(buf));
		return;
	}
	ktap_require(ret == 0, "%s", what);
	ktap_result(dax_pin_waited(&pin, t1),
		    "%s waited for the pinned page (returned after %.0f ms, pin held %u ms)",
		    what, (t1 - t0) * 1000, hold_ms);
	dax_pin_join(&pin);
	ktap_result(pin.data[0] == 'P' && pin.data[PAGE - 1] == 'P',
		    "the pinned page still held the file's data when released ('%c')",
		    pin.data[0]);
	dax_pin_free(&pin);
	munmap(map, sizeof(buf));
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
	ktap_plan(1 + 2 * NOPS);
	fd = dax_file_create(dir, "punch_pinned", path, sizeof(path));
	for (unsigned int op = 0; op < NOPS; op++)
		one_op(fd, op, hold_ms);
	close(fd);
	unlink(path);
	return ktap_finish();
}
