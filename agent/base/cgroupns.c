// SPDX-License-Identifier: Apache-2.0
/* See cgroupns.h. The host's cgroup namespace is read from kthreadd (PID 2 in the
 * host's PID namespace): kernel threads never leave the initial namespaces, and unlike
 * PID 1 (which some hosts' init makes unreadable) root may always open theirs. */
#include "base/cgroupns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"

/* /proc/2 if it is kthreadd, else /proc/1. */
static const char *host_ns_path(void)
{
	char comm[32];
	ssize_t n = read_small_file("/proc/2/comm", comm, sizeof(comm));

	if (n > 0 && strcmp(comm, "kthreadd\n") == 0)
		return "/proc/2/ns/cgroup";
	return "/proc/1/ns/cgroup";
}

int cgroupns_enter_host(void)
{
	const char *host_path = host_ns_path();
	struct stat ours, host;
	int fd, rc = 0;

	if (stat("/proc/self/ns/cgroup", &ours) < 0 || stat(host_path, &host) < 0)
		return ERR_ERRNO();
	if (ours.st_dev == host.st_dev && ours.st_ino == host.st_ino)
		return 0;
	fd = open(host_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_ERRNO();
	if (setns(fd, CLONE_NEWCGROUP) < 0)
		rc = ERR_ERRNO();
	close(fd);
	return rc < 0 ? rc : 1;
}
