/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A private tracefs instance for the workloads that count kernel events
 * themselves (fsync_locked_skip, mkwrite_wb_lost): the tracefs root, and
 * the instance made without comm recording.  With record-cmd on, enabling
 * and disabling an event also (un)registers probes on the scheduler
 * tracepoints, and the static-call patching of __schedule() that this
 * takes has stalled the lab's TCG guests on stock 6.1 (text_poke_bp
 * waiting minutes for an IPI: a soft lockup that timed the test out).
 * An instance copies the top level's flags when it is made, so the top
 * level's record-cmd is off for that moment only.
 */
#ifndef DT_TRACEFS_INSTANCE_H
#define DT_TRACEFS_INSTANCE_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktap.h"

/* "/sys/kernel/tracing" or the debugfs path, NULL without tracefs. */
static inline const char *tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char p[256];

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/instances", roots[i]);
		if (access(p, F_OK) == 0)
			return roots[i];
	}
	return NULL;
}

/* Write @s to the tracefs file @path: 0, or -1 if it was not taken whole. */
static inline int tracefs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static inline void tracefs_set_flag(const char *path, char value)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, &value, 1) != 1)
		perror(path);
	close(fd);
}

/* mkdir(2) of the instance directory, without comm recording.  Catchable
 * signals wait until the top level's flag is back (a timeout's SIGTERM
 * must not leave it off); SIGKILL still can. */
static inline int tracefs_make_instance(const char *root, const char *instance)
{
	char opt[300], was = '0';
	sigset_t all, old;
	int fd, made;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);

	snprintf(opt, sizeof(opt), "%s/options/record-cmd", root);
	fd = open(opt, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, &was, 1) != 1)
			was = '0';
		close(fd);
	}
	if (was == '1')
		tracefs_set_flag(opt, '0');
	made = mkdir(instance, 0700);
	if (was == '1')
		tracefs_set_flag(opt, '1');
	sigprocmask(SIG_SETMASK, &old, NULL);
	return made;
}

/* Make the workload's instance ROOT/instances/NAME.PID into @instance
 * (Bail out without tracefs); the workload removes it at exit with
 * tracefs_instance_remove(). */
static inline void tracefs_instance_create(const char *name, char *instance, size_t len)
{
	const char *root = tracefs_root();

	ktap_require(root, "tracefs (mount -t tracefs tracefs /sys/kernel/tracing)");
	snprintf(instance, len, "%s/instances/%s.%d", root, name, getpid());
	ktap_require(tracefs_make_instance(root, instance) == 0, "mkdir %s", instance);
}

/* Disable what the workload enabled (@enable: the enable file, relative
 * to the instance) and remove the instance; @instance is "" afterwards,
 * so that a second call (at exit after an explicit one) does nothing. */
static inline void tracefs_instance_remove(char *instance, const char *enable)
{
	char p[700];

	if (!instance[0])
		return;
	snprintf(p, sizeof(p), "%s/%s", instance, enable);
	tracefs_write(p, "0");
	rmdir(instance);
	instance[0] = 0;
}

#endif
