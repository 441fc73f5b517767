// SPDX-License-Identifier: Apache-2.0
/* The identity of a watched process, as every output names it: the snapshot metadata
 * (`app`, `container_id`), the per-process metric and alert labels (`app`,
 * `container`), and the bucket index (`heapsnap list --remote --app`). One rule, one
 * size, so the label an alert carries finds the snapshots it announced.
 *
 * app: the script Node runs (the first word of argv that is not an option or an
 *   option's value, as track/procs.c parses it), named by
 *   - its package when it lies under node_modules/PKG/ or node_modules/@scope/pkg/
 *     (not node_modules/.bin/): `node /usr/lib/node_modules/npm/bin/npm-cli.js` is npm;
 *   - else its file name without .js/.mjs/.cjs (`leak.js` is leak);
 *   - and for the generic index/main/server/app, the directory holding it
 *     (`/srv/checkout/index.js` is checkout) when the path names one;
 *   "[eval]" for `node -e`/`-p`, "node" when there is no script (REPL, stdin).
 * container_id: the last 64-hex id in the cgroup path that starts a component or
 *   follows a runtime's "docker-", "cri-containerd-", "crio-", "libpod-" prefix and
 *   ends the component or ".scope" (what Parca reads); "" outside containers. Metric
 *   and alert labels show its first IDENTITY_CONTAINER_SHORT digits, as docker does.
 *
 * Pure string functions (fuzzed through tests/fuzz/fuzz_proc_cmdline.c). */
#ifndef HS_IDENTITY_H
#define HS_IDENTITY_H

#include <stdbool.h>

/* Every buffer holding an app name or a container id (with its NUL). */
#define IDENTITY_LEN 128
/* Digits of the container id in metric and alert labels. */
#define IDENTITY_CONTAINER_SHORT 12

struct identity {
	char app[IDENTITY_LEN];
	char container_id[IDENTITY_LEN];
};

/* script: the script argument as given ("" for none); eval: -e/--eval/-p/--print given.
 * cgroup: a /proc/PID/cgroup line ("0::/..."), or NULL. */
void identity_of(const char *script, bool eval, const char *cgroup, struct identity *out);

/* The app name alone (identity_of's rule); out has IDENTITY_LEN bytes. */
void identity_app(const char *script, bool eval, char *out);
/* The container id alone from a cgroup line; out has IDENTITY_LEN bytes. */
void identity_container_id(const char *cgroup, char *out);
/* The label form of a container id: its first IDENTITY_CONTAINER_SHORT digits. */
void identity_container_short(const char *container_id, char out[IDENTITY_CONTAINER_SHORT + 1]);

#endif
