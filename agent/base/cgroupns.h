// SPDX-License-Identifier: Apache-2.0
/* The agent reads other processes' /proc/PID/cgroup (pod and container labels, the
 * memory limit the guard checks). Those paths are shown relative to the reader's
 * cgroup namespace: in a container with a private one (containerd on cgroup v2 gives
 * every pod one) another pod's path reads "/../../kubepods-…-podUID.slice/…", which
 * names neither its pod (cgroupfs driver) nor a directory under the host's cgroup
 * mount. So the agent moves into the host's cgroup namespace at start. */
#ifndef HS_CGROUPNS_H
#define HS_CGROUPNS_H

/* Enters the host's cgroup namespace (kthreadd's, given the host's PID namespace; else
 * PID 1's) when it differs from ours. Returns 1 if it moved, 0 if already there (or
 * there is no host process to see), a negative errno on failure (-EPERM without
 * CAP_SYS_ADMIN). Call before any thread starts: threads inherit the namespace of
 * the thread that creates them. */
int cgroupns_enter_host(void);

#endif
