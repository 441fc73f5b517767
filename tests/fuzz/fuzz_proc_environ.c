// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: a process's environment block (/proc/PID/environ, NUL-separated,
 * any bytes): NODE_OPTIONS through node_opts_parse, and the container/pod labels.
 * Every output string stays terminated within its field. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "track/labels.h"
#include "track/procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* as the agent reads it: a buffer with a NUL after the last byte (read_small_file) */
	char *env = fuzz_text(data, size);
	static struct node_opts o;
	struct labels l;

	if (!env)
		return 0;
	const char *node_options = labels_env_value(env, size, "NODE_OPTIONS");
	if (node_options)
		assert(node_options >= env && node_options <= env + size);
	node_opts_parse("node\0app.js", 12, node_options, &o);
	assert(strnlen(o.diagnostic_dir, sizeof(o.diagnostic_dir)) < sizeof(o.diagnostic_dir));
	assert(strnlen(o.inspect_host, sizeof(o.inspect_host)) < sizeof(o.inspect_host));
	assert(o.inspect_port >= 0 && o.inspect_port <= 65535);
	memset(&l, 0, sizeof(l));
	labels_from_cgroup("0::/kubepods/burstable/pod0123/abc", &l);
	labels_from_env(env, size, &l);
	assert(strnlen(l.pod_name, sizeof(l.pod_name)) < sizeof(l.pod_name));
	assert(strnlen(l.pod_namespace, sizeof(l.pod_namespace)) < sizeof(l.pod_namespace));
	assert(strnlen(l.container_name, sizeof(l.container_name)) < sizeof(l.container_name));
	free(env);
	return 0;
}
