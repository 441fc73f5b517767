// SPDX-License-Identifier: Apache-2.0
/* Network namespace seam. See ns.h. Same approach as jattach: compare the namespace
 * inodes first and enter only when they differ. */
#include "base/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int stat_ns(const char *path, struct stat *st)
{
	return stat(path, st) < 0 ? -errno : 0;
}

int ns_net_differs(pid_t pid)
{
	char path[64];
	struct stat self, target;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	rc = stat_ns("/proc/thread-self/ns/net", &self);
	if (rc == 0)
		rc = stat_ns(path, &target);
	if (rc < 0)
		return rc;
	return self.st_ino != target.st_ino || self.st_dev != target.st_dev;
}

/* Close fd (if open) and return rc: the way out of ns_socket's failures. */
static int close_with(int fd, int rc)
{
	if (fd >= 0)
		close(fd);
	return rc;
}

int ns_socket(pid_t pid, int domain, int type, int protocol)
{
	char path[64];
	int differs = ns_net_differs(pid), own = -1, target = -1, fd = -1;

	if (differs < 0)
		return differs;
	if (!differs) {
		fd = socket(domain, type | SOCK_CLOEXEC, protocol);
		return fd < 0 ? -errno : fd;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return -errno;
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return close_with(own, -errno);
	if (setns(target, CLONE_NEWNET) < 0) {
		fd = -errno;
		close(target);
		return close_with(own, fd);
	}
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		fd = -errno;
	if (setns(own, CLONE_NEWNET) < 0)
		fd = close_with(fd, -ENOTRECOVERABLE);
	close(target);
	close(own);
	return fd;
}
