// SPDX-License-Identifier: Apache-2.0
/* pidfds checked against a process's start time, so that a signal never reaches a
 * process that merely inherited a recycled PID (procs.h: procs_pidfd_open,
 * procs_pidfd_signal). The pidfd is opened first and the start time checked after:
 * if the PID was reused before the open, the start time differs; if after, the
 * pidfd still names the old (now dead) process and the start time differs too. */
#include "track/procs.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int procs_pidfd_open(pid_t pid, uint64_t start_time)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	/* pidfd_open does not take O_CLOEXEC: its fds are always close-on-exec. */
	uint64_t now = 0;
	int err = procs_start_time(pid, &now);
	if (err || now != start_time) {
		close(fd);
		return err == 0 || err == -ENOENT ? -ESRCH : err;
	}
	return fd;
}

int procs_pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}
