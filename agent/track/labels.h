// SPDX-License-Identifier: Apache-2.0
/* Labels of a process for its snapshots' metadata, without an API server (what
 * Parca does): pure functions over what /proc shows.
 *
 * Read: /proc/PID/cgroup (the path) for the container id — the 64-hex id in a
 *   docker-ID.scope, /docker/ID, cri-containerd-ID.scope, crio-ID.scope,
 *   libpod-ID.scope, or /kubepods/.../podUID/ID component — and the Kubernetes pod
 *   uid (podUID in a kubepods path; the systemd driver writes it with '_' for '-');
 * /proc/PID/environ for POD_NAME, POD_NAMESPACE and CONTAINER_NAME (the usual
 *   downward-API names; Kubernetes sets none of them by itself) and, in a pod (the
 *   cgroup path is kubepods or KUBERNETES_SERVICE_HOST is set) without POD_NAME,
 *   HOSTNAME, which Kubernetes sets to the pod name;
 * the command line for `app`: the script Node runs — its package name when it lies in
 *   node_modules/PKG/ (or node_modules/@scope/pkg), else its file name without .js/.mjs/.cjs,
 *   or its directory's name for index/main/server/app.js; "" for `node -e` or a REPL;
 * /etc/machine-id and the host name (by the agent, not here). */
#ifndef HS_LABELS_H
#define HS_LABELS_H

#include <stdbool.h>
#include <stddef.h>

struct labels {
	char app[128];
	char container_id[80];
	char pod_uid[40];
	char pod_name[128];
	char pod_namespace[128];
	char container_name[128];
};

/* From a cgroup path ("0::/kubepods/..." or "/system.slice/docker-ID.scope"). */
void labels_from_cgroup(const char *cgroup, struct labels *out);
/* From a NUL-separated environment block. Call after labels_from_cgroup: a pod uid
 * found there (or KUBERNETES_SERVICE_HOST) makes HOSTNAME the pod name. */
void labels_from_env(const char *env, size_t len, struct labels *out);
/* Value of NAME in a NUL-separated environment block (/proc/PID/environ), or NULL. */
const char *labels_env_value(const char *env, size_t len, const char *name);
/* From the script path as given on the command line ("" = none). */
void labels_app(const char *script, struct labels *out);
/* The one rule for an app name from a script path (labels_app and the metrics "app"
 * label): the package under the last node_modules/ (@scope/pkg; not .bin/), else
 * file_name ? the file name as it is ("leak.js", the metrics label) : the rule above
 * (extension dropped, the directory for index/main/server/app). */
void labels_app_name(const char *script, bool file_name, char *out, size_t outlen);
/* The full 64-hex container id of a cgroup line ("0::/...docker-ID.scope"), "" when none. */
void labels_container_id(const char *cgroup, char *out, size_t outlen);

#endif
