// SPDX-License-Identifier: Apache-2.0
/* Exclusive, non-blocking flock(2) that names the holder when it fails: the agent
 * takes one on its lock file (one agent per host) and on its store (one writer per
 * store). The holder comes from /proc/locks, matched by device and inode. */
#ifndef HS_FLOCK_H
#define HS_FLOCK_H

#include <sys/types.h>

/* 0 locked (until fd is closed); -EBUSY held by another open file, *holder its pid
 * (0 if unknown); another -errno on failure. */
int flock_exclusive(int fd, pid_t *holder);

#endif
