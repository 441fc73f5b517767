// SPDX-License-Identifier: Apache-2.0
/* The capture route: one type for the routes (what a capture runs, what its events
 * and journal name, what `heapsnap ps` shows) and one choice, route_choose(), made
 * from [capture] method and the facts of one process. The capture orchestrator and
 * the state socket both ask it, so ps shows the route a capture would take.
 *
 * The choice, by method:
 *   auto       the process's own heap snapshot signal when it has one (V8 writes at
 *              native speed, no port is opened), the inspector its fallback; else the
 *              inspector.
 *   signal     the signal only: the agent never opens an inspector.
 *   inspector  the inspector, the signal (if any) its fallback; the signal alone when
 *              the inspector cannot be used.
 * Whether the inspector can be used costs a scan of the host's sockets (10-20 ms):
 * route_choose asks for it (the probe) only when it decides the first route; as a
 * fallback it is asked when the fallback is reached. */
#ifndef HS_CAPTURE_ROUTE_CHOICE_H
#define HS_CAPTURE_ROUTE_CHOICE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"

enum route {
	ROUTE_NONE = 0,                /* no route (events say "none"); a new capture, not a resumed one */
	ROUTE_SIGNAL,                  /* --heapsnapshot-signal: V8 writes the file */
	ROUTE_INSPECTOR,               /* the inspector's HeapProfiler.takeHeapSnapshot */
};
#define ROUTE_MAX 2

/* "none", "signal", "inspector": the `method` of events, metrics, metadata, journals. */
const char *route_name(enum route r);
/* route_name backwards; -EINVAL for anything else. */
int route_from_name(const char *s, enum route *out);

/* What the inspector check found besides usable/not (capture_inspector_usable). */
struct inspector_verdict {
	bool already_open;             /* it listens now (the operator's, or about to be: --inspect) */
	bool needs_guard;              /* refused: the agent would open it without the connect guard */
};

/* How the inspector route would run, as ps shows it. */
enum route_inspector_kind {
	ROUTE_INSPECTOR_GUARDED,       /* the agent opens it behind the connect guard */
	ROUTE_INSPECTOR_UNGUARDED,     /* no connect guard, inspector_unguarded = on */
	ROUTE_INSPECTOR_OPERATORS,     /* open before the agent came: used as it is */
};

enum route_reason {
	ROUTE_BECAUSE_SIGNAL_FIRST,        /* auto: the process's own signal, the inspector the fallback */
	ROUTE_BECAUSE_NO_SIGNAL,           /* auto: no signal route, the inspector */
	ROUTE_BECAUSE_METHOD_SIGNAL,       /* method = signal: the signal only */
	ROUTE_BECAUSE_METHOD_INSPECTOR,    /* method = inspector: the inspector, the signal the fallback */
	ROUTE_BECAUSE_INSPECTOR_UNUSABLE,  /* method = inspector, which cannot be used: the signal */
	ROUTE_NONE_METHOD_SIGNAL,          /* none: method = signal and no usable signal */
	ROUTE_NONE_UNGUARDED,              /* none: no signal; the inspector would be unguarded */
	ROUTE_NONE_UNUSABLE,               /* none: neither route can be used */
	ROUTE_REASONS,
};
/* A short sentence for logs and `ps --json`'s route_reason. */
const char *route_reason_text(enum route_reason r);

/* The facts of one process, filled by the caller (signal) and by the probe (inspector). */
struct route_facts {
	bool signal_usable;            /* capture_signal_usable and not unanswered */
	char why_signal[256];          /* why not */
	bool inspector_asked;          /* the probe ran: the fields below are set */
	bool inspector_usable;
	struct inspector_verdict inspector;
	bool guard_available;          /* the connect guard works here */
	char why_inspector[400];       /* why not */
};

/* Fills f->inspector_* (and guard_available), setting f->inspector_asked. */
typedef void (*route_inspector_probe)(void *ctx, struct route_facts *f);

struct route_choice {
	enum route order[ROUTE_MAX];   /* the routes to try, first to last */
	int n;                         /* how many: 0 = none (see route_why_none) */
	enum route_reason reason;
};

/* The routes for method and f, in order. probe is called at most once. */
void route_choose(enum capture_method method, struct route_facts *f, route_inspector_probe probe, void *ctx,
		  struct route_choice *out);

/* n == 0: why there is no route ("SIGNAL-WHY; INSPECTOR-WHY", the deciding reason first;
 * "SIGNAL-WHY (method = signal)"). */
void route_why_none(const struct route_choice *c, const struct route_facts *f, char *out, size_t outlen);

/* The inspector route's kind, once the probe ran and it is usable. */
enum route_inspector_kind route_inspector_kind(const struct route_facts *f);
const char *route_inspector_kind_name(enum route_inspector_kind k);

/* As `heapsnap ps` shows the first route: "signal SIGUSR2", "inspector (guarded)",
 * "none: WHY". signal: the process's --heapsnapshot-signal. */
void route_describe(const struct route_choice *c, const struct route_facts *f, int signal, char *out,
		    size_t outlen);

#endif
