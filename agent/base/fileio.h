// SPDX-License-Identifier: Apache-2.0
/* Small file helpers shared by the agent and the CLI. */
#ifndef HS_FILEIO_H
#define HS_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes of buf to fd, retrying on EINTR and short writes.
 * Returns 0, or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* Read up to len bytes (fewer only at end of file), retrying on EINTR.
 * The number of bytes read, or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);

/* Read up to cap-1 bytes of a small file (/proc, /sys, cgroupfs) into buf and
 * NUL-terminate it. The number of bytes read, or -errno. */
ssize_t read_small_file(const char *path, char *buf, size_t cap);

#endif
