// SPDX-License-Identifier: Apache-2.0
/* Text from a watched process, a snapshot or a bucket (command lines, paths, class
 * names, keys), made safe for the terminal (base/sanitize.h, SANITIZE_ESCAPE). */
#ifndef HS_CLI_OUTPUT_H
#define HS_CLI_OUTPUT_H

/* The result lives until 16 more calls. */
const char *cli_safe(const char *s);
/* label then s (sanitized, any length) and a newline on stdout. */
void cli_print_safe(const char *label, const char *s);

#endif
