// SPDX-License-Identifier: GPL-2.0
/*
 * Race class L, 6.10+ only: XFS_IOC_EXCHANGE_RANGE between a DAX file and
 * a non-DAX file while a page of the DAX file is pinned.
 *
 * xfs_ilock2_io_mmap() breaks DAX layouts only when both files are DAX;
 * for a mixed pair it just takes both invalidate locks, so the exchange
 * hands the DAX file's block, pinned page and all, to the non-DAX file.
 * Needs an XFS mounted dax=inode with the exchange-range feature, and DIR
 * (the DAX side) with FS_XFLAG_DAX set so that files made in it are DAX;
 * the non-DAX file goes into DIR/.. (tests/lab/exchange_range_guest.sh
 * sets this up).
 *
 * The pin is vmsplice() of the DAX page into a pipe, drained after HOLD ms
 * by another thread.  After the exchange the non-DAX file, which now owns
 * the pinned block, is overwritten with 'X' and synced.  Checks:
 *   - the DAX file is DAX and the other one is not (STATX_ATTR_DAX);
 *   - the exchange returns only after the pin was released;
 *   - the pinned page, when released (what DMA would read), still holds
 *     the DAX file's own data, not the 'X' the other file wrote into the
 *     block it received.
 *
 * usage: exchange_range_mixed_pinned DIR [-h hold_ms]
 */
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "dax_file.h"
#include "dax_pin.h"

/* From the XFS ioctl ABI (fs/xfs/libxfs/xfs_fs.h, v6.10). */
struct wl_xfs_exchange_range {
	__s32 file1_fd;
	__u32 pad;
	__u64 file1_offset;
	__u64 file2_offset;
	__u64 length;
	__u64 flags;
};

#define WL_XFS_IOC_EXCHANGE_RANGE _IOW('X', 129, struct wl_xfs_exchange_range)

static bool is_dax(int fd)
{
	struct statx stx;

	ktap_require(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0, "statx");
	return stx.stx_attributes & STATX_ATTR_DAX;
}

static int make_file(const char *path, char fill)
{
	char buf[PAGE];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ktap_require(fd >= 0, "open %s", path);
	memset(buf, fill, sizeof(buf));
	ktap_require(pwrite(fd, buf, PAGE, 0) == PAGE, "pwrite %s", path);
	ktap_require(fsync(fd) == 0, "fsync %s", path);
	return fd;
}

int main(int argc, char **argv)
{
	struct workload_opts o = { .hold_ms = 500 };
	const char *dir = workload_parse(argc, argv, &o);
	struct wl_xfs_exchange_range xr = { 0 };
	char dax_path[512], plain_path[512], buf[PAGE];
	struct dax_pin pin;
	double t0, t_end;
	int dfd, pfd, ret, err, own = 0, other = 0;
	unsigned char *map;
	size_t i;

	dax_watchdog(120);
	ktap_plan(5);
	snprintf(dax_path, sizeof(dax_path), "%s/xr-dax.%d", dir, getpid());
	snprintf(plain_path, sizeof(plain_path), "%s/../xr-plain.%d", dir, getpid());
	dfd = make_file(dax_path, 'D');
	pfd = make_file(plain_path, 'P');
	ktap_result(is_dax(dfd), "%s is a DAX file", dax_path);
	ktap_result(!is_dax(pfd), "%s is not a DAX file", plain_path);

	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ktap_require(map != MAP_FAILED, "mmap");
	ktap_require(map[0] == 'D', "DAX mapping reads the file");
	dax_pin_take(&pin, map, PAGE);
	dax_pin_release_after(&pin, o.hold_ms);

	xr.file1_fd = dfd;
	xr.length = PAGE;
	t0 = ktap_now();
	ret = ioctl(pfd, WL_XFS_IOC_EXCHANGE_RANGE, &xr);
	err = errno;
	t_end = ktap_now();
	if (ret) {
		dax_pin_join(&pin);
		errno = err;
		ktap_require(0, "XFS_IOC_EXCHANGE_RANGE (exchange-range feature on?)");
	}
	/* The plain file now owns the DAX file's old block: overwrite it. */
	memset(buf, 'X', sizeof(buf));
	ktap_require(pwrite(pfd, buf, PAGE, 0) == PAGE, "pwrite after exchange");
	ktap_require(fsync(pfd) == 0, "fsync after exchange");
	dax_pin_join(&pin);

	ktap_result(dax_pin_waited(&pin, t_end),
		    "exchange waited for the pin (returned after %.0f ms, pin held %u ms)",
		    (t_end - t0) * 1e3, o.hold_ms);
	for (i = 0; i < PAGE; i++) {
		own += pin.data[i] == 'D';
		other += pin.data[i] == 'X';
	}
	ktap_result(own == PAGE, "pinned page still holds the DAX file's data at release (%d 'D', %d 'X')",
		    own, other);
	ktap_result(other == 0, "no data the other file wrote after the exchange reached the pin");
	dax_pin_free(&pin);
	munmap(map, PAGE);
	close(dfd);
	close(pfd);
	unlink(dax_path);
	unlink(plain_path);
	return ktap_finish();
}
