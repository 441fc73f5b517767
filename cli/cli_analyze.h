// SPDX-License-Identifier: Apache-2.0
/* heapsnap diff / summary. */
#ifndef HS_CLI_ANALYZE_H
#define HS_CLI_ANALYZE_H

#include "cli.h"

int cmd_diff(const struct cli *cli, int argc, char **argv);
int cmd_summary(const struct cli *cli, int argc, char **argv);

#endif
