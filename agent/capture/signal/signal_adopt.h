// SPDX-License-Identifier: Apache-2.0
/* The signal route's part of crash recovery (recovery.h): adopting the snapshot file
 * Node went on writing while the agent was down. */
#ifndef HS_SIGNAL_ADOPT_H
#define HS_SIGNAL_ADOPT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A resumed signal capture: in dir_fd, the newest heap snapshot file of ns_pid
 * modified since resume_after_ms (wall) into name. Older matching names go to
 * remember_old (which returns -errno to stop). 0 adopted; 1 none yet; -errno. */
int recovery_adopt_snapshot(int dir_fd, pid_t ns_pid, int64_t resume_after_ms, char *name, size_t namelen,
			    int (*remember_old)(void *arg, const char *name), void *arg);

#endif
