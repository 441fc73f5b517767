// SPDX-License-Identifier: Apache-2.0
/* A resumed signal capture adopts the snapshot file Node went on writing while the
 * agent was down (see recovery.h for the journal's state machine). */
#include "capture/signal/signal_adopt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/late_sweep.h"

int recovery_adopt_snapshot(int dir_fd, pid_t ns_pid, int64_t resume_after_ms, char *name, size_t namelen,
			    int (*remember_old)(void *arg, const char *name), void *arg)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	time_t newest = 0;
	struct dirent *e;
	int rc = 0;

	name[0] = '\0';
	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;
		if (!heap_snapshot_name_matches(e->d_name, ns_pid) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((int64_t)st.st_mtime * 1000 < resume_after_ms - 1000) {
			rc = remember_old(arg, e->d_name);
			continue;
		}
		if (st.st_mtime < newest)
			continue;
		newest = st.st_mtime;
		snprintf(name, namelen, "%s", e->d_name);
	}
	closedir(d);
	if (rc < 0)
		return rc;
	return name[0] ? 0 : 1;
}
