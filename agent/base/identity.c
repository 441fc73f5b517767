// SPDX-License-Identifier: Apache-2.0
/* The one identity rule of a watched process (see identity.h). */
#include "base/identity.h"

#include <stdio.h>
#include <string.h>

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void identity_container_id(const char *cgroup, char *out)
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-", "" };
	const char *path = cgroup ? strchr(cgroup, '/') : NULL;

	out[0] = '\0';
	for (const char *comp = path; comp && *comp; comp = strchr(comp, '/')) {
		if (*comp == '/')
			comp++;
		for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
			size_t pl = strlen(prefixes[p]);
			const char *id = comp + pl;

			if (strncmp(comp, prefixes[p], pl) != 0 || strnlen(id, 65) < 64 || !is_hex(id, 64))
				continue;
			if (id[64] != '\0' && id[64] != '/' && strncmp(id + 64, ".scope", 6) != 0)
				continue;
			snprintf(out, IDENTITY_LEN, "%.64s", id);
			break;
		}
	}
}

void identity_container_short(const char *container_id, char out[IDENTITY_CONTAINER_SHORT + 1])
{
	snprintf(out, IDENTITY_CONTAINER_SHORT + 1, "%s", container_id);
}

/* The package under the last node_modules/ (@scope/pkg), or false. */
static bool package_name(const char *script, char *out)
{
	const char *nm = NULL;

	for (const char *p = strstr(script, "node_modules/"); p; p = strstr(p + 1, "node_modules/"))
		nm = p + strlen("node_modules/");
	if (!nm || !*nm || strncmp(nm, ".bin/", 5) == 0)
		return false;
	const char *from = nm;
	if (*nm == '@' && strchr(nm, '/'))
		from = strchr(nm, '/') + 1;
	const char *end = strchr(from, '/');
	size_t n = end ? (size_t)(end - nm) : strlen(nm);
	if (n == 0 || end == from)
		return false; /* "node_modules//x", "node_modules/@scope//x": no package name */
	snprintf(out, IDENTITY_LEN, "%.*s", (int)n, nm);
	return true;
}

static void drop_extension(char *name)
{
	static const char *const exts[] = { ".js", ".mjs", ".cjs" };
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t el = strlen(exts[i]);
		if (n > el && strcmp(name + n - el, exts[i]) == 0) {
			name[n - el] = '\0';
			return;
		}
	}
}

/* For index/main/server/app: the directory holding base, or false. */
static bool directory_name(const char *script, const char *base, const char *name, char *out)
{
	static const char *const generic[] = { "index", "main", "server", "app" };
	bool is_generic = false;

	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		is_generic |= strcmp(name, generic[i]) == 0;
	if (!is_generic || base == script)
		return false;
	const char *dend = base - 1, *dstart = dend;
	while (dstart > script && dstart[-1] != '/')
		dstart--;
	if (dend == dstart || (dend - dstart == 1 && *dstart == '.'))
		return false;
	snprintf(out, IDENTITY_LEN, "%.*s", (int)(dend - dstart), dstart);
	return true;
}

void identity_app(const char *script, bool eval, char *out)
{
	char name[IDENTITY_LEN];

	if (!script || !script[0]) {
		snprintf(out, IDENTITY_LEN, "%s", eval ? "[eval]" : "node");
		return;
	}
	if (package_name(script, out))
		return;
	const char *base = strrchr(script, '/');
	base = base ? base + 1 : script;
	snprintf(name, sizeof(name), "%s", base);
	drop_extension(name);
	if (!name[0] || !directory_name(script, base, name, out))
		snprintf(out, IDENTITY_LEN, "%s", name[0] ? name : "node");
}

void identity_of(const char *script, bool eval, const char *cgroup, struct identity *out)
{
	identity_app(script, eval, out->app);
	identity_container_id(cgroup, out->container_id);
}
