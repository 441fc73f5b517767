// SPDX-License-Identifier: Apache-2.0
/* Facts of the host (see host.h). */
#include "base/host.h"

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "base/fileio.h"

void host_machine_id(char *out, size_t len)
{
	char buf[64];
	ssize_t n = read_small_file("/etc/machine-id", buf, sizeof(buf));

	out[0] = '\0';
	if (n <= 0)
		return;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out, len, "%s", buf);
}
