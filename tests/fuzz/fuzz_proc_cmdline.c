// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: a process's command line (/proc/PID/cmdline, NUL-separated argv,
 * any bytes): the joined display line, the Node options before the script, the app
 * label derived from it. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/metrics.h"
#include "track/labels.h"
#include "track/procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv = (const char *)data;
	static struct node_opts o;
	char line[4096], app[128];
	struct labels l;

	procs_join_argv(argv, size, line, sizeof(line));
	assert(strlen(line) < sizeof(line));
	node_opts_parse(argv, size, NULL, &o);
	assert(strnlen(o.script, sizeof(o.script)) < sizeof(o.script));
	assert(o.heapsnapshot_signal >= 0 && o.heapsnapshot_signal < 65);
	assert(o.inspect_port >= 0 && o.inspect_port <= 65535);
	metrics_app_name(line, app, sizeof(app));
	assert(strlen(app) < sizeof(app));
	memset(&l, 0, sizeof(l));
	labels_app(o.script, &l);
	assert(strnlen(l.app, sizeof(l.app)) < sizeof(l.app));
	return 0;
}
