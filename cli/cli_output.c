// SPDX-License-Identifier: Apache-2.0
/* Text for the terminal (see cli_output.h). */
#include "cli_output.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/sanitize.h"

const char *cli_safe(const char *s)
{
	static char ring[16][8192];
	static unsigned next;
	char *out = ring[next++ % 16];

	sanitize(s ? s : "", SANITIZE_ESCAPE, out, sizeof(ring[0]));
	return out;
}

void cli_print_safe(const char *label, const char *s)
{
	size_t need = sanitize(s, SANITIZE_ESCAPE, NULL, 0) + 1;
	char *safe = malloc(need);

	if (safe)
		sanitize(s, SANITIZE_ESCAPE, safe, need);
	printf("%s%s\n", label, safe ? safe : "(out of memory)");
	free(safe);
}
