// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L: XFS_IOC_SWAPEXT between two DAX files, one of them pinned.
 *
 * SWAPEXT (xfs_fsr's defragmentation ioctl) exchanges all extents of a
 * target file and a temporary file: each file loses its blocks to the
 * other.  For DAX both files must first be unmapped and have no pinned
 * page (xfs_break_dax_layouts()), as for truncate and hole punch.  Linux
 * 6.1 does not break layouts there: truncate_pagecache_range() deletes the
 * mapping entry of a pinned page (WARN in dax_disassociate_entry()) and the
 * swap hands its block to the other file while DMA can still reach it.
 *
 * Round 1 pins the target's page, round 2 the temporary file's page (the
 * break must cover both inodes).  The pin is vmsplice() into a pipe,
 * released after HOLD ms by another thread.  Checks per round:
 *   - SWAPEXT returns only after the pin was released;
 *   - what the pinned page shows when released (what DMA would read) is
 *     the pinned file's own data, not data the other file wrote after the
 *     swap into the block it received.
 * Skipped on other filesystems.
 *
 * usage: swapext_pinned [DIR] [-s seconds] [-h hold_ms]
 */
#include <linux/magic.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

/* From the XFS ioctl ABI (fs/xfs/libxfs/xfs_fs.h); xfslibs-dev not needed. */
struct wl_xfs_bstime {
	long tv_sec;
	__s32 tv_nsec;
};

struct wl_xfs_bstat {
	__u64 bs_ino;
	__u16 bs_mode, bs_nlink;
	__u32 bs_uid, bs_gid, bs_rdev;
	__s32 bs_blksize;
	__s64 bs_size;
	struct wl_xfs_bstime bs_atime, bs_mtime, bs_ctime;
	__s64 bs_blocks;
	__u32 bs_xflags;
	__s32 bs_extsize, bs_extents;
	__u32 bs_gen;
	__u16 bs_projid_lo, bs_forkoff, bs_projid_hi, bs_sick, bs_checked;
	unsigned char bs_pad[2];
	__u32 bs_cowextsize, bs_dmevmask;
	__u16 bs_dmstate, bs_aextents;
};

struct wl_xfs_swapext {
	__s64 sx_version;
	__s64 sx_fdtarget;
	__s64 sx_fdtmp;
	__s64 sx_offset;
	__s64 sx_length;
	char sx_pad[16];
	struct wl_xfs_bstat sx_stat;
};

#define WL_XFS_IOC_SWAPEXT _IOWR('X', 109, struct wl_xfs_swapext)

static int make_file(const char *dir, const char *name, int c, char *path, size_t len)
{
	unsigned char buf[PAGE];
	int fd;

	snprintf(path, len, "%s/%s.%d", dir, name, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ktap_require(fd >= 0, "open %s", path);
	memset(buf, c, sizeof(buf));
	ktap_require(pwrite(fd, buf, PAGE, 0) == PAGE, "pwrite");
	ktap_require(fsync(fd) == 0, "fsync");
	return fd;
}

static int swapext(int target, int tmp)
{
	struct wl_xfs_swapext sx;
	struct stat st;

	ktap_require(fstat(target, &st) == 0, "fstat");
	memset(&sx, 0, sizeof(sx));
	sx.sx_version = 0;
	sx.sx_fdtarget = target;
	sx.sx_fdtmp = tmp;
	sx.sx_offset = 0;
	sx.sx_length = st.st_size;
	sx.sx_stat.bs_ino = st.st_ino;
	sx.sx_stat.bs_mtime.tv_sec = st.st_mtim.tv_sec;
	sx.sx_stat.bs_mtime.tv_nsec = st.st_mtim.tv_nsec;
	sx.sx_stat.bs_ctime.tv_sec = st.st_ctim.tv_sec;
	sx.sx_stat.bs_ctime.tv_nsec = st.st_ctim.tv_nsec;
	return ioctl(tmp, WL_XFS_IOC_SWAPEXT, &sx);
}

static void round_pinned(const char *dir, unsigned int hold_ms, int pin_target)
{
	char tpath[4096], mpath[4096];
	unsigned char buf[PAGE];
	const char *who = pin_target ? "target" : "temporary file";
	int pinned_c = pin_target ? 'T' : 'M';
	int target, tmp, ret;
	struct dax_pin pin;
	double t0, t1;
	char *map;

	target = make_file(dir, "swapext_target", 'T', tpath, sizeof(tpath));
	tmp = make_file(dir, "swapext_tmp", 'M', mpath, sizeof(mpath));

	map = dax_file_map(pin_target ? target : tmp, PAGE);
	map[0] = pinned_c;		/* write fault: map the page */

	dax_pin_take(&pin, map, PAGE);
	dax_pin_release_after(&pin, hold_ms);
	t0 = ktap_now();
	ret = swapext(target, tmp);
	t1 = ktap_now();
	ktap_require(ret == 0, "XFS_IOC_SWAPEXT");
	dax_pin_check_waited(&pin, t0, t1, "SWAPEXT waited for the pinned page of the %s", who);

	/*
	 * The other file now owns the pinned file's old block: overwrite it
	 * through the other file.  If the pin is still held, it sees this.
	 */
	memset(buf, 'X', sizeof(buf));
	ktap_require(pwrite(pin_target ? tmp : target, buf, PAGE, 0) == PAGE,
		     "pwrite after swap");
	dax_pin_join(&pin);
	ktap_result(pin.data[0] == pinned_c,
		    "the pinned page of the %s showed its own data ('%c') when released, not the other file's ('%c')",
		    who, pinned_c, pin.data[0]);
	dax_pin_free(&pin);

	munmap(map, PAGE);
	close(target);
	close(tmp);
	unlink(tpath);
	unlink(mpath);
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .hold_ms = 500 };
	const char *dir = dax_pin_workload_start(argc, argv, &o, 60, 5);
	long fs_type = dax_fs_type(dir);
	char path[4096];
	int fd = dax_file_create(dir, "swapext_pinned", path, sizeof(path));

	close(fd);
	unlink(path);
	if (fs_type != XFS_SUPER_MAGIC) {
		for (int i = 0; i < 4; i++)
			ktap_skip("XFS_IOC_SWAPEXT is xfs only");
		return ktap_finish();
	}
	round_pinned(dir, o.hold_ms, 1);
	round_pinned(dir, o.hold_ms, 0);
	return ktap_finish();
}
