// SPDX-License-Identifier: Apache-2.0
/* The one route choice (see route.h). Pure: the inspector's facts come from the probe. */
#include "capture/route.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/strtab.h"

static const char *const route_names[] = {
	[ROUTE_NONE] = "none",
	[ROUTE_SIGNAL] = "signal",
	[ROUTE_INSPECTOR] = "inspector",
};

const char *route_name(enum route r)
{
	return STRTAB_NAME(route_names, r, "none");
}

int route_from_name(const char *s, enum route *out)
{
	int i = STRTAB_FIND(route_names, s);

	if (i < 0)
		return i;
	*out = (enum route)i;
	return 0;
}

static const char *const reason_texts[] = {
	[ROUTE_BECAUSE_SIGNAL_FIRST] = "the process's heap snapshot signal first, the inspector its fallback",
	[ROUTE_BECAUSE_NO_SIGNAL] = "no heap snapshot signal: the inspector",
	[ROUTE_BECAUSE_METHOD_SIGNAL] = "method = signal: the heap snapshot signal only",
	[ROUTE_BECAUSE_METHOD_INSPECTOR] = "method = inspector: the inspector first, the signal its fallback",
	[ROUTE_BECAUSE_INSPECTOR_UNUSABLE] = "method = inspector, but the inspector cannot be used: the signal",
	[ROUTE_NONE_METHOD_SIGNAL] = "no capture route: no usable heap snapshot signal (method = signal)",
	[ROUTE_NONE_UNGUARDED] = "no capture route: the inspector would be unguarded, and no heap snapshot signal",
	[ROUTE_NONE_UNUSABLE] = "no capture route: neither the signal nor the inspector can be used",
};

const char *route_reason_text(enum route_reason r)
{
	return STRTAB_NAME(reason_texts, r, "unknown");
}

static bool inspector_usable(struct route_facts *f, route_inspector_probe probe, void *ctx)
{
	if (!f->inspector_asked && probe)
		probe(ctx, f);
	f->inspector_asked = true;
	return f->inspector_usable;
}

static void add(struct route_choice *c, enum route r)
{
	if (c->n < ROUTE_MAX)
		c->order[c->n++] = r;
}

void route_choose(enum capture_method method, struct route_facts *f, route_inspector_probe probe, void *ctx,
		  struct route_choice *out)
{
	memset(out, 0, sizeof(*out));
	switch (method) {
	case CAPTURE_SIGNAL:
		if (f->signal_usable)
			add(out, ROUTE_SIGNAL);
		out->reason = f->signal_usable ? ROUTE_BECAUSE_METHOD_SIGNAL : ROUTE_NONE_METHOD_SIGNAL;
		return;
	case CAPTURE_INSPECTOR:
		if (inspector_usable(f, probe, ctx))
			add(out, ROUTE_INSPECTOR);
		if (f->signal_usable)
			add(out, ROUTE_SIGNAL);
		out->reason = f->inspector_usable ? ROUTE_BECAUSE_METHOD_INSPECTOR : ROUTE_BECAUSE_INSPECTOR_UNUSABLE;
		break;
	case CAPTURE_AUTO:
	default:
		if (f->signal_usable) {
			add(out, ROUTE_SIGNAL);
			add(out, ROUTE_INSPECTOR); /* the fallback, asked when it is reached */
			out->reason = ROUTE_BECAUSE_SIGNAL_FIRST;
			return;
		}
		if (inspector_usable(f, probe, ctx))
			add(out, ROUTE_INSPECTOR);
		out->reason = ROUTE_BECAUSE_NO_SIGNAL;
		break;
	}
	if (out->n == 0)
		out->reason = f->inspector.needs_guard ? ROUTE_NONE_UNGUARDED : ROUTE_NONE_UNUSABLE;
}

void route_why_none(const struct route_choice *c, const struct route_facts *f, char *out, size_t outlen)
{
	switch (c->reason) {
	case ROUTE_NONE_METHOD_SIGNAL:
		snprintf(out, outlen, "%s (method = signal)", f->why_signal);
		break;
	case ROUTE_NONE_UNGUARDED:
		snprintf(out, outlen, "%s; %s", f->why_inspector, f->why_signal);
		break;
	default:
		snprintf(out, outlen, "%s; %s", f->why_signal, f->why_inspector);
		break;
	}
}

enum route_inspector_kind route_inspector_kind(const struct route_facts *f)
{
	if (f->inspector.already_open)
		return ROUTE_INSPECTOR_OPERATORS;
	return f->guard_available ? ROUTE_INSPECTOR_GUARDED : ROUTE_INSPECTOR_UNGUARDED;
}

static const char *const kind_names[] = {
	[ROUTE_INSPECTOR_GUARDED] = "inspector (guarded)",
	[ROUTE_INSPECTOR_UNGUARDED] = "inspector (UNGUARDED: inspector_unguarded = on)",
	[ROUTE_INSPECTOR_OPERATORS] = "inspector (already open: not guarded, the operator's)",
};

const char *route_inspector_kind_name(enum route_inspector_kind k)
{
	return STRTAB_NAME(kind_names, k, "inspector");
}

void route_describe(const struct route_choice *c, const struct route_facts *f, int signal, char *out,
		    size_t outlen)
{
	char why[720];

	if (c->n == 0) {
		route_why_none(c, f, why, sizeof(why));
		snprintf(out, outlen, "none: %s", why);
	} else if (c->order[0] == ROUTE_SIGNAL) {
		const char *abbrev = signal > 0 ? sigabbrev_np(signal) : NULL;
		snprintf(out, outlen, "signal SIG%s", abbrev ? abbrev : "?");
	} else {
		snprintf(out, outlen, "%s", route_inspector_kind_name(route_inspector_kind(f)));
	}
}
