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
#include <sys/stat.h>
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
	bool eval;                       /* -e/--eval/-p/--print: the code is the argument */
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
	uint64_t rss_bytes;              /* RSS when read (status's VmRSS, as statm's), 0 if none */
	struct node_opts opts;           /* cmdline options before the script, then NODE_OPTIONS */
	struct labels labels;            /* container / pod / app labels (labels.h) */
	struct stat exe_stat;            /* stat of /proc/PID/exe (the file itself) when exe_stat_known */
	bool exe_stat_known;
};

/* Read everything above. Returns 0, or -errno (ESRCH when the process is gone).
 * Call it only for a process procs_identify + procs_name_matches said is a Node: it
 * reads the process's environment and the files it maps. */
int procs_read(pid_t pid, struct proc_info *out);

/* What agent_add reads of a process it was told of, in one pass through one open
 * /proc/PID directory (every file read through it is that process's even if the pid
 * is reused meanwhile: no second stat read to check): procs_identify, the name test
 * against names (PROCS_UNWANTED (1) when none matches, nothing more read), the
 * environment, PROCS_UNWANTED when require_env (if not NULL or empty) is not in it,
 * with nothing else read, then the rest as procs_read. at_exec: nothing the process
 * may not have yet or that costs more than a few small reads (no maps: the version
 * of a libnode-linked Node is left empty, procs_version_from_maps fills it once the
 * process has lived). 0, PROCS_UNWANTED or -errno as procs_read. */
#define PROCS_UNWANTED 1
int procs_read_named(pid_t pid, const char names[][HS_NAME_LEN], int nnames, const char *require_env,
		     bool at_exec, struct proc_info *out);

/* The version from the libnode.so the process maps, when its exe gave none. */
void procs_version_from_maps(pid_t pid, struct proc_info *p);

/* Only what decides whether pid is a Node at all (pid, start_time, comm, exe): its
 * stat and its exe link, nothing the process could make slow or large. 0 or -errno. */
int procs_identify(pid_t pid, struct proc_info *out);

/* The pure parsers of /proc text (fuzzed in tests/fuzz/fuzz_proc_*.c). */
/* stat: comm (may be NULL) and field 22, starttime. 0 or -EINVAL. */
int procs_parse_stat(const char *buf, char *comm, size_t commlen, uint64_t *start_time);
/* status: real Uid and the innermost NSpid (left unchanged when absent). */
void procs_parse_status(const char *buf, uid_t *uid, pid_t *ns_pid);
/* status: VmRSS in bytes, 0 when absent (a kernel thread, a zombie). */
uint64_t procs_parse_status_rss(const char *buf);
/* cmdline (NUL-separated argv, len bytes) -> one line, spaces between, truncated. */
void procs_join_argv(const char *argv, size_t len, char *out, size_t outlen);

/* One line of /proc/PID/maps. path points into line (path_len bytes, "" for an
 * anonymous mapping); it is the process's name for the file, not a safe path to open. */
struct maps_entry {
	unsigned long start, end, pgoff, ino;
	char perms[5];
	const char *path;
	size_t path_len;
};
int procs_parse_maps_line(const char *line, struct maps_entry *out);

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
 * release URL "node-vX.Y.Z" or similar). "" if not found, or if path is not a regular
 * file of at most 1 GiB. path is followed: pass a /proc magic link (/proc/PID/exe,
 * /proc/PID/map_files/...) or a path the agent trusts, never a name from maps. */
void node_version_of_binary(const char *path, char *out, size_t outlen);

/* pidfd for pid, checked against start_time so a recycled PID is never signalled.
 * Returns the fd, or -errno (-ESRCH when gone or recycled). */
int procs_pidfd_open(pid_t pid, uint64_t start_time);

/* Send sig through a pidfd. 0 or -errno. */
int procs_pidfd_signal(int pidfd, int sig);

#endif
