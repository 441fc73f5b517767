// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: config_load_string on arbitrary bytes. Checks that every result is
 * either success or an error message in the "NAME:..." form, and that a successful
 * parse leaves the bounded fields inside their bounds. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	static struct config cfg;
	char err[512] = "";
	int rc = config_load_string(&cfg, text, "fuzz.ini", err, sizeof(err));
	if (rc == 0) {
		assert(cfg.node_name_count >= 1 && cfg.node_name_count <= HS_MAX_NAMES);
		for (int i = 0; i < cfg.node_name_count; i++)
			assert(strlen(cfg.node_names[i]) < HS_NAME_LEN);
		assert(cfg.compress_level >= 1 && cfg.compress_level <= 9);
		assert(cfg.max_concurrent >= 1);
		assert(cfg.store_dir[0] != '\0');
		assert(cfg.start_timeout_s <= cfg.timeout_s);
		assert(cfg.baseline_pct < 100);
	} else {
		assert(rc < 0);
		assert(strncmp(err, "fuzz.ini:", 9) == 0);
	}
	free(text);
	return 0;
}
