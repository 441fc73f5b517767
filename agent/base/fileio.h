// SPDX-License-Identifier: Apache-2.0
/* Small file helpers shared by the agent and the CLI. */
#ifndef HS_FILEIO_H
#define HS_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
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

/* Open a file a watched process controls, for reading, so that it cannot stall or
 * crash the reader: O_NONBLOCK (a FIFO or device put in its place cannot block the
 * open), O_CLOEXEC, O_NOFOLLOW unless follow (pass follow only for /proc magic links
 * such as /proc/PID/exe and /proc/PID/map_files/..., which name the very file the
 * kernel mapped), relative to dirfd (AT_FDCWD for an absolute path). The fd is then
 * checked: a regular file of at most max_size bytes. *st (may be NULL) gets its stat.
 * fd, or -errno: -EINVAL when it is not a regular file, -EFBIG when larger than
 * max_size. */
int open_untrusted(int dirfd, const char *path, bool follow, off_t max_size, struct stat *st);

/* pread all len bytes at off (fewer only at end of file), retrying on EINTR.
 * The count, or -errno. A file truncated meanwhile gives a short count, never a
 * signal (which a mapping of it would). */
ssize_t pread_full(int fd, void *buf, size_t len, off_t off);

#endif
