// SPDX-License-Identifier: Apache-2.0
/* The fleet exporters wired together from the config: the sender thread, the
 * Alertmanager sink ([alertmanager] url) and the webhook ([alert] webhook), registered
 * as sinks of the alerter. Secrets come from files that must not be readable by group
 * or others; their content is never logged. */
#ifndef HS_EXPORTER_H
#define HS_EXPORTER_H

#include <stddef.h>

#include "alert/alert.h"
#include "base/config.h"
#include "export/metrics.h"

/* How long the webhook retries one event before giving it up. */
#define WEBHOOK_MAX_AGE_MS (10 * 60 * 1000)

struct exporter;

/* NULL with err when the config cannot work (a secret file unsafe or unreadable);
 * a valid exporter that does nothing when neither is configured. */
struct exporter *exporter_start(const struct config *cfg, struct alerter *al, struct metrics *m,
				char *err, size_t errlen);
/* Stops the sender (queued deliveries are dropped). Accepts NULL. Call once no more
 * events can come. */
void exporter_free(struct exporter *e);

/* Read a secret (trailing newline dropped, at most len - 1 bytes): 0, or a negative errno with err
 * naming the file; a file group/other can read or write is refused. */
int exporter_read_secret(const char *key, const char *path, char *buf, size_t len, char *err,
			 size_t errlen);

#endif
