/* SPDX-License-Identifier: GPL-2.0 */
/* Opening the workloads' files on the DAX filesystem. */
#ifndef DAXTRACE_DAX_FILE_H
#define DAXTRACE_DAX_FILE_H

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktap.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

#define PAGE 4096

/* Create DIR/NAME.PID and report, as the first check, whether the kernel
 * really serves it with DAX: a workload on a non-DAX file proves nothing. */
static inline int dax_file_create(const char *dir, const char *name, char *path, size_t len)
{
	struct statx stx;
	int fd;

	snprintf(path, len, "%s/%s.%d", dir, name, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ktap_require(fd >= 0, "open %s", path);
	ktap_require(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0, "statx %s", path);
	ktap_result(stx.stx_attributes & STATX_ATTR_DAX, "%s is a DAX file (STATX_ATTR_DAX)", path);
	return fd;
}

#endif /* DAXTRACE_DAX_FILE_H */
