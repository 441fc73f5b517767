// SPDX-License-Identifier: Apache-2.0
/* Facts about one process read from /proc, and the Node options that decide its
 * capture route. Pure parsing functions are exposed for unit tests. */
#ifndef HS_PROCS_H
#define HS_PROCS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include <sys/types.h>

#include "heapsnap.h"
#include "track/labels.h"

struct node_opts {
	int heapsnapshot_signal;         /* --heapsnapshot-signal=SIG -> signal number, 0 if none */
	char diagnostic_dir[PATH_MAX];   /* --diagnostic-dir, as the process sees it ("" if none) */
	bool inspect;                    /* any --inspect / --inspect-brk / --inspect-wait given */
	char inspect_host[64];           /* host part of --inspect[=host:port] / --inspect-port ("" = default) */
	int inspect_port;                /* port from --inspect[=..]/--inspect-port, 0 if not given (=9229) */
	bool inspect_port_random;        /* port 0 given: Node picks a free port when it opens */
	bool disable_sigusr1;            /* --disable-sigusr1 */
	bool use_largepages;             /* --use-largepages=on|silent */
	char script[256];                /* the script argument, as given ("" for -e, REPL) */
};

struct proc_info {
	pid_t pid;                       /* in the agent's pid namespace */
	pid_t ns_pid;                    /* innermost NSpid (what the process calls itself) */
	uint64_t start_time;             /* field 22 of /proc/PID/stat: identity against PID reuse */
	uid_t uid;
	char comm[16];
	char exe[PATH_MAX];              /* readlink /proc/PID/exe, as the process's mount ns names it */
	char cmdline[4096];              /* argv joined with spaces, truncated */
	char cgroup[512];                /* cgroup v2 path ("0::/..."), or v1 memory controller path */
	char node_version[32];           /* "v20.20.2", or "" if not found */
	struct node_opts opts;           /* cmdline options before the script, then NODE_OPTIONS */
	struct labels labels;            /* container / pod / app labels (labels.h) */
};

/* Read everything above. Returns 0, or -errno (ESRCH when the process is gone). */
int procs_read(pid_t pid, struct proc_info *out);

/* True if the process's environment holds entry ("NAME=VALUE", exactly). */
bool procs_env_has(pid_t pid, const char *entry);

/* Start time only (cheap): 0 on success. */
int procs_start_time(pid_t pid, uint64_t *start_time);

/* Current RSS in bytes from /proc/PID/statm: 0, or -errno (-ESRCH when gone,
 * -EINVAL if unparsable). */
int procs_rss(pid_t pid, uint64_t *rss);

/* Current RSS in bytes from /proc/PID/statm (0 if gone or unreadable). */
uint64_t procs_rss_bytes(pid_t pid);

#define PROCS_MAX_GROUPS 256

/* The credentials file access is checked with (the fs ids, Linux's 4th Uid/Gid column). */
struct proc_creds {
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[PROCS_MAX_GROUPS];  /* supplementary groups, the first PROCS_MAX_GROUPS */
	int ngroups;
};

/* Credentials of pid from /proc/PID/status: 0, or -errno (-ESRCH when gone, -EINVAL
 * if a Uid or Gid line is missing). */
int procs_credentials(pid_t pid, struct proc_creds *out);

/* The parsing half of procs_credentials, for the text of a status file. 0 or -EINVAL. */
int procs_parse_credentials(const char *status, struct proc_creds *out);

/* True if basename(exe) or comm is one of names[0..n). */
bool procs_name_matches(const struct proc_info *p, const char names[][HS_NAME_LEN], int n);

/* Parse Node options from argv (NUL-separated, argv[0] first; options stop at the
 * script name or "--") and then from a NODE_OPTIONS value (shell-like words, may be
 * NULL). Later settings win, as in Node. */
void node_opts_parse(const char *argv, size_t argv_len, const char *node_options, struct node_opts *out);

/* Signal name ("SIGUSR2", "USR2", "12") -> number, or 0. */
int signal_from_name(const char *name);

/* Node version embedded in the binary at path (reads the ELF's read-only data for the
 * release URL "node-vX.Y.Z" or similar). "" if not found. */
void node_version_of_binary(const char *path, char *out, size_t outlen);

/* pidfd for pid, checked against start_time so a recycled PID is never signalled.
 * Returns the fd, or -errno (-ESRCH when gone or recycled). */
int procs_pidfd_open(pid_t pid, uint64_t start_time);

/* Send sig through a pidfd. 0 or -errno. */
int procs_pidfd_signal(int pidfd, int sig);

#endif
