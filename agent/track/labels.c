// SPDX-License-Identifier: Apache-2.0
/* Process labels for snapshot metadata (see labels.h). */
#include "track/labels.h"

#include "base/identity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* "pod" + uid (36 chars, '-' or '_') in a kubepods path. */
static void pod_uid(const char *path, char *out, size_t outlen)
{
	if (!strstr(path, "kubepods"))
		return;
	for (const char *p = strstr(path, "pod"); p; p = strstr(p + 1, "pod")) {
		const char *u = p + 3;
		char uid[37];
		size_t n = 0;

		while (n < 36 && ((u[n] >= '0' && u[n] <= '9') || (u[n] >= 'a' && u[n] <= 'f') || u[n] == '-' ||
				  u[n] == '_'))
			n++;
		if (n != 36 || (u[36] != '/' && u[36] != '.' && u[36] != '\0'))
			continue;
		for (size_t i = 0; i < 36; i++)
			uid[i] = u[i] == '_' ? '-' : u[i];
		uid[36] = '\0';
		if (uid[8] == '-' && uid[13] == '-' && uid[18] == '-' && uid[23] == '-')
			snprintf(out, outlen, "%s", uid);
	}
}

void labels_from_cgroup(const char *cgroup, struct labels *out)
{
	const char *path = strchr(cgroup, '/');

	if (!path)
		return;
	identity_container_id(cgroup, out->container_id);
	pod_uid(path, out->pod_uid, sizeof(out->pod_uid));
}

const char *labels_env_value(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < len;) {
		const char *entry = env + i;
		size_t el = strnlen(entry, len - i);

		if (el > nl && strncmp(entry, name, nl) == 0 && entry[nl] == '=')
			return entry + nl + 1;
		i += el + 1;
	}
	return NULL;
}

static void set(char *dst, size_t len, const char *v)
{
	if (v && !dst[0])
		snprintf(dst, len, "%s", v);
}

void labels_from_env(const char *env, size_t len, struct labels *out)
{
	set(out->pod_name, sizeof(out->pod_name), labels_env_value(env, len, "POD_NAME"));
	set(out->pod_namespace, sizeof(out->pod_namespace), labels_env_value(env, len, "POD_NAMESPACE"));
	set(out->container_name, sizeof(out->container_name), labels_env_value(env, len, "CONTAINER_NAME"));
	if (out->pod_uid[0] || labels_env_value(env, len, "KUBERNETES_SERVICE_HOST"))
		set(out->pod_name, sizeof(out->pod_name), labels_env_value(env, len, "HOSTNAME"));
}
