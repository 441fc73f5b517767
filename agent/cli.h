/* The heapsnap command: one function per subcommand, dispatched by heapsnap.c.
 * Each gets argv starting at the subcommand name and returns the exit code
 * (0 ok, 1 failure, 2 usage). */
#ifndef HS_CLI_H
#define HS_CLI_H

#include <stdbool.h>

struct cli {
	const char *config_path;   /* -c FILE (default /etc/heapsnap/heapsnap.ini when it exists) */
	const char *store_dir;     /* --store DIR, overrides the config's [store] dir */
	const char *state_socket;  /* the agent's state socket (from the config) */
};

/* cli_store.c */
int cmd_list(const struct cli *cli, int argc, char **argv);
int cmd_show(const struct cli *cli, int argc, char **argv);
int cmd_get(const struct cli *cli, int argc, char **argv);
int cmd_rm(const struct cli *cli, int argc, char **argv);
/* cli_analyze.c */
int cmd_diff(const struct cli *cli, int argc, char **argv);
int cmd_summary(const struct cli *cli, int argc, char **argv);
/* cli_ps.c */
int cmd_ps(const struct cli *cli, int argc, char **argv);

#endif
