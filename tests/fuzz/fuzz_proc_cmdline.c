// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: a process's command line (/proc/PID/cmdline, NUL-separated argv,
 * any bytes): the joined display line, the Node options before the script, the app
 * label derived from it. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/identity.h"
#include "track/procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv = (const char *)data;
	static struct node_opts o;
	char line[4096], app[IDENTITY_LEN];

	procs_join_argv(argv, size, line, sizeof(line));
	assert(strlen(line) < sizeof(line));
	node_opts_parse(argv, size, NULL, &o);
	assert(strnlen(o.script, sizeof(o.script)) < sizeof(o.script));
	assert(o.heapsnapshot_signal >= 0 && o.heapsnapshot_signal < 65);
	assert(o.inspect_port >= 0 && o.inspect_port <= 65535);
	identity_app(o.script, o.eval, app);
	assert(app[0] && strlen(app) < sizeof(app));
	return 0;
}
