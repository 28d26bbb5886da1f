/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP output (the kernel selftests' format) and helpers shared by
 * the race workloads: every workload prints a plan, one result line per
 * check saying what it checked, and exits non-zero if any check failed.
 */
#ifndef DAXTRACE_KTAP_H
#define DAXTRACE_KTAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ktap_count, ktap_failures;

static inline void ktap_plan(int n)
{
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
}

static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* One check: "ok N - what" or "not ok N - what". */
static inline bool ktap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++ktap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		ktap_failures++;
	return ok;
}

static inline void ktap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # SKIP ", ++ktap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A setup step that must work: bail out of the whole test if it does not. */
#define ktap_require(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("Bail out! ");				\
			printf(__VA_ARGS__);				\
			printf(" (%s)\n", strerror(errno));		\
			exit(2);					\
		}							\
	} while (0)

static inline int ktap_finish(void)
{
	ktap_diag("%d checks, %d failed", ktap_count, ktap_failures);
	return ktap_failures ? 1 : 0;
}

static inline double ktap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Where the workloads make their files: $LAB_MNT (the lab's DAX mount) or
 * the first argument. */
static inline const char *workload_dir(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("LAB_MNT");

	if (!dir) {
		fprintf(stderr, "usage: %s DIR (a directory on a filesystem mounted -o dax; default $LAB_MNT)\n",
			argv[0]);
		exit(2);
	}
	return dir;
}

#endif /* DAXTRACE_KTAP_H */
