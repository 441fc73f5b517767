/* pidfds checked against a process's start time, so that a signal never reaches a
 * process that merely inherited a recycled PID (procs.h: procs_pidfd_open,
 * procs_pidfd_signal). The pidfd is opened first and the start time checked after:
 * if the PID was reused before the open, the start time differs; if after, the
 * pidfd still names the old (now dead) process and the start time differs too. */
#include "procs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STAT_START_TIME_FIELD 22

/* Field 22 of /proc/PID/stat. Kept local (procs_start_time lives in procs.c) so that
 * this file has no dependency beyond libc. 0, or -errno (-ESRCH when gone). */
static int read_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (n <= 0)
		return err ? err : -ESRCH;
	buf[n] = '\0';
	/* comm may hold spaces and ')': fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 2; field < STAT_START_TIME_FIELD; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EINVAL;
	*out = v;
	return 0;
}

int procs_pidfd_open(pid_t pid, uint64_t start_time)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* pidfd_open does not take O_CLOEXEC: its fds are always close-on-exec. */
	uint64_t now = 0;
	int err = read_start_time(pid, &now);
	if (err || now != start_time) {
		close(fd);
		errno = err == 0 || err == -ENOENT ? ESRCH : -err;
		return -1;
	}
	return fd;
}

int procs_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}
