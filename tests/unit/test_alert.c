// SPDX-License-Identifier: Apache-2.0
/* Unit tests of alert.c: the JSON line on stdout (compact, one line, time and host
 * added, whole under concurrency), the exec command's environment, stdin and process
 * group, the timeout that kills a `sleep 100` group, the children bound, and
 * alerter_free killing what is left. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"

static char dir[] = "/tmp/test_alert.XXXXXX";
static struct config cfg;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Redirect fd (1 or 2) into a file; returns the saved fd. */
static int redirect(int fd, const char *path)
{
	fflush(fd == 1 ? stdout : stderr);
	int saved = dup(fd);
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(f >= 0 && saved >= 0);
	dup2(f, fd);
	close(f);
	return saved;
}

static void restore(int fd, int saved)
{
	fflush(fd == 1 ? stdout : stderr);
	dup2(saved, fd);
	close(saved);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	cfg.alert_exec_timeout_s = 10;
	return 0;
}

static json_t *event(const char *name)
{
	return json_pack("{s:s, s:i, s:s, s:I}", "event", name, "pid", 1234, "reason", "growth",
			 "rss_bytes", (json_int_t)314572800);
}

static void test_stdout_line(void **state)
{
	(void)state;
	char out[256];
	snprintf(out, sizeof(out), "%s/stdout", dir);
	struct alerter *a = alerter_new(&cfg);
	assert_non_null(a);
	int saved = redirect(1, out);
	json_t *ev = event("trigger");
	json_object_set_new(ev, "note", json_string("two\nlines \"quoted\" \xc3\xa9"));
	alert_emit(a, ev);
	restore(1, saved);
	alerter_free(a);

	char *text = slurp(out);
	assert_non_null(text);
	size_t len = strlen(text);
	assert_true(len > 0 && text[len - 1] == '\n');
	assert_ptr_equal(strchr(text, '\n'), text + len - 1); /* one line */
	assert_null(strstr(text, ", ")); /* compact */
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "trigger");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 1234);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "growth");
	assert_int_equal(json_integer_value(json_object_get(j, "rss_bytes")), 314572800);
	assert_string_equal(json_string_value(json_object_get(j, "note")), "two\nlines \"quoted\" \xc3\xa9");
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(json_string_value(json_object_get(j, "host")), host);
	const char *t = json_string_value(json_object_get(j, "time"));
	assert_non_null(t);
	int y, mo, d, h, mi, s, ms;
	char z = 0;
	assert_int_equal(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z), 8);
	assert_int_equal(z, 'Z');
	assert_int_equal(strlen(t), 24);
	json_decref(j);
}

static void test_stdout_off(void **state)
{
	(void)state;
	char out[256];
	snprintf(out, sizeof(out), "%s/stdout_off", dir);
	cfg.alert_stdout = false;
	struct alerter *a = alerter_new(&cfg);
	int saved = redirect(1, out);
	alert_emit(a, event("trigger"));
	restore(1, saved);
	alerter_free(a);
	assert_string_equal(slurp(out), "");
}

struct thread_arg {
	struct alerter *a;
	int id;
};

