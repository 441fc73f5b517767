// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: procs_parse_maps_line on every line of arbitrary /proc/PID/maps
 * text (the path part is whatever the process named its files). A parsed line has its
 * path inside the line, without the newline, and start <= end. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "track/procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	for (char *line = text; line && *line;) {
		char *eol = strchr(line, '\n');
		struct maps_entry m;
		if (procs_parse_maps_line(line, &m) == 0) {
			assert(m.start <= m.end);
			assert(m.path >= line && m.path + m.path_len <= line + strlen(line));
			assert(memchr(m.path, '\n', m.path_len) == NULL);
			assert(strlen(m.perms) <= 4);
		}
		line = eol ? eol + 1 : NULL;
	}
	free(text);
	return 0;
}
