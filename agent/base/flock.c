// SPDX-License-Identifier: Apache-2.0
#include "base/flock.h"

#include <errno.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* The process holding a flock on (dev, ino), from /proc/locks ("1: FLOCK ADVISORY
 * WRITE PID MAJ:MIN:INO 0 EOF", major and minor in hex), or 0. */
static pid_t holder_of(const struct stat *sb)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	pid_t holder = 0;

	if (!f)
		return 0;
	while (!holder && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long ino;
		int pid;
		if (sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%llu", &pid, &maj, &min, &ino) == 4 &&
		    ino == sb->st_ino && makedev(maj, min) == sb->st_dev)
			holder = pid;
	}
	fclose(f);
	return holder;
}

int flock_exclusive(int fd, pid_t *holder)
{
	struct stat sb;

	*holder = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	if (fstat(fd, &sb) == 0)
		*holder = holder_of(&sb);
	return -EBUSY;
}
