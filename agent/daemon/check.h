// SPDX-License-Identifier: Apache-2.0
/* heapsnapd --check: a preflight an operator runs before rolling the agent out. Each
 * part the agent needs is tried the way the agent would use it (the BPF objects are
 * loaded and attached, then released) and reported on one line: ok, degraded (what
 * is lost) or missing (why). */
#ifndef HS_CHECK_H
#define HS_CHECK_H

#include <stdbool.h>

#include "base/config.h"

/* Prints the report to stdout (text, or one JSON object with json). cfg_err: why the
 * configuration could not be read (cfg then holds the defaults), or NULL. Returns 0
 * when the agent can do its core job here (the RSS trigger, at least one capture
 * route and the store), 1 otherwise. */
int check_run(const struct config *cfg, const char *cfg_err, bool json);

#endif
