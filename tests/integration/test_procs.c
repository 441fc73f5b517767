// SPDX-License-Identifier: Apache-2.0
/* Unit tests of procs.c: signal names, the Node option parser over many argv and
 * NODE_OPTIONS cases, the Node version read from /usr/bin/node without running the
 * target (compared with `node --version`), the libnode.so fallback through
 * /proc/PID/maps, procs_read on a real node child, and the credentials and RSS
 * readers on ourselves and a reaped child. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "track/procs.h"

extern char **environ;

static struct node_opts o;

/* argv given as one string with '|' between words */
static void parse(const char *argv_bars, const char *node_options)
{
	char buf[1024];
	size_t n = strlen(argv_bars);
	assert_true(n < sizeof(buf));
	memcpy(buf, argv_bars, n + 1);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	node_opts_parse(buf, n + 1, node_options, &o);
}

static void test_signal_names(void **state)
{
	(void)state;
	assert_int_equal(signal_from_name("SIGUSR2"), SIGUSR2);
	assert_int_equal(signal_from_name("USR2"), SIGUSR2);
	assert_int_equal(signal_from_name("sigusr1"), SIGUSR1);
	assert_int_equal(signal_from_name("SIGTERM"), SIGTERM);
	assert_int_equal(signal_from_name("SIGPROF"), SIGPROF);
	assert_int_equal(signal_from_name("12"), 12);
	assert_int_equal(signal_from_name("1"), 1);
	assert_int_equal(signal_from_name("0"), 0);
	assert_int_equal(signal_from_name("65"), 0);
	assert_int_equal(signal_from_name("12x"), 0);
	assert_int_equal(signal_from_name("SIGNOPE"), 0);
	assert_int_equal(signal_from_name("SIG"), 0);
	assert_int_equal(signal_from_name(""), 0);
	assert_int_equal(signal_from_name(NULL), 0);
}

static void test_opts_none(void **state)
{
	(void)state;
	memset(&o, 0xff, sizeof(o));
	parse("node|app.js", NULL);
	assert_int_equal(o.heapsnapshot_signal, 0);
	assert_string_equal(o.diagnostic_dir, "");
	assert_false(o.inspect);
	assert_string_equal(o.inspect_host, "");
	assert_int_equal(o.inspect_port, 0);
	assert_false(o.disable_sigusr1);
	assert_false(o.use_largepages);
	parse("node", NULL);
	assert_false(o.inspect);
	node_opts_parse("", 0, NULL, &o);
	assert_false(o.inspect);
	node_opts_parse("", 0, "", &o);
	assert_false(o.inspect);
}

static void test_opts_heapsnapshot_signal(void **state)
{
	(void)state;
	parse("node|--heapsnapshot-signal=SIGUSR2|app.js", NULL);
	assert_int_equal(o.heapsnapshot_signal, SIGUSR2);
	parse("node|--heapsnapshot-signal|SIGUSR1|app.js", NULL);
	assert_int_equal(o.heapsnapshot_signal, SIGUSR1);
	parse("node|--heapsnapshot_signal=SIGPROF|app.js", NULL);
	assert_int_equal(o.heapsnapshot_signal, SIGPROF);
	parse("node|--heapsnapshot-signal=BOGUS|app.js", NULL);
	assert_int_equal(o.heapsnapshot_signal, 0);
	parse("node|--heapsnapshot-signal", NULL); /* no value at all */
	assert_int_equal(o.heapsnapshot_signal, 0);
}

static void test_opts_after_script_do_not_count(void **state)
{
	(void)state;
	parse("node|app.js|--inspect|--heapsnapshot-signal=SIGUSR2", NULL);
	assert_false(o.inspect);
	assert_int_equal(o.heapsnapshot_signal, 0);
	parse("node|--|--inspect", NULL); /* "--" ends the options */
	assert_false(o.inspect);
	parse("node|-|--inspect", NULL); /* "-" = script from stdin */
	assert_false(o.inspect);
	parse("/usr/bin/node|/srv/app/server.js|--diagnostic-dir=/x", NULL);
	assert_string_equal(o.diagnostic_dir, "");
}

