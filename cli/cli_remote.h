// SPDX-License-Identifier: Apache-2.0
/* The store's commands on the bucket of [upload] (--remote). */
#ifndef HS_CLI_REMOTE_H
#define HS_CLI_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

int cmd_list_remote(const struct cli *cli, int argc, char **argv);
int cmd_show_remote(const struct cli *cli, const char *id, bool json);
int cmd_get_remote(const struct cli *cli, const char *id, const char *output);
/* Download snapshot ID (or a unique prefix) from the bucket into a temporary file
 * (removed at exit) whose path goes into path. 0, or 1 after printing why. */
int cli_remote_fetch(const struct cli *cli, const char *id, char *path, size_t len);

#endif
