// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: /proc/PID/status and /proc/PID/stat text (comm, which the process
 * sets with prctl, may hold any bytes but NUL, ')' and newlines included): the status
 * fields (Uid, NSpid), the credentials (Uid/Gid/Groups), and stat's comm and start
 * time. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "track/procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	static struct proc_creds c;
	char comm[16];
	uint64_t start = 0;
	uid_t uid = 0;
	pid_t ns_pid = 0;

	if (!text)
		return 0;
	procs_parse_status(text, &uid, &ns_pid);
	(void)procs_parse_status_rss(text);
	if (procs_parse_credentials(text, &c) == 0)
		assert(c.ngroups >= 0 && c.ngroups <= PROCS_MAX_GROUPS);
	if (procs_parse_stat(text, comm, sizeof(comm), &start) == 0)
		assert(strlen(comm) < sizeof(comm));
	free(text);
	return 0;
}