static void test_opts_value_options_skip_their_argument(void **state)
{
	(void)state;
	/* the argument of -r is not the script: options after it still count */
	parse("node|-r|dotenv/config|--inspect|app.js", NULL);
	assert_true(o.inspect);
	parse("node|--require|./x.js|--heapsnapshot-signal=SIGUSR2|app.js", NULL);
	assert_int_equal(o.heapsnapshot_signal, SIGUSR2);
	/* -e: no script; options continue up to the first non-option */
	parse("node|-e|setInterval(()=>{},1000)|--inspect=9230|foo|--disable-sigusr1", NULL);
	assert_true(o.inspect);
	assert_int_equal(o.inspect_port, 9230);
	assert_false(o.disable_sigusr1);
	parse("node|-p|1+1|--heapsnapshot-signal=SIGUSR2", NULL);
	assert_int_equal(o.heapsnapshot_signal, SIGUSR2);
	/* the value of -e looks like an option: still consumed as the value */
	parse("node|-e|--inspect|app.js", NULL);
	assert_false(o.inspect);
	parse("node|--import|tsx|--title|my app|--inspect|app.js", NULL);
	assert_true(o.inspect);
	/* boolean options do not take the next word */
	parse("node|--trace-gc|--expose-gc|app.js|--inspect", NULL);
	assert_false(o.inspect);
}

/* One command line each and what it must give; -1 / NULL: not checked. */
static const struct inspect_case {
	const char *argv;
	int inspect, port, random;
	const char *host;
} inspect_cases[] = {
	{ "node|--inspect|app.js", 1, 0, -1, "" },
	{ "node|--inspect=9333|app.js", 1, 9333, -1, NULL },
	{ "node|--inspect=0.0.0.0:9444|app.js", -1, 9444, -1, "0.0.0.0" },
	{ "node|--inspect=[::1]:9555|app.js", -1, 9555, -1, "::1" },
	{ "node|--inspect=localhost|app.js", -1, 0, -1, "localhost" },
	{ "node|--inspect-brk|app.js", 1, -1, -1, NULL },
	{ "node|--inspect-brk=127.0.0.1:1|app.js", -1, 1, -1, NULL },
	{ "node|--inspect-wait|app.js", 1, -1, -1, NULL },
	{ "node|--inspect_brk|app.js", 1, -1, -1, NULL },
	/* --inspect-port alone sets the port, not the inspector */
	{ "node|--inspect-port=9666|app.js", 0, 9666, -1, NULL },
	{ "node|--inspect-port|127.0.0.2:9777|app.js", -1, 9777, 0, "127.0.0.2" },
	/* port 0: Node picks a free port when the inspector opens; the last one given counts */
	{ "node|--inspect-port=0|app.js", 0, -1, 1, NULL },
	{ "node|--inspect=127.0.0.1:0|app.js", 1, -1, 1, NULL },
	{ "node|--inspect-port=0|--inspect-port=9229|app.js", -1, 9229, 0, NULL },
	{ "node|--inspect=99999|app.js", 1, 0, -1, NULL }, /* bad port: ignored */
	/* --inspector-something is not --inspect */
	{ "node|--inspect-publish-uid=http|app.js", 0, -1, -1, NULL },
};

static void test_opts_inspect_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(inspect_cases) / sizeof(inspect_cases[0]); i++) {
		const struct inspect_case *c = &inspect_cases[i];
		parse(c->argv, NULL);
		if (c->inspect >= 0 && o.inspect != (c->inspect == 1))
			fail_msg("%s: inspect %d, want %d", c->argv, o.inspect, c->inspect);
		if (c->port >= 0 && o.inspect_port != c->port)
			fail_msg("%s: port %d, want %d", c->argv, o.inspect_port, c->port);
		if (c->random >= 0 && o.inspect_port_random != (c->random == 1))
			fail_msg("%s: random port %d, want %d", c->argv, o.inspect_port_random, c->random);
		if (c->host && strcmp(o.inspect_host, c->host) != 0)
			fail_msg("%s: host \"%s\", want \"%s\"", c->argv, o.inspect_host, c->host);
	}
}

static void test_opts_misc(void **state)
{
	(void)state;
	parse("node|--disable-sigusr1|--use-largepages=on|--diagnostic-dir=/var/diag|app.js", NULL);
	assert_true(o.disable_sigusr1);
	assert_true(o.use_largepages);
	assert_string_equal(o.diagnostic_dir, "/var/diag");
	parse("node|--use-largepages=silent|app.js", NULL);
	assert_true(o.use_largepages);
	parse("node|--use-largepages=off|app.js", NULL);
	assert_false(o.use_largepages);
	parse("node|--use-largepages|on|--diagnostic-dir|/d d|app.js", NULL);
	assert_true(o.use_largepages);
	assert_string_equal(o.diagnostic_dir, "/d d");
	parse("node|--diagnostic-dir=|app.js", NULL);
	assert_string_equal(o.diagnostic_dir, "");
}

