// SPDX-License-Identifier: Apache-2.0
/* Unit tests of config.c: defaults, every value type, every error message form, and
 * that conf/heapsnap.ini (the bundled file) parses and documents every key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"

static struct config cfg;
static char err[1024];

static int load(const char *text)
{
	err[0] = '\0';
	return config_load_string(&cfg, text, "t.ini", err, sizeof(err));
}

static void expect_error(const char *text, const char *message)
{
	assert_int_equal(load(text), -EINVAL);
	if (!strstr(err, message))
		fail_msg("expected '%s' in '%s'", message, err);
}

static void test_defaults(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.node_name_count, 2);
	assert_string_equal(cfg.node_names[0], "node");
	assert_string_equal(cfg.node_names[1], "nodejs");
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.state_socket, "/run/heapsnap/heapsnapd.sock");
	assert_int_equal(cfg.rss_bytes, 0);
	assert_int_equal(cfg.growth_bytes, 200ULL << 20);
	assert_int_equal(cfg.cooldown_s, 300);
	assert_int_equal(cfg.max_per_process, 3);
	assert_false(cfg.leak);
	assert_int_equal(cfg.leak_window_s, 60);
	assert_int_equal(cfg.leak_min_gcs, 5);
	assert_int_equal(cfg.leak_min_bytes, 10ULL << 20);
	assert_int_equal(cfg.leak_min_pct, 5);
	assert_false(cfg.predictive);
	assert_int_equal(cfg.baseline_pct, 50);
	assert_int_equal(cfg.method, CAPTURE_AUTO);
	assert_int_equal(cfg.timeout_s, 600);
	assert_int_equal(cfg.start_timeout_s, 10);
	assert_int_equal(cfg.max_concurrent, 4);
	assert_int_equal(cfg.compress_level, 6);
	assert_true(cfg.guard);
	assert_int_equal(cfg.guard_cost_factor, 15);
	assert_false(cfg.inspector_unguarded);
	assert_int_equal(cfg.profile_interval_kb, 4096);
	assert_string_equal(cfg.require_env, "");
	assert_string_equal(cfg.state_file, "/run/heapsnap/heapsnapd.state");
	assert_string_equal(cfg.lock_file, "/run/heapsnap/heapsnapd.lock");
	assert_int_equal(cfg.guard_min_headroom_bytes, 64ULL << 20);
	assert_string_equal(cfg.store_dir, "/var/lib/heapsnap");
	assert_int_equal(cfg.max_total_bytes, 0);
	assert_int_equal(cfg.max_count, 0);
	assert_int_equal(cfg.max_age_days, 0);
	assert_int_equal(cfg.min_free_bytes, 256ULL << 20);
	assert_string_equal(cfg.alert_exec, "");
	assert_int_equal(cfg.alert_exec_timeout_s, 10);
	assert_true(cfg.alert_stdout);
}

static void test_empty_is_defaults(void **state)
{
	(void)state;
	assert_int_equal(load(""), 0);
	struct config d;
	config_defaults(&d);
	strcpy(d.path, cfg.path);
	assert_memory_equal(&d, &cfg, sizeof(d));
	assert_string_equal(cfg.path, "t.ini");
}

static void test_all_types(void **state)
{
	(void)state;
	assert_int_equal(load("; comment\n# comment\n"
			      "[agent]\n  node_names =  node   nodejs  node20 \n log_level = DEBUG\n"
			      "state_socket =\n"
			      "[trigger]\nrss_mb = 1024 ; inline comment\ngrowth_mb=0\ncooldown_s = 0\n"
			      "leak = yes\npredictive = TRUE\nbaseline_pct = 0\n"
			      "[capture]\nmethod = inspector\ncompress_level = 9\nguard = 0\n"
			      "[store]\ndir = /srv/snaps\nmax_total_mb = 4096\n"
			      "[alert]\nexec = logger -t heapsnap \"$HEAPSNAP_EVENT\"\nstdout = no\n"),
			 0);
	assert_int_equal(cfg.node_name_count, 3);
	assert_string_equal(cfg.node_names[2], "node20");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.state_socket, "");
	assert_int_equal(cfg.rss_bytes, 1024ULL << 20);
	assert_int_equal(cfg.growth_bytes, 0);
	assert_int_equal(cfg.cooldown_s, 0);
	assert_true(cfg.leak);
	assert_true(cfg.predictive);
	assert_int_equal(cfg.baseline_pct, 0);
	assert_int_equal(cfg.method, CAPTURE_INSPECTOR);
	assert_int_equal(cfg.compress_level, 9);
	assert_false(cfg.guard);
	assert_string_equal(cfg.store_dir, "/srv/snaps");
	assert_int_equal(cfg.max_total_bytes, 4096ULL << 20);
	assert_string_equal(cfg.alert_exec, "logger -t heapsnap \"$HEAPSNAP_EVENT\"");
	assert_false(cfg.alert_stdout);
}

static void test_bools(void **state)
{
	(void)state;
	const char *on[] = { "on", "true", "yes", "1", "On" }, *off[] = { "off", "false", "no", "0", "NO" };
	char buf[128];
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "[alert]\nstdout = %s\n", on[i]);
		assert_int_equal(load(buf), 0);
		assert_true(cfg.alert_stdout);
		snprintf(buf, sizeof(buf), "[alert]\nstdout = %s\n", off[i]);
		assert_int_equal(load(buf), 0);
		assert_false(cfg.alert_stdout);
	}
	expect_error("[alert]\nstdout = maybe\n", "t.ini:2: bad value 'maybe' for stdout");
	assert_int_equal(load("[capture]\ninspector_unguarded = on\n"), 0);
	assert_true(cfg.inspector_unguarded);
	expect_error("[capture]\n\ninspector_unguarded = sometimes\n", "t.ini:3: bad value 'sometimes' for inspector_unguarded");
}

static void test_relative_paths_use_cwd(void **state)
{
	(void)state;
	char cwd[4096], want[4200];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(load("[store]\ndir = var/store\n[agent]\nstate_socket = var/s.sock\n"), 0);
	snprintf(want, sizeof(want), "%s/var/store", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(cfg.store_dir, want);
	snprintf(want, sizeof(want), "%s/var/s.sock", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(cfg.state_socket, want);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[trigger]\nrss_mb = 1\nfoo = 2\n", "t.ini:3: unknown key 'foo' in [trigger]");
	expect_error("[trigger]\nrss_mb = abc\n", "t.ini:2: bad number 'abc' for rss_mb");
	expect_error("[trigger]\nrss_mb = -1\n", "t.ini:2: bad number '-1' for rss_mb");
	expect_error("[trigger]\nrss_mb = 12MB\n", "bad number '12MB' for rss_mb");
	expect_error("[trigger]\nrss_mb =\n", "bad number '' for rss_mb");
	expect_error("[trigger]\nrss_mb = 99999999999999999999999\n", "t.ini:2: rss_mb = 99999999999999999999999 out of range");
	expect_error("[trigger]\nrss_mb = 1073741825\n", "out of range (0..1073741824)");
	expect_error("[trigger]\ncooldown_s = 4294967296\n", "out of range");
	expect_error("[capture]\ncompress_level = 0\n", "t.ini:2: compress_level = 0 out of range (1..9)");
	expect_error("[capture]\ncompress_level = 10\n", "out of range (1..9)");
	expect_error("[capture]\nmax_concurrent = 0\n", "max_concurrent = 0 out of range (1..64)");
	expect_error("[capture]\nmethod = ptrace\n", "t.ini:2: bad value 'ptrace' for method");
	expect_error("[agent]\nlog_level = loud\n", "bad value 'loud' for log_level");
	expect_error("\n[nope]\nx = 1\n", "t.ini:3: unknown section [nope]");
	expect_error("x = 1\n", "t.ini:1: key 'x' outside of any section");
	expect_error("[store]\ndir =\n", "t.ini:2: bad path for dir: must not be empty");
	expect_error("[trigger]\nrss_mb = 1\nrss_mb = 2\n", "t.ini:3: duplicate key 'rss_mb' in [trigger] (first set on line 2)");
	expect_error("[trigger\n", "t.ini:1: syntax error");
	expect_error("[trigger]\njust words\n", "t.ini:2: syntax error");
	/* the first error wins, whichever kind it is */
	expect_error("[trigger]\nbogus\nrss_mb = x\n", "t.ini:2: syntax error");
	expect_error("[trigger]\nrss_mb = x\nbogus\n", "t.ini:2: bad number 'x'");
}

