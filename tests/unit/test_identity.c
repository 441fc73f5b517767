// SPDX-License-Identifier: Apache-2.0
/* Unit tests of base/identity.c through the way the agent reaches it: argv as
 * /proc/PID/cmdline gives it, parsed by node_opts_parse, named by identity_app. The
 * same name is the snapshot metadata's `app`, the metric/alert `app` label and the
 * bucket index's app, so each shape below pins all of them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/identity.h"
#include "track/procs.h"

#define ID "3f4e1a2b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8"

/* argv words separated by '|' (as /proc/PID/cmdline separates them by NUL). */
static const char *app_of(const char *words, const char *node_options)
{
	static char argv[1024], out[IDENTITY_LEN];
	static struct node_opts o;
	size_t n = strlen(words);

	memcpy(argv, words, n + 1);
	for (size_t i = 0; i < n; i++)
		if (argv[i] == '|')
			argv[i] = '\0';
	node_opts_parse(argv, n + 1, node_options, &o);
	identity_app(o.script, o.eval, out);
	return out;
}

static void test_argv_shapes(void **state)
{
	(void)state;
	assert_string_equal(app_of("node|app.js", NULL), "app");
	assert_string_equal(app_of("node|leak.js", NULL), "leak");
	/* an option's value is no script (the metric label was "SIGUSR2") */
	assert_string_equal(app_of("node|--heapsnapshot-signal|SIGUSR2|leak.js", NULL), "leak");
	assert_string_equal(app_of("node|--heapsnapshot-signal=SIGUSR2|leak.js", NULL), "leak");
	assert_string_equal(app_of("node|-r|x|worker.js", NULL), "worker");
	assert_string_equal(app_of("node|--require|dotenv/config|dist/main.js", NULL), "dist");
	assert_string_equal(app_of("node|--max-old-space-size|512|billing.cjs", NULL), "billing");
	assert_string_equal(app_of("node|--inspect=0.0.0.0:9230|dist/server.mjs", NULL), "dist");
	assert_string_equal(app_of("/usr/bin/node|/srv/checkout/index.js|--port|3000", NULL), "checkout");
	/* npm-style: npm, npx, a package's bin */
	assert_string_equal(app_of("node|/usr/lib/node_modules/npm/bin/npm-cli.js|start", NULL), "npm");
	assert_string_equal(app_of("node|/app/node_modules/@nestjs/cli/bin/nest.js|start", NULL), "@nestjs/cli");
	assert_string_equal(app_of("node|/a/node_modules/x/node_modules/next/dist/bin/next", NULL), "next");
	assert_string_equal(app_of("node|/app/node_modules/.bin/tsx|src/x.ts", NULL), "tsx");
	/* no script */
	assert_string_equal(app_of("node|-e|setInterval(()=>{},1000)", NULL), "[eval]");
	assert_string_equal(app_of("node|-p|1+1", NULL), "[eval]");
	assert_string_equal(app_of("node", NULL), "node");
	assert_string_equal(app_of("node|--inspect", NULL), "node");
	assert_string_equal(app_of("node|-", NULL), "node");
	/* the script's own arguments are not Node's */
	assert_string_equal(app_of("node|app.js|-e|x", NULL), "app");
	/* NODE_OPTIONS never names the script */
	assert_string_equal(app_of("node|svc.js", "--require x.js"), "svc");
}

static void test_script_rule(void **state)
{
	char out[IDENTITY_LEN];
	(void)state;
	identity_app("/srv/checkout/dist/worker.js", false, out);
	assert_string_equal(out, "worker");
	identity_app("server.mjs", false, out);
	assert_string_equal(out, "server");
	identity_app("./app.js", false, out);
	assert_string_equal(out, "app");
	identity_app("/usr/lib/node_modules/pm2/bin/pm2", false, out);
	assert_string_equal(out, "pm2");
	identity_app(".js", false, out);
	assert_string_equal(out, ".js");
	identity_app("dir/", false, out);
	assert_string_equal(out, "node");
	/* found by fuzz_proc_cmdline: an empty package name is none */
	identity_app("e-hp-node_modules//server-/server.js", false, out);
	assert_string_equal(out, "server-");
	identity_app("/x/node_modules/@scope//a.js", false, out);
	assert_string_equal(out, "a");
	/* bounded: a long name is cut to the one size */
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	identity_app(longname, false, out);
	assert_int_equal(strlen(out), IDENTITY_LEN - 1);
}

static void test_container(void **state)
{
	struct identity id;
	char shrt[IDENTITY_CONTAINER_SHORT + 1];
	(void)state;
	identity_of("leak.js", false, "0::/system.slice/docker-" ID ".scope", &id);
	assert_string_equal(id.app, "leak");
	assert_string_equal(id.container_id, ID);
	identity_container_short(id.container_id, shrt);
	assert_string_equal(shrt, "3f4e1a2b5c6d");
	identity_of("", false, "0::/kubepods/besteffort/pod1/cri-containerd-" ID ".scope", &id);
	assert_string_equal(id.container_id, ID);
	identity_of("", false, "0::/user.slice/user-0.slice/session-1.scope", &id);
	assert_string_equal(id.container_id, "");
	identity_container_short(id.container_id, shrt);
	assert_string_equal(shrt, "");
	identity_of("", false, "0::/docker/" ID "0", &id); /* 65 hex digits is not an id */
	assert_string_equal(id.container_id, "");
	identity_of("", false, NULL, &id);
	assert_string_equal(id.container_id, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_shapes),
		cmocka_unit_test(test_script_rule),
		cmocka_unit_test(test_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
