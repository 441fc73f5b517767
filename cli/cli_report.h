// SPDX-License-Identifier: Apache-2.0
/* The report members of a snapshot's extra JSON, for people (other members print as
 * one "extra:" line). */
#ifndef HS_CLI_REPORT_H
#define HS_CLI_REPORT_H

#include <stdio.h>

void cli_print_report(FILE *f, const char *extra_json);

#endif