static void test_node_options_env(void **state)
{
	(void)state;
	parse("node|app.js", "--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/x");
	assert_int_equal(o.heapsnapshot_signal, SIGUSR2);
	assert_string_equal(o.diagnostic_dir, "/tmp/x");
	/* NODE_OPTIONS is read after argv: it wins */
	parse("node|--heapsnapshot-signal=SIGUSR1|--diagnostic-dir=/a|app.js", "--diagnostic-dir=/b");
	assert_int_equal(o.heapsnapshot_signal, SIGUSR1);
	assert_string_equal(o.diagnostic_dir, "/b");
	/* separate value, quotes, escapes, extra blanks */
	parse("node|app.js", "  --require \"./my path/x.js\"   --diagnostic-dir \"/with space/\\\"q\\\"\" --inspect ");
	assert_string_equal(o.diagnostic_dir, "/with space/\"q\"");
	assert_true(o.inspect);
	/* no script in NODE_OPTIONS: a stray word does not stop the parse */
	parse("node|app.js", "stray --disable-sigusr1");
	assert_true(o.disable_sigusr1);
	/* script arguments still do not count, whatever NODE_OPTIONS says */
	parse("node|app.js|--inspect", "--trace-gc");
	assert_false(o.inspect);
	parse("node|app.js", "--inspect-port=9229 --inspect=127.0.0.1:9300");
	assert_int_equal(o.inspect_port, 9300);
}

static void test_opts_argv_edge(void **state)
{
	(void)state;
	/* last argument without its NUL */
	const char argv[] = { 'n', 'o', 'd', 'e', '\0', '-', '-', 'i', 'n', 's', 'p', 'e', 'c', 't' };
	node_opts_parse(argv, sizeof(argv), NULL, &o);
	assert_true(o.inspect);
	/* a long diagnostic dir is truncated, not overflowed */
	char big[PATH_MAX + 200];
	int n = snprintf(big, sizeof(big), "node|--diagnostic-dir=");
	memset(big + n, 'd', sizeof(big) - n - 10);
	strcpy(big + sizeof(big) - 10, "|app.js");
	char buf[sizeof(big)];
	size_t len = strlen(big);
	memcpy(buf, big, len + 1);
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	node_opts_parse(buf, len + 1, NULL, &o);
	assert_int_equal(strlen(o.diagnostic_dir), PATH_MAX - 1);
}

/* --- version --------------------------------------------------------------- */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool node_version_cmd(char *out, size_t len)
{
	FILE *p = popen("node --version 2>/dev/null", "r");
	if (!p)
		return false;
	bool ok = fgets(out, (int)len, p) != NULL;
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
	return ok && out[0] == 'v';
}

static void test_version_usr_bin_node(void **state)
{
	(void)state;
	char want[64], got[32];
	if (access("/usr/bin/node", R_OK) != 0 || !node_version_cmd(want, sizeof(want)))
		skip();
	int64_t t0 = now_us();
	node_version_of_binary("/usr/bin/node", got, sizeof(got));
	int64_t t1 = now_us();
	assert_string_equal(got, want);
	node_version_of_binary("/usr/bin/node", got, sizeof(got));
	int64_t t2 = now_us();
	assert_string_equal(got, want);
	print_message("node_version_of_binary(/usr/bin/node): %lld us, cached %lld us\n", (long long)(t1 - t0),
		      (long long)(t2 - t1));
}

static void test_version_not_node(void **state)
{
	(void)state;
	char got[32] = "junk";
	node_version_of_binary("/bin/sh", got, sizeof(got));
	assert_string_equal(got, "");
	node_version_of_binary("/nonexistent", got, sizeof(got));
	assert_string_equal(got, "");
	node_version_of_binary("/proc/self", got, sizeof(got)); /* a directory */
	assert_string_equal(got, "");
	node_version_of_binary("/usr/bin/node", got, 4); /* truncated, terminated */
	if (got[0])
		assert_int_equal(strlen(got), 3);
}

