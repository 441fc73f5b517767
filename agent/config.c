/* Placeholder: replaced by the real config.c. */
#include <string.h>
#include <stdio.h>
#include "config.h"
void config_defaults(struct config *cfg) { memset(cfg, 0, sizeof(*cfg)); strcpy(cfg->store_dir, "/var/lib/heapsnap"); }
int config_load(struct config *cfg, const char *path, char *err, size_t errlen) { (void)cfg; snprintf(err, errlen, "%s: config not built yet", path); return -1; }
int config_load_string(struct config *cfg, const char *t, const char *n, char *err, size_t errlen) { (void)cfg; (void)t; snprintf(err, errlen, "%s: config not built yet", n); return -1; }
