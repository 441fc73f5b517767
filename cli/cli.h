// SPDX-License-Identifier: Apache-2.0
/* The heapsnap command: one function per subcommand, dispatched by heapsnap.c.
 * Each gets argv starting at the subcommand name and returns the exit code
 * (0 ok, 1 failure, 2 usage). */
#ifndef HS_CLI_H
#define HS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config;

struct cli {
	const struct config *cfg;  /* the loaded config ([upload] for --remote) */
	const char *config_path;   /* -c FILE (default /etc/heapsnap/heapsnap.ini when it exists) */
	const char *store_dir;     /* --store DIR, overrides the config's [store] dir */
	const char *state_socket;  /* the agent's state socket (from the config) */
	bool remote;               /* diff/summary --remote: ids name snapshots in the bucket */
};

/* Text from a watched process, a snapshot or a bucket (command lines, paths, class
 * names, keys), made safe for the terminal (base/sanitize.h, SANITIZE_ESCAPE). The
 * result lives until 16 more calls. */
const char *cli_safe(const char *s);
/* label then s (sanitized, any length) and a newline on stdout. */
void cli_print_safe(const char *label, const char *s);

/* cli_store.c */
int cmd_list(const struct cli *cli, int argc, char **argv);
int cmd_show(const struct cli *cli, int argc, char **argv);
int cmd_get(const struct cli *cli, int argc, char **argv);
int cmd_rm(const struct cli *cli, int argc, char **argv);
/* Decompress a .gz snapshot into fd (verified complete), or FILE written atomically.
 * 0, or a negative errno after printing why. */
int cli_decompress_to(const char *blob, int out_fd, const char *out_name);
int cli_get_to_file(const char *blob, const char *path);
/* cli_remote.c: the same commands on the bucket of [upload]. */
int cmd_list_remote(const struct cli *cli, int argc, char **argv);
int cmd_show_remote(const struct cli *cli, const char *id, bool json);
int cmd_get_remote(const struct cli *cli, const char *id, const char *output);
/* Download snapshot ID (or a unique prefix) from the bucket into a temporary file
 * (removed at exit) whose path goes into path. 0, or 1 after printing why. */
int cli_remote_fetch(const struct cli *cli, const char *id, char *path, size_t len);
/* cli_analyze.c */
int cmd_diff(const struct cli *cli, int argc, char **argv);
int cmd_summary(const struct cli *cli, int argc, char **argv);
/* cli_report.c: the report members of a snapshot's extra JSON, for people (other
 * members print as one "extra:" line). */
void cli_print_report(FILE *f, const char *extra_json);
/* cli_ps.c */
int cmd_ps(const struct cli *cli, int argc, char **argv);

#endif
