// SPDX-License-Identifier: Apache-2.0
/* heapsnap ps: the running agent's watched processes. */
#ifndef HS_CLI_PS_H
#define HS_CLI_PS_H

#include "cli.h"

int cmd_ps(const struct cli *cli, int argc, char **argv);

#endif
