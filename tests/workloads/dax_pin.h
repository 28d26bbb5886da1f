/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Holding DAX pages busy on purpose, for the layout-break (L class) race
 * workloads.  vmsplice() of a range of a DAX mapping into a pipe takes a
 * page reference on every page, exactly as get_user_pages() for DMA does,
 * and the references live until the pipe is read.  A releaser thread reads
 * the pipe after a delay and records when: an operation that removes the
 * blocks behind the pages must not return before that moment.  What the
 * reader gets out of the pipe is what a DMA engine would have read from
 * the pinned pages at that time.
 */
#ifndef DAXTRACE_DAX_PIN_H
#define DAXTRACE_DAX_PIN_H

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dax_file.h"
#include "ktap.h"

struct dax_pin {
	int pfd[2];
	size_t len;
	unsigned int hold_ms;
	pthread_t releaser;
	/* CLOCK_MONOTONIC seconds: pinned, release started, release done */
	double t_pinned, t_release, t_released;
	atomic_int release_started, released;
	unsigned char *data;		/* what the pipe returned */
};

/* Take page references on [addr, addr + len) by splicing it into a pipe. */
static inline void dax_pin_take(struct dax_pin *p, void *addr, size_t len)
{
	struct iovec iov = { .iov_base = addr, .iov_len = len };
	ssize_t n;

	memset(p, 0, sizeof(*p));
	ktap_require(pipe(p->pfd) == 0, "pipe");
	if (len > 65536)
		fcntl(p->pfd[1], F_SETPIPE_SZ, (int)len);
	n = vmsplice(p->pfd[1], &iov, 1, 0);
	ktap_require(n == (ssize_t)len, "vmsplice of %zu bytes returned %zd", len, n);
	p->len = len;
	p->data = calloc(1, len);
	ktap_require(p->data, "calloc");
	p->t_pinned = ktap_now();
}

/* Drop the references now: read the pipe empty. */
static inline void dax_pin_drop(struct dax_pin *p)
{
	size_t got = 0;

	/*
	 * An operation that waited for the pin can return while read() below
	 * is still running, so "returned before the release started" (see
	 * dax_pin_waited()) is the test for an operation that did not wait.
	 */
	p->t_release = ktap_now();
	atomic_store(&p->release_started, 1);
	while (got < p->len) {
		ssize_t n = read(p->pfd[0], p->data + got, p->len - got);

		if (n <= 0)
			break;
		got += n;
	}
	p->t_released = ktap_now();
	atomic_store(&p->released, 1);
	close(p->pfd[0]);
	close(p->pfd[1]);
}

/* Did an operation that returned at @t_end wait for the release? */
static inline bool dax_pin_waited(struct dax_pin *p, double t_end)
{
	return atomic_load(&p->release_started) && t_end >= p->t_release;
}

static inline void *dax_pin_releaser(void *arg)
{
	struct dax_pin *p = arg;
	struct timespec ts = { .tv_sec = p->hold_ms / 1000,
			       .tv_nsec = (p->hold_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	dax_pin_drop(p);
	return NULL;
}

/* Drop the references from another thread after @hold_ms milliseconds. */
static inline void dax_pin_release_after(struct dax_pin *p, unsigned int hold_ms)
{
	p->hold_ms = hold_ms;
	ktap_require(pthread_create(&p->releaser, NULL, dax_pin_releaser, p) == 0,
		     "pthread_create");
}

static inline void dax_pin_join(struct dax_pin *p)
{
	pthread_join(p->releaser, NULL);
}

static inline void dax_pin_free(struct dax_pin *p)
{
	free(p->data);
	p->data = NULL;
}

/*
 * The two checks of an operation that takes blocks away from a file while
 * its page is pinned.  First: it returned (at @t1, having started at @t0)
 * only after the release started.  @fmt says what waited for what; the
 * timings are appended, the same on every workload.
 */
static inline __attribute__((format(printf, 4, 5)))
bool dax_pin_check_waited(struct dax_pin *p, double t0, double t1, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ktap_result(dax_pin_waited(p, t1), "%s (returned after %.0f ms, pin held %u ms)",
			   what, (t1 - t0) * 1000, p->hold_ms);
}

/* Second, after dax_pin_join(): what the pin read at its release (what DMA
 * would have read) was still the file's data, @c on the whole page. */
static inline bool dax_pin_check_data(struct dax_pin *p, unsigned char c)
{
	return ktap_result(p->data[0] == c && p->data[p->len - 1] == c,
			   "the pinned page still held the file's data when released ('%c')",
			   p->data[0]);
}

/* Wait for the release, check what the pin read, and free it. */
static inline void dax_pin_finish(struct dax_pin *p, unsigned char c)
{
	dax_pin_join(p);
	dax_pin_check_data(p, c);
	dax_pin_free(p);
}

/* The operation is not supported here: let the pin go and skip both
 * checks, saying why. */
static inline __attribute__((format(printf, 2, 3)))
void dax_pin_skip_checks(struct dax_pin *p, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	dax_pin_join(p);
	dax_pin_free(p);
	ktap_skip("%s", why);
	ktap_skip("%s", why);
}

static inline void dax_watchdog_fire(int sig)
{
	static const char msg[] = "Bail out! watchdog: workload did not finish in time\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

/* Bound the run: a kernel that livelocks a fault must not hang the lab. */
static inline void dax_watchdog(unsigned int seconds)
{
	signal(SIGALRM, dax_watchdog_fire);
	alarm(seconds);
}

/* The start of a pinned-page workload: its options (the caller sets the
 * defaults in @o), the watchdog, and the KTAP plan.  Returns the directory. */
static inline const char *dax_pin_workload_start(int argc, char **argv, struct workload_opts *o,
						 unsigned int watchdog_s, int checks)
{
	const char *dir = workload_parse(argc, argv, o);

	dax_watchdog(watchdog_s);
	ktap_plan(checks);
	return dir;
}

#endif /* DAXTRACE_DAX_PIN_H */
