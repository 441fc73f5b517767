// SPDX-License-Identifier: Apache-2.0
/* What a binary says to --version: its release, the commit it was built from and the
 * libbpf it runs with (the one the dynamic linker found, not the headers'). */
#ifndef HS_VERSION_H
#define HS_VERSION_H

#include <stdio.h>

/* "heapsnapd 0.1.0\ncommit: ...\nlibbpf: 1.1\n" for PROG. */
void version_print(FILE *out, const char *prog);

#endif
