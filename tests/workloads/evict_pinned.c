// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L: eviction of a DAX inode whose page is still pinned.
 *
 * A get_user_pages() pin outlives munmap() and close().  When the last
 * link goes away too, the final iput() evicts the inode: on Linux 6.1,
 * ext4, ext2 and XFS delete the mapping entries (WARN in
 * dax_disassociate_entry()) and free the blocks without waiting for the
 * pin.  The freed block can then be allocated to another file, whose data
 * the pin reads (and could overwrite).
 *
 * Steps: write page 0 of a file with 'P', map it, write-fault it, pin it
 * with vmsplice() into a pipe, munmap(), close(), then unlink() while
 * another thread releases the pin after HOLD ms.  After unlink() returns,
 * sync() (ext4 and XFS reuse freed blocks only after the journal/log
 * commit), then write a second file with 'S' to take the free blocks.
 * Checks:
 *   - unlink() of the last link returned only after the pin was released;
 *   - the pinned page still held 'P' when released (not the second
 *     file's 'S', and not anything else);
 *   - control: unlink() of an unpinned DAX file does not wait.
 *
 * usage: evict_pinned [DIR] [-h hold_ms] [-p pages of the second file]
 */
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

static int write_filler(const char *dir, int pages, char *path, size_t len)
{
	unsigned char buf[PAGE];
	int fd, i;

	snprintf(path, len, "%s/evict_pinned.filler.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ktap_require(fd >= 0, "open %s", path);
	memset(buf, 'S', sizeof(buf));
	for (i = 0; i < pages; i++)
		ktap_require(pwrite(fd, buf, sizeof(buf), (off_t)i * PAGE) == PAGE,
			     "pwrite filler page %d", i);
	ktap_require(fsync(fd) == 0, "fsync filler");
	return fd;
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .hold_ms = 1500, .pages = 1024 };
	char path[4096], filler[4096];
	unsigned char buf[PAGE];
	const char *dir;
	struct dax_pin pin;
	double t0, t1;
	char *map;
	int fd;

	dir = dax_pin_workload_start(argc, argv, &o, 120, 4);

	fd = dax_file_create(dir, "evict_pinned", path, sizeof(path));
	memset(buf, 'P', sizeof(buf));
	ktap_require(pwrite(fd, buf, sizeof(buf), 0) == PAGE, "pwrite");
	map = dax_file_map(fd, PAGE);
	map[0] = 'P';			/* write fault on page 0 */
	dax_pin_take(&pin, map, PAGE);
	ktap_require(munmap(map, PAGE) == 0, "munmap");
	ktap_require(close(fd) == 0, "close");

	dax_pin_release_after(&pin, o.hold_ms);
	t0 = ktap_now();
	ktap_require(unlink(path) == 0, "unlink %s", path);
	t1 = ktap_now();
	dax_pin_check_waited(&pin, t0, t1,
			     "unlink of a closed, unmapped file waited for its pinned page");

	sync();
	fd = write_filler(dir, o.pages, filler, sizeof(filler));
	dax_pin_join(&pin);
	if (pin.data[0] == 'S')
		ktap_diag("the pin read the data of another file, written after the unlink");
	dax_pin_check_data(&pin, 'P');
	dax_pin_free(&pin);
	close(fd);
	unlink(filler);

	/* Control: with nothing pinned, eviction must not wait. */
	snprintf(path, sizeof(path), "%s/evict_pinned.unpinned.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ktap_require(fd >= 0, "open %s", path);
	ktap_require(pwrite(fd, buf, sizeof(buf), 0) == PAGE, "pwrite");
	map = dax_file_map(fd, PAGE);
	map[0] = 'P';
	ktap_require(munmap(map, PAGE) == 0, "munmap");
	close(fd);
	t0 = ktap_now();
	ktap_require(unlink(path) == 0, "unlink %s", path);
	t1 = ktap_now();
	ktap_result((t1 - t0) * 1000 < o.hold_ms / 2,
		    "control: unlink of an unpinned file returned at once (%.0f ms)",
		    (t1 - t0) * 1000);
	return ktap_finish();
}
