// SPDX-License-Identifier: Apache-2.0
/* HS_COMMIT comes from the Makefile (`git describe --always --dirty`); a build from a
 * tarball or a fuzz build has none and says "unknown". */
#include "base/version.h"

#include <bpf/libbpf.h>

#ifndef HS_VERSION
#define HS_VERSION "unknown"
#endif
#ifndef HS_COMMIT
#define HS_COMMIT "unknown"
#endif

void version_print(FILE *out, const char *prog)
{
	fprintf(out, "%s %s\ncommit: %s\nlibbpf: %u.%u\n", prog, HS_VERSION, HS_COMMIT,
		libbpf_major_version(), libbpf_minor_version());
}
