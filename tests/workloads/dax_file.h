/* SPDX-License-Identifier: GPL-2.0 */
/* Opening the workloads' files on the DAX filesystem. */
#ifndef DAXTRACE_DAX_FILE_H
#define DAXTRACE_DAX_FILE_H

#include <fcntl.h>
#include <getopt.h>
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

/* Options of the workloads: [DIR] [-t threads] [-p pages] [-s seconds]
 * [-h hold_ms] [-n count]; each uses the ones it needs, and the caller sets
 * the defaults.  Returns the directory. */
struct workload_opts {
	int threads, pages, count;
	double seconds;
	unsigned int hold_ms;
};

static inline const char *workload_parse(int argc, char **argv, struct workload_opts *o)
{
	int opt;

	while ((opt = getopt(argc, argv, "t:p:s:h:n:")) != -1) {
		switch (opt) {
		case 't': o->threads = atoi(optarg); break;
		case 'p': o->pages = atoi(optarg); break;
		case 's': o->seconds = atof(optarg); break;
		case 'h': o->hold_ms = (unsigned int)atoi(optarg); break;
		case 'n': o->count = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [DIR] [-t threads] [-p pages] [-s seconds] [-h hold_ms] [-n count]\n",
				argv[0]);
			exit(2);
		}
	}
	return workload_dir(argc - optind + 1, argv + optind - 1);
}

#endif /* DAXTRACE_DAX_FILE_H */
