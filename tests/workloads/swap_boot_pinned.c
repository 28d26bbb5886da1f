// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L: ext4 EXT4_IOC_SWAP_BOOT on a DAX file whose page is pinned.
 *
 * SWAP_BOOT gives all blocks of a file to the boot loader inode (inode 5)
 * and the boot loader's blocks to the file.  Like truncate, it takes blocks
 * away from the file, so for DAX it must first unmap the file and wait
 * until no page of it is pinned for DMA (ext4_break_layouts()).  Linux 6.1
 * does neither: it calls truncate_inode_pages() only, which for DAX
 * deletes the mapping entries of pinned pages (WARN in
 * dax_disassociate_entry()) and leaves the user's page table entries
 * pointing at blocks that now belong to the boot loader.
 *
 * The pin: vmsplice() of the file's page into a pipe, released after
 * HOLD ms by another thread.  Checks:
 *   - SWAP_BOOT returns only after the pin was released;
 *   - after SWAP_BOOT the file's existing mapping shows what read(2) shows,
 *     not the block that now belongs to the boot loader (stale PTE);
 *   - the pinned page's content (what DMA would read) was still the file's
 *     data when the pin was released.
 * Skipped on other filesystems.
 *
 * usage: swap_boot_pinned [DIR] [-s seconds] [-h hold_ms]
 */
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

#ifndef EXT4_IOC_SWAP_BOOT
#define EXT4_IOC_SWAP_BOOT _IO('f', 17)
#endif

static void fill_file(int fd, int c)
{
	unsigned char buf[PAGE];

	memset(buf, c, sizeof(buf));
	ktap_require(pwrite(fd, buf, PAGE, 0) == PAGE, "pwrite");
	ktap_require(fsync(fd) == 0, "fsync");
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .hold_ms = 500 };
	const char *dir = dax_pin_workload_start(argc, argv, &o, 60, 4);
	long fs_type = dax_fs_type(dir);
	char path[4096], prep[4096];
	unsigned char buf[PAGE];
	struct dax_pin pin;
	double t0, t1;
	char *map;
	int fd, pfd, ret;

	fd = dax_file_create(dir, "swap_boot_pinned", path, sizeof(path));
	if (fs_type != EXT4_SUPER_MAGIC) {
		ktap_skip("EXT4_IOC_SWAP_BOOT is ext4 only");
		ktap_skip("EXT4_IOC_SWAP_BOOT is ext4 only");
		ktap_skip("EXT4_IOC_SWAP_BOOT is ext4 only");
		unlink(path);
		return ktap_finish();
	}

	/*
	 * Give the boot loader inode one page of 'B' first, so that after the
	 * swap under test the file still has a page 0 (its new block, 'B').
	 */
	snprintf(prep, sizeof(prep), "%s/swap_boot_prep.%d", dir, getpid());
	pfd = open(prep, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ktap_require(pfd >= 0, "open %s", prep);
	fill_file(pfd, 'B');
	ret = ioctl(pfd, EXT4_IOC_SWAP_BOOT);
	ktap_require(ret == 0, "EXT4_IOC_SWAP_BOOT on the preparation file");
	close(pfd);
	unlink(prep);

	fill_file(fd, 'F');
	map = dax_file_map(fd, PAGE);
	map[0] = 'F';			/* write fault: map the page */

	dax_pin_take(&pin, map, PAGE);
	dax_pin_release_after(&pin, o.hold_ms);
	t0 = ktap_now();
	ret = ioctl(fd, EXT4_IOC_SWAP_BOOT);
	t1 = ktap_now();
	ktap_require(ret == 0, "EXT4_IOC_SWAP_BOOT");
	dax_pin_check_waited(&pin, t0, t1, "SWAP_BOOT waited for the pinned page");

	/*
	 * The file's page 0 is now the boot loader's old block ('B').  Read
	 * it through the mapping taken before the swap: a page table entry
	 * left behind still points at the block the boot loader owns now.
	 * (Only read: SWAP_BOOT's writeback write-protected that entry, and a
	 * write fault on it livelocks in insert_pfn() on 6.1.)
	 */
	ktap_require(pread(fd, buf, PAGE, 0) == PAGE, "pread");
	ktap_result(map[0] == buf[0],
		    "the mapping shows the file's data after SWAP_BOOT (mapping '%c', read(2) '%c')",
		    map[0], buf[0]);

	dax_pin_finish(&pin, 'F');

	munmap(map, PAGE);
	close(fd);
	unlink(path);
	return ktap_finish();
}