static void *emitter(void *p)
{
	struct thread_arg *arg = p;
	for (int i = 0; i < 200; i++) {
		json_t *ev = event("capture_start");
		json_object_set_new(ev, "thread", json_integer(arg->id));
		json_object_set_new(ev, "padding", json_string("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
		alert_emit(arg->a, ev);
	}
	return NULL;
}

static void test_stdout_concurrent(void **state)
{
	(void)state;
	char out[256];
	snprintf(out, sizeof(out), "%s/stdout_mt", dir);
	struct alerter *a = alerter_new(&cfg);
	int saved = redirect(1, out);
	pthread_t th[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ a, i };
		pthread_create(&th[i], NULL, emitter, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	restore(1, saved);
	alerter_free(a);
	char *text = slurp(out);
	int lines = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		assert_non_null(j);
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 800);
}

/* Wait (bounded) until path exists. */
static bool wait_file(const char *path, int timeout_ms, struct alerter *a)
{
	int64_t end = now_ms() + timeout_ms;
	while (access(path, F_OK) != 0) {
		if (now_ms() > end)
			return false;
		alert_tick(a);
		sleep_ms(10);
	}
	return true;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void test_exec_environment(void **state)
{
	(void)state;
	char out[256], err[256];
	snprintf(out, sizeof(out), "%s/env", dir);
	snprintf(err, sizeof(err), "%s/stderr_env", dir);
	snprintf(cfg.alert_exec, sizeof(cfg.alert_exec),
		 "{ env; echo FD0=$(readlink /proc/$$/fd/0); echo STAT=$(cat /proc/$$/stat); } > %s.tmp"
		 " && mv %s.tmp %s; echo to-stdout",
		 out, out, out);
	setenv("HEAPSNAP_SNAPSHOT_PATH", "stale-from-parent", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-of-the-agent", 1);
	setenv("SOME_TOKEN", "t0ken-of-the-agent", 1);
	setenv("LANG", "C.UTF-8", 1);
	struct alerter *a = alerter_new(&cfg);
	int saved_out = redirect(1, err); /* the command's stdout must not land here */
	char err2[300];
	snprintf(err2, sizeof(err2), "%s.2", err);
	int saved_err = redirect(2, err2);
	json_t *ev = event("capture_done");
	json_object_set_new(ev, "snapshot_id", json_string("20261127-075252-1234"));
	alert_emit(a, ev);
	bool got = wait_file(out, 5000, a);
	int64_t end = now_ms() + 5000;
	while (!strstr(slurp(err2) ?: "", "to-stdout") && now_ms() < end)
		sleep_ms(10);
	restore(2, saved_err);
	restore(1, saved_out);
	unsetenv("HEAPSNAP_SNAPSHOT_PATH");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("SOME_TOKEN");
	alerter_free(a);
	assert_true(got);

	char *text = slurp(out);
	/* a clean environment: PATH, LANG and ours (sh adds PWD, SHLVL, _) */
	assert_null(strstr(text, "s3cr3t-of-the-agent"));
	assert_null(strstr(text, "t0ken-of-the-agent"));
	assert_true(has_line(text, "LANG=C.UTF-8"));
	assert_non_null(strstr(text, "PATH=/"));
	assert_true(has_line(text, "HEAPSNAP_EVENT=capture_done"));
	assert_true(has_line(text, "HEAPSNAP_PID=1234"));
	assert_true(has_line(text, "HEAPSNAP_REASON=growth"));
	assert_true(has_line(text, "HEAPSNAP_RSS=314572800"));
	assert_true(has_line(text, "HEAPSNAP_SNAPSHOT_ID=20261127-075252-1234"));
	assert_null(strstr(text, "HEAPSNAP_SNAPSHOT_PATH")); /* absent member, stale one removed */
	assert_true(has_line(text, "FD0=/dev/null"));
	const char *js = strstr(text, "HEAPSNAP_JSON=");
	assert_non_null(js);
	json_t *j = json_loadb(js + 14, strcspn(js + 14, "\n"), 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "snapshot_id")), "20261127-075252-1234");
	assert_non_null(json_object_get(j, "time"));
	json_decref(j);
	/* own process group: /proc/PID/stat field 5 (pgrp) == field 1 (pid) */
	const char *st = strstr(text, "STAT=");
	assert_non_null(st);
	int pid = 0, pgrp = -1;
	assert_int_equal(sscanf(st, "STAT=%d %*s %*c %*d %d", &pid, &pgrp), 2);
	assert_int_equal(pid, pgrp);
	/* the command's stdout went to stderr, not into the JSON stream */
	assert_null(strstr(slurp(err) ?: "", "to-stdout"));
	assert_non_null(strstr(slurp(err2) ?: "", "to-stdout"));
}

/* No live (non-zombie) process left in the group. Zombies are skipped: an orphaned
 * member is reaped by whatever init the machine has, which may take its time. */
static bool group_gone(pid_t pgid)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	bool gone = true;
	struct dirent *e;
	while (gone && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *rp = strrchr(buf, ')');
		char state;
		int ppid, pgrp;
		if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid && state != 'Z')
			gone = false;
	}
	closedir(d);
	return gone;
}

