// SPDX-License-Identifier: Apache-2.0
/* Process labels for snapshot metadata (see labels.h). */
#include "track/labels.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The last 64-hex run in the path that starts a component or follows a runtime's
 * "NAME-" prefix and ends the component or ".scope". */
static void container_id(const char *path, char *out, size_t outlen)
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-", "" };

	for (const char *comp = path; comp && *comp; comp = strchr(comp, '/')) {
		if (*comp == '/')
			comp++;
		for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
			size_t pl = strlen(prefixes[p]);
			const char *id = comp + pl;

			if (strncmp(comp, prefixes[p], pl) != 0 || strlen(id) < 64 || !is_hex(id, 64))
				continue;
			if (id[64] != '\0' && id[64] != '/' && strncmp(id + 64, ".scope", 6) != 0)
				continue;
			snprintf(out, outlen, "%.64s", id);
			break;
		}
	}
}

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

void labels_container_id(const char *cgroup, char *out, size_t outlen)
{
	const char *path = strchr(cgroup, '/');

	out[0] = '\0';
	if (path)
		container_id(path, out, outlen);
}

void labels_from_cgroup(const char *cgroup, struct labels *out)
{
	const char *path = strchr(cgroup, '/');

	if (!path)
		return;
	container_id(path, out->container_id, sizeof(out->container_id));
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

void labels_app_name(const char *script, bool file_name, char *out, size_t outlen)
{
	const char *nm = NULL, *p, *base;
	char name[128];
	size_t n;

	for (p = strstr(script, "node_modules/"); p; p = strstr(p + 1, "node_modules/"))
		nm = p + strlen("node_modules/");
	if (nm && *nm && strncmp(nm, ".bin/", 5) != 0) {
		const char *end = strchr(*nm == '@' ? (strchr(nm, '/') ? strchr(nm, '/') + 1 : nm) : nm, '/');

		n = end ? (size_t)(end - nm) : strlen(nm);
		snprintf(out, outlen, "%.*s", (int)n, nm);
		return;
	}
	base = strrchr(script, '/');
	base = base ? base + 1 : script;
	if (file_name) {
		snprintf(out, outlen, "%s", base);
		return;
	}
	snprintf(name, sizeof(name), "%s", base);
	n = strlen(name);
	static const char *const exts[] = { ".js", ".mjs", ".cjs" };
	for (size_t i = 0; i < 3; i++) {
		size_t el = strlen(exts[i]);
		if (n > el && strcmp(name + n - el, exts[i]) == 0) {
			name[n - el] = '\0';
			break;
		}
	}
	static const char *const generic[] = { "index", "main", "server", "app" };
	for (size_t i = 0; i < 4 && base > script; i++) {
		if (strcmp(name, generic[i]) != 0)
			continue;
		const char *dend = base - 1, *dstart = dend;

		while (dstart > script && dstart[-1] != '/')
			dstart--;
		if (dend > dstart && !(dend - dstart == 1 && *dstart == '.')) {
			snprintf(out, outlen, "%.*s", (int)(dend - dstart), dstart);
			return;
		}
	}
	snprintf(out, outlen, "%s", name);
}

void labels_app(const char *script, struct labels *out)
{
	if (script[0])
		labels_app_name(script, false, out->app, sizeof(out->app));
}
