// SPDX-License-Identifier: Apache-2.0
/* The heapsnap command: one function per subcommand (cli_store.h, cli_remote.h,
 * cli_analyze.h, cli_ps.h), dispatched by heapsnap.c. Each gets argv starting at the
 * subcommand name and returns the exit code (0 ok, 1 failure, 2 usage); this is what
 * they share. */
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

#endif
