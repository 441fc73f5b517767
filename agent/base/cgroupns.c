/* See cgroupns.h. */
#include "base/cgroupns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"

int cgroupns_enter_host(void)
{
	struct stat ours, host;
	int fd, rc = 0;

	if (stat("/proc/self/ns/cgroup", &ours) < 0 || stat("/proc/1/ns/cgroup", &host) < 0)
		return ERR_ERRNO();
	if (ours.st_dev == host.st_dev && ours.st_ino == host.st_ino)
		return 0;
	fd = open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_ERRNO();
	if (setns(fd, CLONE_NEWCGROUP) < 0)
		rc = ERR_ERRNO();
	close(fd);
	return rc < 0 ? rc : 1;
}
