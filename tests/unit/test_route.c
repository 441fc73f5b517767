// SPDX-License-Identifier: Apache-2.0
/* Unit tests of capture/route.c: route_choose over [capture] method x the facts of a
 * process (signal usable or not; inspector usable, already open, refused for want of
 * the connect guard, or unusable), the text ps shows from the same choice, and the
 * inspector probe asked only when it decides the first route. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture/route.h"

enum insp { INSP_USABLE, INSP_OPEN, INSP_NEEDS_GUARD, INSP_UNUSABLE };

struct fake {
	enum insp insp;
	bool guard;
	int probes;
};

static void probe(void *ctx, struct route_facts *f)
{
	struct fake *k = ctx;

	k->probes++;
	f->inspector_usable = k->insp == INSP_USABLE || k->insp == INSP_OPEN;
	f->inspector.already_open = k->insp == INSP_OPEN;
	f->inspector.needs_guard = k->insp == INSP_NEEDS_GUARD;
	f->guard_available = k->guard;
	snprintf(f->why_inspector, sizeof(f->why_inspector), "%s",
		 k->insp == INSP_NEEDS_GUARD ? "inspector unguarded (no connect guard)" : "inspector port 9229 is taken");
}

struct run {
	struct route_choice c;
	struct route_facts f;
	struct fake k;
	char ps[1024];
};

static struct run choose(enum capture_method m, bool sig, enum insp insp, bool guard)
{
	struct run r = { .k = { .insp = insp, .guard = guard } };

	r.f.signal_usable = sig;
	snprintf(r.f.why_signal, sizeof(r.f.why_signal), "no --heapsnapshot-signal");
	route_choose(m, &r.f, probe, &r.k, &r.c);
	route_describe(&r.c, &r.f, SIGUSR2, r.ps, sizeof(r.ps));
	return r;
}

static void test_auto(void **state)
{
	(void)state;
	struct run r = choose(CAPTURE_AUTO, true, INSP_USABLE, true);
	assert_int_equal(r.c.n, 2);
	assert_int_equal(r.c.order[0], ROUTE_SIGNAL);
	assert_int_equal(r.c.order[1], ROUTE_INSPECTOR);
	assert_int_equal(r.c.reason, ROUTE_BECAUSE_SIGNAL_FIRST);
	assert_int_equal(r.k.probes, 0); /* the fallback is asked when it is reached */
	assert_string_equal(r.ps, "signal SIGUSR2");

	r = choose(CAPTURE_AUTO, false, INSP_USABLE, true);
	assert_int_equal(r.c.n, 1);
	assert_int_equal(r.c.order[0], ROUTE_INSPECTOR);
	assert_int_equal(r.c.reason, ROUTE_BECAUSE_NO_SIGNAL);
	assert_int_equal(r.k.probes, 1);
	assert_string_equal(r.ps, "inspector (guarded)");

	r = choose(CAPTURE_AUTO, false, INSP_USABLE, false);
	assert_string_equal(r.ps, "inspector (UNGUARDED: inspector_unguarded = on)");
	r = choose(CAPTURE_AUTO, false, INSP_OPEN, true);
	assert_string_equal(r.ps, "inspector (already open: not guarded, the operator's)");

	r = choose(CAPTURE_AUTO, false, INSP_UNUSABLE, true);
	assert_int_equal(r.c.n, 0);
	assert_int_equal(r.c.reason, ROUTE_NONE_UNUSABLE);
	assert_string_equal(r.ps, "none: no --heapsnapshot-signal; inspector port 9229 is taken");

	/* the refusal for want of the guard is the reason that matters: said first */
	r = choose(CAPTURE_AUTO, false, INSP_NEEDS_GUARD, false);
	assert_int_equal(r.c.n, 0);
	assert_int_equal(r.c.reason, ROUTE_NONE_UNGUARDED);
	assert_string_equal(r.ps, "none: inspector unguarded (no connect guard); no --heapsnapshot-signal");
}

static void test_method_signal(void **state)
{
	(void)state;
	for (int insp = INSP_USABLE; insp <= INSP_UNUSABLE; insp++) {
		struct run r = choose(CAPTURE_SIGNAL, true, (enum insp)insp, true);
		assert_int_equal(r.c.n, 1);
		assert_int_equal(r.c.order[0], ROUTE_SIGNAL);
		assert_int_equal(r.c.reason, ROUTE_BECAUSE_METHOD_SIGNAL);
		assert_int_equal(r.k.probes, 0); /* method = signal never looks at the inspector */

		/* was "inspector (guarded)" in ps, for a process whose capture never uses it */
		r = choose(CAPTURE_SIGNAL, false, (enum insp)insp, true);
		assert_int_equal(r.c.n, 0);
		assert_int_equal(r.c.reason, ROUTE_NONE_METHOD_SIGNAL);
		assert_int_equal(r.k.probes, 0);
		assert_string_equal(r.ps, "none: no --heapsnapshot-signal (method = signal)");
	}
}

static void test_method_inspector(void **state)
{
	(void)state;
	struct run r = choose(CAPTURE_INSPECTOR, true, INSP_USABLE, true);
	assert_int_equal(r.c.n, 2);
	assert_int_equal(r.c.order[0], ROUTE_INSPECTOR);
	assert_int_equal(r.c.order[1], ROUTE_SIGNAL);
	assert_int_equal(r.c.reason, ROUTE_BECAUSE_METHOD_INSPECTOR);
	assert_string_equal(r.ps, "inspector (guarded)"); /* was "signal SIGUSR2" */

	r = choose(CAPTURE_INSPECTOR, false, INSP_USABLE, true);
	assert_int_equal(r.c.n, 1);
	assert_int_equal(r.c.order[0], ROUTE_INSPECTOR);

	r = choose(CAPTURE_INSPECTOR, true, INSP_NEEDS_GUARD, false);
	assert_int_equal(r.c.n, 1);
	assert_int_equal(r.c.order[0], ROUTE_SIGNAL);
	assert_int_equal(r.c.reason, ROUTE_BECAUSE_INSPECTOR_UNUSABLE);
	assert_string_equal(r.ps, "signal SIGUSR2");

	r = choose(CAPTURE_INSPECTOR, false, INSP_NEEDS_GUARD, false);
	assert_int_equal(r.c.n, 0);
	assert_int_equal(r.c.reason, ROUTE_NONE_UNGUARDED);
	assert_int_equal(r.k.probes, 1);
}

static void test_names(void **state)
{
	enum route r;
	(void)state;
	assert_string_equal(route_name(ROUTE_NONE), "none");
	assert_string_equal(route_name(ROUTE_SIGNAL), "signal");
	assert_string_equal(route_name(ROUTE_INSPECTOR), "inspector");
	assert_int_equal(route_from_name("inspector", &r), 0);
	assert_int_equal(r, ROUTE_INSPECTOR);
	assert_int_equal(route_from_name("bogus", &r), -EINVAL);
	for (int i = 0; i < ROUTE_REASONS; i++)
		assert_string_not_equal(route_reason_text((enum route_reason)i), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_method_signal),
		cmocka_unit_test(test_method_inspector),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
