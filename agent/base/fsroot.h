// SPDX-License-Identifier: Apache-2.0
/* Safe path resolution inside another process's root directory (a container's
 * filesystem reached through /proc/PID/root). A path is resolved as the target
 * would resolve it: "/" and ".." stop at its root, absolute symlinks restart at its
 * root, and nothing (symlink, "..", /proc magic link) can lead out of it.
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) does this in the kernel; where it
 * is missing (ENOSYS: kernels < 5.6; EPERM: some seccomp filters) a walk does the
 * same in user space, one component at a time, opening each O_PATH|O_NOFOLLOW and
 * expanding symlinks itself. Every returned fd is O_CLOEXEC. */
#ifndef HS_FSROOT_H
#define HS_FSROOT_H

#include <stdbool.h>

/* Open a process's root and cwd (/proc/PID/root, /proc/PID/cwd) as O_PATH directory
 * fds. fd, or -errno. */
int fsroot_open_proc_root(int pid);
int fsroot_open_proc_cwd(int pid);

/* Open path inside root_fd with open flags (O_CLOEXEC is always added). A relative
 * path starts at start_fd, which must be a directory beneath root_fd (pass root_fd
 * itself, or the target's cwd); an absolute one at root_fd. With O_NOFOLLOW a final
 * symlink fails with -ELOOP; otherwise it is followed within the root.
 * fd, or -errno (-EXDEV when start_fd is not beneath root_fd). */
int fsroot_open(int root_fd, int start_fd, const char *path, int flags);

/* The user-space walk alone (the fallback), exposed for tests. Same contract. */
int fsroot_open_walk(int root_fd, int start_fd, const char *path, int flags);

/* True if directory fd is root_fd or below it (walking ".." up to the filesystem top). */
bool fsroot_is_beneath(int root_fd, int fd);

#endif
