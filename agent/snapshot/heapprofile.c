// SPDX-License-Identifier: Apache-2.0
/* Allocation sites of a sampling heap profile (see heapprofile.h). The profile is
 * small (the target prunes it to the nodes with live samples before sending), so it
 * is parsed whole with jansson. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/heapprofile.h"

struct pnode {
	const json_t *frame;     /* callFrame */
	long parent;             /* index, -1 for the head */
	uint64_t self;
	uint64_t samples;
	json_int_t id;
};

struct site {
	long node;               /* the site's frame's node */
	long heaviest;           /* the stack with the most bytes through it */
	uint64_t heaviest_bytes, bytes, samples;
};

static const char *fstr(const json_t *frame, const char *key)
{
	const char *v = json_string_value(json_object_get(frame, key));
	return v ? v : "";
}

static const char *frame_kind(const json_t *frame)
{
	const char *url = fstr(frame, "url");
	if (!url[0])
		return "v8";
	if (strncmp(url, "node:", 5) == 0)
		return "node";
	if (strstr(url, "/node_modules/"))
		return "module";
	return "app";
}

/* Nodes of the call tree in preorder, parents first. -ENOMEM or -EINVAL. */
static int flatten(const json_t *head, struct pnode **out, size_t *n_out)
{
	size_t cap = 256, n = 0, sp = 0;
	struct pnode *v = malloc(cap * sizeof(*v));
	const json_t **stack = malloc(cap * sizeof(*stack));
	long *stack_parent = malloc(cap * sizeof(*stack_parent));
	int rc = -ENOMEM;
	if (!v || !stack || !stack_parent)
		goto fail;
	stack[sp] = head;
	stack_parent[sp++] = -1;
	while (sp > 0) {
		const json_t *node = stack[--sp];
		long parent = stack_parent[sp];
		const json_t *children = json_object_get(node, "children");
		if (!json_is_object(node) || !json_is_object(json_object_get(node, "callFrame"))) {
			rc = -EINVAL;
			goto fail;
		}
		if (n == cap || sp + json_array_size(children) >= cap) {
			size_t grown = (cap + json_array_size(children)) * 2;
			struct pnode *nv = realloc(v, grown * sizeof(*v));
			if (nv)
				v = nv;
			const json_t **ns = realloc(stack, grown * sizeof(*stack));
			if (ns)
				stack = ns;
			long *np = realloc(stack_parent, grown * sizeof(*np));
			if (np)
				stack_parent = np;
			if (!nv || !ns || !np)
				goto fail;
			cap = grown;
		}
		v[n] = (struct pnode){ .frame = json_object_get(node, "callFrame"), .parent = parent,
				       .self = (uint64_t)json_number_value(json_object_get(node, "selfSize")),
				       .id = json_integer_value(json_object_get(node, "id")) };
		size_t i;
		const json_t *c;
		json_array_foreach(children, i, c) {
			stack[sp] = c;
			stack_parent[sp++] = (long)n;
		}
		n++;
	}
	free(stack);
	free(stack_parent);
	*out = v;
	*n_out = n;
	return 0;
fail:
	free(v);
	free(stack);
	free(stack_parent);
	return rc;
}

/* samples[] -> per node sample counts (ids are small: V8 numbers them from 1). */
static void count_samples(const json_t *samples, struct pnode *v, size_t n)
{
	json_int_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].id > max)
			max = v[i].id;
	if (max <= 0 || (uint64_t)max > 16 * (uint64_t)n + 1024)
		return;
	long *at = malloc(((size_t)max + 1) * sizeof(*at));
	if (!at)
		return;
	memset(at, 0xff, ((size_t)max + 1) * sizeof(*at));
	for (size_t i = 0; i < n; i++)
		if (v[i].id > 0)
			at[v[i].id] = (long)i;
	size_t i;
	const json_t *s;
	json_array_foreach(samples, i, s) {
		json_int_t id = json_integer_value(json_object_get(s, "nodeId"));
		if (id > 0 && id <= max && at[id] >= 0)
			v[at[id]].samples++;
	}
	free(at);
}

/* The first app frame from node i up (i itself when none is the service's). */
static long site_of(const struct pnode *v, long i)
{
	for (long x = i; x >= 0 && v[x].parent >= 0; x = v[x].parent)
		if (strcmp(frame_kind(v[x].frame), "app") == 0)
			return x;
	return i;
}

static bool same_frame(const json_t *a, const json_t *b)
{
	return strcmp(fstr(a, "url"), fstr(b, "url")) == 0 && strcmp(fstr(a, "functionName"), fstr(b, "functionName")) == 0 &&
	       json_integer_value(json_object_get(a, "lineNumber")) == json_integer_value(json_object_get(b, "lineNumber")) &&
	       json_integer_value(json_object_get(a, "columnNumber")) == json_integer_value(json_object_get(b, "columnNumber"));
}

