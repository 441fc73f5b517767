// SPDX-License-Identifier: Apache-2.0
/* Heap snapshot files that come after the signal route gave up on them.
 * Node answers --heapsnapshot-signal from its event loop: a process whose loop is
 * blocked when the signal arrives writes its snapshot whenever the loop frees up,
 * possibly long after the capture stopped waiting (start_timeout_s). That file would
 * stay in the app's directory: hundreds of MB, secrets included, on a disk the agent
 * was never meant to fill. The signal route hands each unanswered signal here; one
 * thread watches the directory until the file appears, removes its name at once (V8
 * goes on writing into the unlinked inode, freed when it closes it) and forgets the
 * process when that is done or the process exits. */
#ifndef HS_LATE_SWEEP_H
#define HS_LATE_SWEEP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct late_sweep;

struct late_signal {
	pid_t pid;                     /* host pid */
	pid_t ns_pid;                  /* the pid Node puts in the file name */
	uint64_t start_time;
	int pidfd, dir_fd, ino_fd;     /* ino_fd watches dir_fd for IN_CREATE / IN_MOVED_TO */
	char dir_seen[PATH_MAX];       /* the directory as the process names it (for logs) */
	char **old;                    /* matching names present before the signal (malloc'd) */
	size_t nold;
	int64_t signal_mono_ms;
};

/* state_file (or ""): an entry's journal (recovery.h, journal_keep_unanswered) is
 * removed when the entry is done, and left for the next run of the agent when it
 * stops first. */
struct late_sweep *late_sweep_new(const char *state_file, char *err, size_t errlen);
/* Stops the thread; what is still pending is left to the next run (logged). Accepts NULL. */
void late_sweep_free(struct late_sweep *ls);
/* Takes ownership of sig's fds and names, whatever happens; the capture's journal
 * becomes the entry's (journal_keep_unanswered). */
void late_sweep_add(struct late_sweep *ls, struct late_signal *sig);
/* Whether a signal sent to this process is still unanswered; *age_ms how long ago. */
bool late_sweep_pending(struct late_sweep *ls, pid_t pid, uint64_t start_time, int64_t *age_ms);

/* Heap.YYYYMMDD.HHMMSS.PID.TID.SEQ.heapsnapshot with PID = ns_pid. */
bool heap_snapshot_name_matches(const char *name, pid_t ns_pid);

#endif
