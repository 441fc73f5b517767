/* The agent reads other processes' /proc/PID/cgroup (pod and container labels, the
 * memory limit the guard checks). Those paths are shown relative to the reader's
 * cgroup namespace: in a container with a private one (containerd on cgroup v2 gives
 * every pod one) another pod's path reads "/../../kubepods-…-podUID.slice/…", which
 * names neither its pod (cgroupfs driver) nor a directory under the host's cgroup
 * mount. So the agent moves into the host's cgroup namespace at start. */
#ifndef HS_CGROUPNS_H
#define HS_CGROUPNS_H

/* Enters the cgroup namespace of /proc/1 (the host's init, given the host's PID
 * namespace) when it differs from ours. Returns 1 if it moved, 0 if already there
 * (or /proc/1 is our own PID namespace's init, so there is nothing better), a negative
 * errno on failure (-EPERM without CAP_SYS_ADMIN). Call before any thread starts:
 * threads inherit the namespace of the thread that creates them. */
int cgroupns_enter_host(void);

#endif
