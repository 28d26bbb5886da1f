/* SPDX-License-Identifier: GPL-2.0 */
/* Opening the workloads' files on the DAX filesystem. */
#ifndef DAXTRACE_DAX_FILE_H
#define DAXTRACE_DAX_FILE_H

#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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

/* The filesystem type (statfs f_type: EXT4_SUPER_MAGIC, ...) of @dir, for
 * the workloads of one filesystem's ioctls. */
static inline long dax_fs_type(const char *dir)
{
	struct statfs sfs;

	ktap_require(statfs(dir, &sfs) == 0, "statfs %s", dir);
	return (long)sfs.f_type;
}

/* A shared read-write mapping of @len bytes of @fd from offset 0: how the
 * workloads reach the file's pages (every store a DAX fault). */
static inline void *dax_file_map(int fd, size_t len)
{
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ktap_require(map != MAP_FAILED, "mmap");
	return map;
}

/* Empty the file (its old blocks freed), write @len bytes of @c into it
 * and map them. */
static inline char *dax_file_refill_map(int fd, int c, size_t len)
{
	unsigned char *buf = malloc(len);

	ktap_require(buf, "malloc");
	memset(buf, c, len);
	ktap_require(ftruncate(fd, 0) == 0, "ftruncate");
	ktap_require(pwrite(fd, buf, len, 0) == (ssize_t)len, "pwrite");
	free(buf);
	return dax_file_map(fd, len);
}

/* The two threads of a timed race on @arg: @timed runs until the
 * workload's deadline and then tells @racer to stop (so it is joined
 * first). */
static inline void workload_race(void *(*racer)(void *), void *(*timed)(void *), void *arg)
{
	pthread_t r, t;

	ktap_require(pthread_create(&r, NULL, racer, arg) == 0, "pthread_create");
	ktap_require(pthread_create(&t, NULL, timed, arg) == 0, "pthread_create");
	pthread_join(t, NULL);
	pthread_join(r, NULL);
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