/* [metrics], [alertmanager] and the webhook: addresses and URLs are checked at load. */
static void test_fleet_keys(void **state)
{
	(void)state;
	assert_int_equal(load("[metrics]\nlisten = 0.0.0.0:9837\n[alertmanager]\n"
			      "url = http://a:9093 https://b/am\nresend_s = 30\n[alert]\nwebhook = http://h/x\n"), 0);
	assert_string_equal(cfg.metrics_listen, "0.0.0.0:9837");
	assert_string_equal(cfg.am_urls, "http://a:9093 https://b/am");
	assert_int_equal(cfg.am_resend_s, 30);
	assert_int_equal(load("[metrics]\nlisten = [::1]:9837\n"), 0);
	assert_int_equal(load("[metrics]\nlisten =\n"), 0);
	assert_string_equal(cfg.metrics_listen, "");
	expect_error("[metrics]\nlisten = 9837\n", "t.ini:2: bad address '9837' for listen (expected HOST:PORT");
	expect_error("[metrics]\nlisten = host:0\n", "bad address 'host:0'");
	expect_error("[metrics]\nlisten = host:65536\n", "bad address");
	expect_error("[metrics]\nlisten = :80\n", "bad address");
	expect_error("[alertmanager]\nurl = am:9093\n", "t.ini:2: bad URL 'am:9093' for url");
	expect_error("[alert]\nwebhook = http://a http://b\n", "too many URLs for webhook (max 1)");
	expect_error("[alert]\nwebhook = http://\n", "bad URL 'http://'");
	expect_error("[alertmanager]\nurl = http://u:secret@am:9093\n",
		     "t.ini:2: credentials in a URL of url: use [alertmanager] username and password_file");
	assert_null(strstr(err, "secret"));
	assert_int_equal(load("[alert]\nwebhook = http://h/x?a=b@c\n"), 0); /* '@' past the host is fine */
	expect_error("[alertmanager]\nresend_s = 0\n", "resend_s = 0 out of range");
	expect_error("[alertmanager]\nusername = u\n", "t.ini:2: [alertmanager] username and password_file go together");
	expect_error("[alertmanager]\nbearer_token_file = /t\nusername = u\npassword_file = /p\n",
		     "t.ini:2: [alertmanager] bearer_token_file and username/password_file exclude each other");
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(load("[agent]\nnode_names = a b c d e f g h\n"), 0);
	assert_int_equal(cfg.node_name_count, 8);
	assert_string_equal(cfg.node_names[7], "h");
	expect_error("[agent]\nnode_names = a b c d e f g h i\n", "too many names for node_names (max 8)");
	expect_error("[agent]\nnode_names = node 0123456789abcdef\n", "bad name '0123456789abcdef'");
	assert_int_equal(load("[agent]\nnode_names = 0123456789abcde\n"), 0);
	expect_error("[agent]\nnode_names = /usr/bin/node\n", "bad name '/usr/bin/node'");
	expect_error("[agent]\nnode_names =\n", "must list at least one");
}

