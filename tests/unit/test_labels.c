// SPDX-License-Identifier: Apache-2.0
/* Unit tests of labels.c: container ids and pod uids from the cgroup paths of the
 * common runtimes, pod labels from the environment (the app name: test_identity.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "track/labels.h"

#define ID "3f4e1a2b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8"

static struct labels cg(const char *path)
{
	struct labels l;

	memset(&l, 0, sizeof(l));
	labels_from_cgroup(path, &l);
	return l;
}

static void test_docker(void **state)
{
	(void)state;
	assert_string_equal(cg("0::/system.slice/docker-" ID ".scope").container_id, ID);
	assert_string_equal(cg("0::/docker/" ID).container_id, ID);
	assert_string_equal(cg("0::/docker/" ID).pod_uid, "");
}

static void test_containerd_crio_podman(void **state)
{
	(void)state;
	assert_string_equal(cg("0::/system.slice/cri-containerd-" ID ".scope").container_id, ID);
	assert_string_equal(cg("0::/machine.slice/crio-" ID ".scope").container_id, ID);
	assert_string_equal(cg("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope/container")
				    .container_id, ID);
}

static void test_kubepods(void **state)
{
	(void)state;
	struct labels l = cg("0::/kubepods/burstable/pod8c3e2a1b-1111-2222-3333-444455556666/" ID);
	assert_string_equal(l.container_id, ID);
	assert_string_equal(l.pod_uid, "8c3e2a1b-1111-2222-3333-444455556666");
	l = cg("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8c3e2a1b_1111_2222_3333_444455556666.slice/"
	       "cri-containerd-" ID ".scope");
	assert_string_equal(l.container_id, ID);
	assert_string_equal(l.pod_uid, "8c3e2a1b-1111-2222-3333-444455556666");
	l = cg("0::/user.slice/user-0.slice/session-3.scope");
	assert_string_equal(l.container_id, "");
	assert_string_equal(l.pod_uid, "");
	/* not 64 hex: no id */
	assert_string_equal(cg("0::/docker/3f4e1a2b").container_id, "");
}

/* The paths kubelet makes, as /proc/PID/cgroup shows them in the host's cgroup
 * namespace (heapsnapd enters it: base/cgroupns.h): the systemd cgroup driver
 * (kubepods.slice/kubepods-QOS.slice/kubepods-QOS-pod<uid with _>.slice/RUNTIME-ID.scope;
 * Guaranteed pods have no QoS level) and the cgroupfs driver
 * (/kubepods/QOS/pod<uid>/ID, /kubepods/pod<uid>/ID), on cgroup v2 ("0::") and v1
 * ("N:memory:"), with containerd and CRI-O. */
#define UID "8c3e2a1b-1111-2222-3333-444455556666"
#define UID_ "8c3e2a1b_1111_2222_3333_444455556666"
static void test_kubelet_cgroup_paths(void **state)
{
	static const char *const paths[] = {
		"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope",
		"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-" ID ".scope",
		"0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope",
		"12:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope",
		"0::/kubepods/burstable/pod" UID "/" ID,
		"0::/kubepods/besteffort/pod" UID "/" ID,
		"0::/kubepods/pod" UID "/" ID,
		"7:memory:/kubepods/burstable/pod" UID "/" ID,
	};
	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct labels l = cg(paths[i]);
		if (strcmp(l.pod_uid, UID) != 0 || strcmp(l.container_id, ID) != 0)
			fail_msg("%s: pod_uid '%s', container_id '%s'", paths[i], l.pod_uid, l.container_id);
	}
	/* The pod's own cgroup (the pause container's parent): the pod, no container. */
	struct labels l = cg("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice");
	assert_string_equal(l.pod_uid, UID);
	assert_string_equal(l.container_id, "");
}

static void test_env(void **state)
{
	(void)state;
	static const char env[] = "PATH=/bin\0HOSTNAME=checkout-7d9f-abcde\0KUBERNETES_SERVICE_HOST=10.0.0.1\0"
				  "POD_NAMESPACE=shop\0";
	struct labels l;

	memset(&l, 0, sizeof(l));
	labels_from_env(env, sizeof(env), &l);
	assert_string_equal(l.pod_name, "checkout-7d9f-abcde");
	assert_string_equal(l.pod_namespace, "shop");
	static const char env2[] = "HOSTNAME=laptop\0POD_NAME=web-0\0CONTAINER_NAME=web\0";
	memset(&l, 0, sizeof(l));
	labels_from_env(env2, sizeof(env2), &l);
	assert_string_equal(l.pod_name, "web-0");
	assert_string_equal(l.container_name, "web");
	static const char env3[] = "HOSTNAME=laptop\0";
	memset(&l, 0, sizeof(l));
	labels_from_env(env3, sizeof(env3), &l);
	assert_string_equal(l.pod_name, "");   /* not in a pod: HOSTNAME is not a pod name */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_containerd_crio_podman),
		cmocka_unit_test(test_kubepods),
		cmocka_unit_test(test_kubelet_cgroup_paths),
		cmocka_unit_test(test_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
