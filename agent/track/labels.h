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
 * `app` and `container_id` by base/identity.h's rule (procs.c sets app from the script);
 * /etc/machine-id and the host name (by the agent, not here). */
#ifndef HS_LABELS_H
#define HS_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/identity.h"

struct labels {
	char app[IDENTITY_LEN];          /* identity_app */
	char container_id[IDENTITY_LEN]; /* identity_container_id */
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

#endif