static void test_lengths(void **state)
{
	(void)state;
	char buf[600];
	/* 199 bytes is the longest line inih can take */
	int n = snprintf(buf, sizeof(buf), "[alert]\nexec = ");
	memset(buf + n, 'x', 199 - 7);
	strcpy(buf + n + 199 - 7, "\n");
	assert_int_equal(load(buf), 0);
	assert_int_equal(strlen(cfg.alert_exec), 199 - 7);
	memset(buf + n, 'x', 300);
	strcpy(buf + n + 300, "\nstdout = off\n");
	expect_error(buf, "t.ini:2: line too long (max 199 bytes");
	expect_error("[agent]\nstate_socket = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		     "t.ini:2: state_socket path too long for a unix socket");
}

static void test_consistency(void **state)
{
	(void)state;
	expect_error("[capture]\ntimeout_s = 5\n", "t.ini:2: start_timeout_s (10) must not exceed timeout_s (5)");
	expect_error("[capture]\nstart_timeout_s = 20\ntimeout_s = 15\n", "t.ini:2: start_timeout_s (20)");
	assert_int_equal(load("[capture]\nstart_timeout_s = 20\ntimeout_s = 20\n"), 0);
}

static void test_upload(void **state)
{
	(void)state;
	assert_int_equal(load("[upload]\nendpoint = http://127.0.0.1:9000\nbucket = snaps\nprefix = eu/web-1\n"
			      "path_style = off\nkeep_local = off\npart_mb = 8\n"), 0);
	assert_string_equal(cfg.upload_endpoint, "http://127.0.0.1:9000");
	assert_string_equal(cfg.upload_bucket, "snaps");
	assert_string_equal(cfg.upload_prefix, "eu/web-1");
	assert_string_equal(cfg.upload_region, "us-east-1");
	assert_string_equal(cfg.upload_profile, "default");
	assert_false(cfg.upload_path_style);
	assert_false(cfg.upload_keep_local);
	assert_int_equal(cfg.upload_part_bytes, 8ULL << 20);
	expect_error("[upload]\nendpoint = ftp://x\nbucket = snaps\n", "t.ini:2: bad endpoint 'ftp://x'");
	expect_error("[upload]\nendpoint = https://s3.example.com/path\nbucket = b12\n", "t.ini:2: bad endpoint");
	expect_error("[upload]\nendpoint = https://s3.example.com\n", "t.ini:2: bucket '' for endpoint https://s3.example.com");
	expect_error("[upload]\nendpoint = https://s3.example.com\n\nbucket = Bad_Bucket\n", "t.ini:4: bucket 'Bad_Bucket'");
	expect_error("[upload]\nendpoint = http://h\nbucket = bbb\nprefix = /x\n", "t.ini:4: bad prefix '/x'");
	expect_error("[upload]\npart_mb = 4\n", "t.ini:2: part_mb = 4 out of range (5..1024)");
	/* no endpoint: the rest is not checked (upload off) */
	assert_int_equal(load("[upload]\nbucket = Whatever_\n"), 0);
}

static void test_line_counting(void **state)
{
	(void)state;
	/* CRLF, blank and comment lines, indentation, a final line without newline */
	expect_error("\r\n; c\r\n[trigger]\r\n   \r\n  growth_mb = 5\r\n\tcooldown_s = x", "t.ini:6: bad number 'x' for cooldown_s");
	assert_int_equal(load("[trigger]\r\ngrowth_mb = 5\r\n"), 0);
	assert_int_equal(cfg.growth_bytes, 5ULL << 20);
}

static void test_file_errors(void **state)
{
	(void)state;
	assert_int_equal(config_load(&cfg, "/nonexistent/heapsnap.ini", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/heapsnap.ini: cannot read: No such file or directory");
	assert_int_equal(config_load(&cfg, "/", err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: cannot read: Is a directory");
	char path[] = "/tmp/test_config.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "[trigger]\ngrowth_mb = 7\n[bad]\nx = 1\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "%s:4: unknown section [bad]", path);
	assert_string_equal(err, want);
	unlink(path);
}

/* The bundled file parses, and mentions every key the defaults have: each "key =" line
 * of the file round-trips, and together they equal the defaults except the documented
 * local overrides. */
static void test_bundled_ini(void **state)
{
	(void)state;
	const char *root = getenv("HEAPSNAP_ROOT");
	char path[4096];
	snprintf(path, sizeof(path), "%s/conf/heapsnap.ini", root ? root : ".");
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	struct config d;
	config_defaults(&d);
	/* the only intended differences: local store and socket for `make run` */
	assert_non_null(strstr(cfg.store_dir, "/var/store"));
	assert_non_null(strstr(cfg.state_socket, "/var/heapsnapd.sock"));
	strcpy(d.store_dir, cfg.store_dir);
	strcpy(d.state_socket, cfg.state_socket);
	strcpy(d.state_file, cfg.state_file);
	strcpy(d.path, cfg.path);
	assert_memory_equal(&d, &cfg, sizeof(d));

	/* every key of the table appears: drop each key line in turn, the result must
	 * still load (so it was a known key), and all 56 key lines exist */
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char line[512];
	int keys = 0;
	while (fgets(line, sizeof(line), f))
		if (line[0] != ';' && line[0] != '[' && strchr(line, '='))
			keys++;
	fclose(f);
	assert_int_equal(keys, 56);
}

/* [report] max_mb: MB like the other sizes; 0 (the default) is sized to the host. */
static void test_report_max(void **state)
{
	(void)state;
	assert_int_equal(config_load_string(&cfg, "[report]\nmax_mb = 64\n", "t.ini", err, sizeof(err)), 0);
	assert_int_equal(config_report_max_bytes(&cfg), (uint64_t)64 << 20);
	assert_int_equal(config_load_string(&cfg, "", "t.ini", err, sizeof(err)), 0);
	assert_int_equal(cfg.report_max_bytes, 0);
	uint64_t host = config_report_max_bytes(&cfg);
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	assert_true(host > 0);
	assert_true(host <= (uint64_t)pages * (uint64_t)page / 15);
	assert_true(host >= (uint64_t)pages * (uint64_t)page / 17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_is_defaults),
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_relative_paths_use_cwd),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fleet_keys),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_consistency),
		cmocka_unit_test(test_upload),
		cmocka_unit_test(test_line_counting),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_bundled_ini),
		cmocka_unit_test(test_report_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
