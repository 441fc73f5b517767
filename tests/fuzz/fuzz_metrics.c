// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: what a watched process controls ends up in the metrics text (its
 * command line becomes the app label, its cgroup path the container label), and the
 * listen address parser. Checks that the app and container labels are bounded, that
 * every rendered line is a comment or a heapsnap_ sample (a label value cannot break
 * a line or a quote), and that exactly one RSS series comes out. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "export/metrics.h"
#include "export/metrics_http.h"

static void check_lines(const char *text)
{
	int rss = 0;
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		assert(nl); /* every line ends */
		assert(l[0] == '#' || strncmp(l, "heapsnap_", 9) == 0);
		if (strncmp(l, "heapsnap_process_rss_bytes{", 27) == 0) {
			rss++;
			/* the sample value follows the closing brace of the labels */
			const char *close = nl;
			while (close > l && *close != '}')
				close--;
			assert(*close == '}' && close[1] == ' ');
		}
		l = nl + 1;
	}
	assert(rss == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;

	struct metrics_proc p = { .pid = 1, .rss_bytes = 1, .gc_known = true, .heap_used_bytes = 1 };
	char id[IDENTITY_LEN];
	identity_app(text, false, p.app);
	assert(strlen(p.app) < sizeof(p.app));
	identity_container_id(text, id);
	identity_container_short(id, p.container);
	assert(strlen(p.container) == 0 || strlen(p.container) == 12);
	/* the raw bytes as a label value too (escaping of anything, up to its size) */
	struct metrics_proc q = p;
	q.pid = 2;
	snprintf(q.app, sizeof(q.app), "%s", text);

	struct metrics *m = metrics_new(1);
	assert(m);
	assert(metrics_publish_procs(m, &p, 1) == 0);
	char *out;
	size_t len;
	assert(metrics_render(m, &out, &len) == 0);
	check_lines(out);
	free(out);
	assert(metrics_publish_procs(m, &q, 1) == 0);
	assert(metrics_render(m, &out, &len) == 0);
	check_lines(out);
	free(out);
	metrics_free(m);

	char host[64];
	unsigned port;
	if (metrics_split_listen(text, host, sizeof(host), &port) == 0)
		assert(port >= 1 && port <= 65535 && strlen(host) < sizeof(host) && host[0]);
	free(text);
	return 0;
}