static void test_exec_timeout_kills_group(void **state)
{
	(void)state;
	char pidfile[256], log[256];
	snprintf(pidfile, sizeof(pidfile), "%s/timeout.pid", dir);
	snprintf(log, sizeof(log), "%s/timeout.log", dir);
	snprintf(cfg.alert_exec, sizeof(cfg.alert_exec), "sleep 100 & echo $$ > %s.tmp && mv %s.tmp %s; sleep 100",
		 pidfile, pidfile, pidfile);
	cfg.alert_exec_timeout_s = 1;
	struct alerter *a = alerter_new(&cfg);
	int saved = redirect(2, log);
	int64_t start = now_ms();
	alert_emit(a, event("capture_failed"));
	int64_t emitted = now_ms();
	assert_true(wait_file(pidfile, 5000, a));
	pid_t pgid = atoi(slurp(pidfile));
	assert_true(pgid > 1);
	assert_false(group_gone(pgid));
	int64_t end = now_ms() + 5000;
	while (!group_gone(pgid) && now_ms() < end) {
		alert_tick(a);
		sleep_ms(20);
	}
	int64_t killed = now_ms();
	print_message("group gone after %lld ms\n", (long long)(killed - start));
	restore(2, saved);
	alerter_free(a);
	assert_true(emitted - start < 500); /* emit never waits for the command */
	assert_true(group_gone(pgid));      /* both sleeps, the whole group */
	assert_true(killed - start >= 1000);
	assert_true(killed - start < 3000);
	assert_non_null(strstr(slurp(log), "alert: exec timed out after 1s, killed"));
}

static void test_children_bound_and_free(void **state)
{
	(void)state;
	char log[256];
	snprintf(log, sizeof(log), "%s/bound.log", dir);
	snprintf(cfg.alert_exec, sizeof(cfg.alert_exec), "echo $$ >> %s/pids; sleep 100", dir);
	struct alerter *a = alerter_new(&cfg);
	int saved = redirect(2, log);
	for (int i = 0; i < 17; i++)
		alert_emit(a, event("trigger"));
	char pids[256];
	snprintf(pids, sizeof(pids), "%s/pids", dir);
	int64_t end = now_ms() + 5000;
	int n = 0;
	while (now_ms() < end) {
		char *t = slurp(pids);
		n = 0;
		for (; t && *t; t++)
			n += *t == '\n';
		if (n >= 16)
			break;
		sleep_ms(10);
	}
	assert_int_equal(n, 16);
	int64_t start = now_ms();
	alerter_free(a);
	int64_t took = now_ms() - start;
	restore(2, saved);
	assert_true(took < 2000);
	assert_non_null(strstr(slurp(log), "alert: 16 exec commands still running"));
	char *t = slurp(pids);
	for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		pid_t pgid = atoi(l);
		int64_t until = now_ms() + 2000;
		while (!group_gone(pgid) && now_ms() < until)
			sleep_ms(10);
		assert_true(group_gone(pgid));
	}
}

static void test_null_safe(void **state)
{
	(void)state;
	alerter_free(NULL);
	alert_tick(NULL);
	alert_emit(NULL, event("trigger")); /* freed, not leaked */
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define T(f) cmocka_unit_test_setup(f, setup)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stdout_line), T(test_stdout_off), T(test_stdout_concurrent),
		T(test_exec_environment), T(test_exec_timeout_kills_group),
		T(test_children_bound_and_free), T(test_null_safe),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