static char tmpdir[] = "/tmp/test_procs.XXXXXX";

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_version_patterns(void **state)
{
	(void)state;
	char path[256], got[32];
	struct {
		const char *text, *want;
	} cases[] = {
		{ "xx https://nodejs.org/download/release/v18.20.4/node-v18.20.4.tar.gz yy", "v18.20.4" },
		{ "node-v0.x-archive/issues https://nodejs.org/download/release/v22.1.0/node-v22.1.0-headers.tar.gz", "v22.1.0" },
		/* a lone node-vX.Y.Z (no release dir) is the fallback */
		{ "// see /node-v0.x-archive then /pkg/node-v16.3.1.tar.gz", "v16.3.1" },
		{ "https://nodejs.org/download/rc/v23.0.0-rc.1/node-v23.0.0-rc.1.tar.gz", "v23.0.0-rc.1" },
		{ "only /node-v0.x-archive here", "" },
		{ "/release/v1.2/node-v1.2.tar.gz", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/blob%zu", tmpdir, i);
		write_file(path, cases[i].text, strlen(cases[i].text));
		node_version_of_binary(path, got, sizeof(got));
		assert_string_equal(got, cases[i].want);
	}
}

/* The scan reads in chunks (256 KiB): a match across a chunk boundary is found, and a
 * release URL in a later chunk beats a fallback in an earlier one. */
static void test_version_across_chunks(void **state)
{
	(void)state;
	static const char url[] = "https://nodejs.org/download/release/v20.1.2/node-v20.1.2.tar.gz";
	size_t size = (9u << 20);
	char *blob = calloc(1, size), path[256], got[32];
	assert_non_null(blob);
	memcpy(blob + 100, "/pkg/node-v9.9.9.tgz", 20);
	memcpy(blob + (4u << 20) - 30, url, sizeof(url) - 1);
	snprintf(path, sizeof(path), "%s/chunks", tmpdir);
	write_file(path, blob, size);
	node_version_of_binary(path, got, sizeof(got));
	assert_string_equal(got, "v20.1.2");
	free(blob);
}

/* A FIFO where the binary should be (what a process's owner can put at the path its
 * maps names): "" at once, never a blocking open. */
static void test_version_fifo(void **state)
{
	(void)state;
	char path[256], got[32] = "junk";
	snprintf(path, sizeof(path), "%s/libnode.so.108", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	node_version_of_binary(path, got, sizeof(got));
	alarm(0);
	assert_string_equal(got, "");
	unlink(path);
}

/* --- procs_read on real processes ------------------------------------------- */

struct child {
	pid_t pid;
	int out; /* read end of its stdout */
};

static void spawn_child(struct child *c, char *const argv[], char *const envp[])
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	assert_int_equal(posix_spawn(&c->pid, argv[0], &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	c->out = p[0];
}

/* Wait (bounded) for the child to print a line. */
static bool wait_ready(struct child *c, int timeout_ms)
{
	struct pollfd pf = { .fd = c->out, .events = POLLIN };
	char buf[64];
	return poll(&pf, 1, timeout_ms) == 1 && read(c->out, buf, sizeof(buf)) > 0;
}

static void stop_child(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0); /* SIGKILLed: bounded */
	close(c->out);
}

static void test_procs_read_node_child(void **state)
{
	(void)state;
	char want[64];
	if (access("/usr/bin/node", X_OK) != 0 || !node_version_cmd(want, sizeof(want)))
		skip();
	char script[256];
	snprintf(script, sizeof(script), "%s/app.js", tmpdir);
	const char js[] = "console.log('ready'); setInterval(() => {}, 1000);\n";
	write_file(script, js, sizeof(js) - 1);
	char *argv[] = { "/usr/bin/node", "--heapsnapshot-signal=SIGUSR2", script, "--inspect", NULL };
	char *envp[] = { "NODE_OPTIONS=--diagnostic-dir=/tmp/x", "PATH=/usr/bin:/bin", NULL };
	struct child c;
	spawn_child(&c, argv, envp);
	bool ready = wait_ready(&c, 10000);

	struct proc_info p, named, other;
	const char node_names[][16] = { "nodejs", "node" };
	int rc = procs_read(c.pid, &p);
	uint64_t start = 0;
	int rc2 = procs_start_time(c.pid, &start);
	uint64_t rss = procs_rss_bytes(c.pid);
	/* the exec path's one pass: the same facts, the exe's stat kept for the GC lookup */
	int rc_named = procs_read_named(c.pid, node_names, 2, "PATH=/usr/bin:/bin", true, &named);
	int rc_env = procs_read_named(c.pid, node_names, 2, "PATH=/nowhere", true, &other);
	int rc_name = procs_read_named(c.pid, node_names, 1, NULL, true, &other);
	stop_child(&c);
	struct stat exe_st;
	assert_int_equal(stat("/usr/bin/node", &exe_st), 0);
	assert_int_equal(rc_named, 0);
	assert_int_equal(named.start_time, start);
	assert_string_equal(named.cmdline, p.cmdline);
	assert_string_equal(named.node_version, want);
	assert_string_equal(named.opts.diagnostic_dir, "/tmp/x");
	assert_true(named.exe_stat_known);
	assert_true(named.exe_stat.st_ino == exe_st.st_ino && named.exe_stat.st_dev == exe_st.st_dev);
	assert_int_equal(rc_env, PROCS_UNWANTED);
	assert_int_equal(rc_name, PROCS_UNWANTED);
	assert_string_equal(other.cmdline, ""); /* nothing read past the name */
	assert_true(ready);
	assert_int_equal(rc, 0);
	assert_int_equal(rc2, 0);
	assert_int_equal(p.pid, c.pid);
	assert_int_equal(p.ns_pid, c.pid); /* same pid namespace */
	assert_true(p.start_time > 0);
	assert_int_equal(p.start_time, start);
	assert_int_equal(p.uid, getuid());
	assert_string_equal(p.comm, "node");
	assert_string_equal(p.exe, "/usr/bin/node");
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "/usr/bin/node --heapsnapshot-signal=SIGUSR2 %s --inspect", script);
	assert_string_equal(p.cmdline, cmd);
	assert_true(p.cgroup[0] != '\0');
	assert_string_equal(p.node_version, want);
	assert_int_equal(p.opts.heapsnapshot_signal, SIGUSR2);
	assert_string_equal(p.opts.diagnostic_dir, "/tmp/x");
	assert_false(p.opts.inspect); /* after the script: the script's argument */
	assert_true(rss > (1 << 20));
	/* RSS read with the status (the exec path reads no statm): the same counter, read
	 * a moment apart (an idle node's RSS moves by little) */
	assert_true(p.rss_bytes > rss / 2 && p.rss_bytes < rss * 2);
	const char names[][16] = { "nodejs", "node" };
	assert_true(procs_name_matches(&p, names, 2));
	assert_false(procs_name_matches(&p, names, 1));

	/* gone */
	assert_int_equal(procs_read(c.pid, &p), -ESRCH);
	assert_int_equal(procs_read_named(c.pid, node_names, 2, NULL, true, &named), -ESRCH);
	assert_int_equal(procs_start_time(c.pid, &start), -ESRCH);
	assert_int_equal(procs_rss_bytes(c.pid), 0);
}

/* Debian's node 18 keeps its version in libnode.so: a process with a file named
 * libnode.so.108 mapped (here python3 mapping a fake one) gets its version from it. */
static void test_procs_read_libnode_fallback(void **state)
{
	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	char lib[256];
	snprintf(lib, sizeof(lib), "%s/libnode.so.108", tmpdir);
	const char text[] = "\x7f" "ELF? https://nodejs.org/download/release/v18.20.4/node-v18.20.4.tar.gz";
	write_file(lib, text, sizeof(text));
	char *argv[] = { "/usr/bin/python3", "-c",
			 "import mmap,sys,time\n"
			 "f=open(sys.argv[1],'rb'); m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\n"
			 "print('ready',flush=True); time.sleep(30)\n",
			 lib, NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", "HS_TEST=1", NULL };
	struct child c;
	spawn_child(&c, argv, envp);
	bool ready = wait_ready(&c, 10000);
	struct proc_info p, at_exec, other;
	int rc = procs_read(c.pid, &p);
	/* The exec path: the environment read once for require_env, the maps not at all
	 * (the version comes from them later, once the process has lived). */
	const char python[][HS_NAME_LEN] = { "python3" };
	int rc_exec = procs_read_named(c.pid, python, 1, "HS_TEST=1", true, &at_exec);
	char exec_version[sizeof(at_exec.node_version)];
	snprintf(exec_version, sizeof(exec_version), "%s", at_exec.node_version);
	procs_version_from_maps(c.pid, &at_exec);
	int rc_other = procs_read_named(c.pid, python, 1, "HS_TEST=2", true, &other);
	stop_child(&c);
	assert_true(ready);
	assert_int_equal(rc, 0);
	assert_string_equal(p.node_version, "v18.20.4");
	assert_int_equal(rc_exec, 0);
	assert_string_equal(exec_version, "");
	assert_string_equal(at_exec.node_version, "v18.20.4");
	assert_string_equal(at_exec.cmdline, p.cmdline);
	assert_int_equal(at_exec.uid, p.uid);
	assert_int_equal(rc_other, PROCS_UNWANTED);
	assert_string_equal(other.cmdline, ""); /* nothing read past the environment */
	assert_int_equal(p.opts.heapsnapshot_signal, 0);
	const char names[][16] = { "node", "nodejs" };
	assert_false(procs_name_matches(&p, names, 2));
}

static void test_name_matches(void **state)
{
	(void)state;
	struct proc_info p;
	memset(&p, 0, sizeof(p));
	const char names[][16] = { "node", "nodejs" };
	strcpy(p.exe, "/opt/node-v22/bin/node");
	assert_true(procs_name_matches(&p, names, 2));
	strcpy(p.exe, "/usr/bin/node (deleted)"); /* upgraded under a running process */
	assert_true(procs_name_matches(&p, names, 2));
	strcpy(p.exe, "/usr/bin/nodemon");
	assert_false(procs_name_matches(&p, names, 2));
	p.exe[0] = '\0';
	strcpy(p.comm, "nodejs");
	assert_true(procs_name_matches(&p, names, 2));
	strcpy(p.comm, "node2");
	assert_false(procs_name_matches(&p, names, 2));
	assert_false(procs_name_matches(&p, names, 0));
}

/* The fs ids are the 4th column; groups stop at the end of their line; a status
 * without Gid is an error; our own credentials and RSS match what libc says. */
static void test_credentials_and_rss(void **state)
{
	(void)state;
	struct proc_creds c;
	const char *status = "Name:\tnode\nUid:\t1000\t1001\t1002\t1003\n"
			     "Gid:\t2000\t2001\t2002\t2003\nFDSize:\t64\n"
			     "Groups:\t4 24 27 \nNStgid:\t77\n";
	assert_int_equal(procs_parse_credentials(status, &c), 0);
	assert_int_equal(c.fsuid, 1003);
	assert_int_equal(c.fsgid, 2003);
	assert_int_equal(c.ngroups, 3);
	assert_int_equal(c.groups[0], 4);
	assert_int_equal(c.groups[2], 27);
	assert_int_equal(procs_parse_credentials("Uid:\t0\t0\t0\t0\nGroups:\t\nNSpid:\t5\n", &c), -EINVAL);
	assert_int_equal(c.ngroups, 0);

	assert_int_equal(procs_credentials(getpid(), &c), 0);
	assert_int_equal(c.fsuid, geteuid());
	assert_int_equal(c.fsgid, getegid());
	assert_int_equal(c.ngroups, getgroups(0, NULL));

	assert_int_equal(procs_parse_status_rss("Name:\tnode\nVmPeak:\t  99 kB\nVmRSS:\t   41234 kB\n"), 41234ull * 1024);
	assert_int_equal(procs_parse_status_rss(status), 0); /* none (a kernel thread) */
	assert_int_equal(procs_parse_status_rss("Name:\tx\nVmRSS:\t-5 kB\n"), 0);
	assert_int_equal(procs_parse_status_rss("Name:\tx\nVmRSS:\n"), 0);

	uint64_t rss = 0;
	assert_int_equal(procs_rss(getpid(), &rss), 0);
	assert_true(rss > 0);
	assert_true(procs_rss_bytes(getpid()) > 0);

	/* a reaped child: gone for every reader */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	uint64_t start;
	assert_int_equal(procs_rss(child, &rss), -ESRCH);
	assert_int_equal(procs_credentials(child, &c), -ESRCH);
	assert_int_equal(procs_start_time(child, &start), -ESRCH);
	assert_int_equal(procs_rss_bytes(child), 0);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_names),
		cmocka_unit_test(test_version_across_chunks),
		cmocka_unit_test(test_version_fifo),
		cmocka_unit_test(test_opts_none),
		cmocka_unit_test(test_opts_heapsnapshot_signal),
		cmocka_unit_test(test_opts_after_script_do_not_count),
		cmocka_unit_test(test_opts_value_options_skip_their_argument),
		cmocka_unit_test(test_opts_inspect_forms),
		cmocka_unit_test(test_opts_misc),
		cmocka_unit_test(test_node_options_env),
		cmocka_unit_test(test_opts_argv_edge),
		cmocka_unit_test(test_version_usr_bin_node),
		cmocka_unit_test(test_version_not_node),
		cmocka_unit_test(test_version_patterns),
		cmocka_unit_test(test_procs_read_node_child),
		cmocka_unit_test(test_procs_read_libnode_fallback),
		cmocka_unit_test(test_name_matches),
		cmocka_unit_test(test_credentials_and_rss),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
