// SPDX-License-Identifier: Apache-2.0
/* heapsnap list / show / get / rm on the local store (--remote: cli_remote.h). Each
 * gets argv starting at the subcommand name and returns the exit code (0 ok, 1
 * failure, 2 usage). */
#ifndef HS_CLI_STORE_H
#define HS_CLI_STORE_H

#include "cli.h"

int cmd_list(const struct cli *cli, int argc, char **argv);
int cmd_show(const struct cli *cli, int argc, char **argv);
int cmd_get(const struct cli *cli, int argc, char **argv);
int cmd_rm(const struct cli *cli, int argc, char **argv);

#endif