static const char *short_url(const char *url)
{
	if (strncmp(url, "file://", 7) == 0)
		url += 7;
	const char *slash = strrchr(url, '/');
	return slash && strncmp(url, "node:", 5) != 0 ? slash + 1 : url;
}

static json_t *frame_json(const json_t *frame)
{
	const char *url = fstr(frame, "url");
	return json_pack("{s:s, s:s, s:I, s:I, s:s}", "function", fstr(frame, "functionName"),
			 "url", strncmp(url, "file://", 7) == 0 ? url + 7 : url,
			 "line", json_integer_value(json_object_get(frame, "lineNumber")) + 1,
			 "column", json_integer_value(json_object_get(frame, "columnNumber")) + 1,
			 "kind", frame_kind(frame));
}

static void frame_text(const json_t *frame, char *buf, size_t len)
{
	const char *fn = fstr(frame, "functionName");
	snprintf(buf, len, "%.80s %.120s:%lld:%lld", fn[0] ? fn : "(anonymous)", short_url(fstr(frame, "url")),
		 (long long)json_integer_value(json_object_get(frame, "lineNumber")) + 1,
		 (long long)json_integer_value(json_object_get(frame, "columnNumber")) + 1);
}

static json_t *site_json(const struct pnode *v, const struct site *s)
{
	json_t *frames = json_array();
	long x = s->heaviest;
	for (int k = 0; frames && x >= 0 && v[x].parent >= 0 && k < HS_STACK_FRAMES; k++, x = v[x].parent)
		json_array_append_new(frames, frame_json(v[x].frame));
	char site[260], caller[260] = "", text[700];
	frame_text(v[s->node].frame, site, sizeof(site));
	long up = v[s->node].parent;
	while (up >= 0 && v[up].parent >= 0 && strcmp(frame_kind(v[up].frame), "v8") == 0)
		up = v[up].parent;
	if (up >= 0 && v[up].parent >= 0)
		frame_text(v[up].frame, caller, sizeof(caller));
	snprintf(text, sizeof(text), "%s, %.1f MiB live (%llu samples)%s%s", site, s->bytes / 1048576.0,
		 (unsigned long long)s->samples, caller[0] ? " ← " : "", caller);
	json_t *f = frame_json(v[s->node].frame);
	json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:I, s:I, s:o, s:s}", "function", json_object_get(f, "function"),
			      "url", json_object_get(f, "url"), "line", json_object_get(f, "line"),
			      "column", json_object_get(f, "column"), "bytes", (json_int_t)s->bytes,
			      "samples", (json_int_t)s->samples, "frames", frames, "text", text);
	json_decref(f);
	return o;
}

static int cmp_site(const void *pa, const void *pb)
{
	const struct site *a = pa, *b = pb;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

/* Sites merged by their frame (one line reached by several callers is one site). */
static size_t collect_sites(const struct pnode *v, size_t n, struct site *sites)
{
	size_t ns = 0;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].self)
			continue;
		long at = site_of(v, (long)i);
		size_t k = 0;
		while (k < ns && !same_frame(v[sites[k].node].frame, v[at].frame))
			k++;
		if (k == ns)
			sites[ns++] = (struct site){ .node = at, .heaviest = (long)i };
		sites[k].bytes += v[i].self;
		sites[k].samples += v[i].samples;
		if (v[i].self > sites[k].heaviest_bytes)
			sites[k].heaviest_bytes = v[i].self, sites[k].heaviest = (long)i;
	}
	return ns;
}

json_t *hs_heapprofile_stacks(const char *text, size_t top, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *p = json_loads(text, 0, &jerr), *out = NULL;
	struct pnode *v = NULL;
	struct site *sites = NULL;
	size_t n = 0;
	int rc;
	if (!json_is_object(p) || !json_is_object(json_object_get(p, "head"))) {
		snprintf(err, errlen, "not a sampling heap profile%s%s", p ? "" : ": ", p ? "" : jerr.text);
		goto done;
	}
	if ((rc = flatten(json_object_get(p, "head"), &v, &n)) < 0) {
		snprintf(err, errlen, rc == -ENOMEM ? "out of memory" : "malformed sampling heap profile");
		goto done;
	}
	count_samples(json_object_get(p, "samples"), v, n);
	sites = malloc((n ? n : 1) * sizeof(*sites));
	if (!sites || !(out = json_array())) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	size_t ns = collect_sites(v, n, sites);
	qsort(sites, ns, sizeof(*sites), cmp_site);
	for (size_t i = 0; i < ns && i < top; i++)
		if (json_array_append_new(out, site_json(v, &sites[i])) < 0) {
			json_decref(out);
			out = NULL;
			snprintf(err, errlen, "out of memory");
			break;
		}
done:
	free(v);
	free(sites);
	json_decref(p);
	return out;
}
