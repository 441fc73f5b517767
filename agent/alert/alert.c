// SPDX-License-Identifier: Apache-2.0
/* Alerts: one compact JSON line per event on stdout, and an optional user command.
 *
 * The command runs as /bin/sh -c CMD through posix_spawn, in its own process group
 * (so a timeout kills whatever it started too), with stdin /dev/null and stdout sent to
 * the agent's stderr (stdout carries only the JSON lines). Nothing here ever waits on
 * it: alert_tick() reaps with WNOHANG and SIGKILLs the groups of overdue commands. At
 * most ALERT_MAX_CHILDREN commands run at once; beyond that an exec is dropped with a
 * warning rather than queued, so a flood of events cannot pile up processes.
 * A HEAPSNAP_* variable is set only when its event member is present (not null). */
#include "alert/alert.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/wait.h"

#define ALERT_MAX_CHILDREN 16
#define ALERT_REAP_WAIT_MS 1000  /* alerter_free: per child, after SIGKILL */

extern char **environ;

struct alert_child {
	pid_t pid;               /* also its process group id */
	int64_t started_ms;
	bool killed;
};

struct alerter {
	pthread_mutex_t lock;    /* serializes stdout lines and the children table */
	bool to_stdout;
	char exec[sizeof(((struct config *)0)->alert_exec)];
	unsigned timeout_s;
	char host[256];
	struct alert_child children[ALERT_MAX_CHILDREN];
	int nchildren;
	struct alert_sink sinks[ALERT_MAX_SINKS];
	int nsinks;
};

/* "2026-11-27T07:52:52.123Z" */
static void iso8601_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

struct alerter *alerter_new(const struct config *cfg)
{
	struct alerter *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	a->to_stdout = cfg->alert_stdout;
	snprintf(a->exec, sizeof(a->exec), "%s", cfg->alert_exec);
	a->timeout_s = cfg->alert_exec_timeout_s;
	if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		snprintf(a->host, sizeof(a->host), "unknown");
	return a;
}

/* --- the command ------------------------------------------------------------ */

/* JSON member -> text for an environment variable; false when absent or null. */
static bool member_text(json_t *ev, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(ev, key);
	buf[0] = '\0';
	if (!v || json_is_null(v))
		return false;
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else {
		char *s = json_dumps(v, JSON_COMPACT);
		if (s)
			snprintf(buf, len, "%s", s);
		free(s);
	}
	return true;
}

static const struct {
	const char *var, *member;
} env_members[] = {
	{ "HEAPSNAP_EVENT", "event" },         { "HEAPSNAP_PID", "pid" },
	{ "HEAPSNAP_REASON", "reason" },       { "HEAPSNAP_RSS", "rss_bytes" },
	{ "HEAPSNAP_SNAPSHOT_ID", "snapshot_id" }, { "HEAPSNAP_SNAPSHOT_PATH", "path" },
};
#define N_ENV_MEMBERS (sizeof(env_members) / sizeof(env_members[0]))

/* What the command inherits from the agent's environment: nothing else. The agent's
 * environment may hold secrets (AWS_* for [upload], tokens) that a command written
 * for alerts has no business seeing. */
static const char *const inherited[] = { "PATH=", "LANG=" };
#define N_INHERITED (sizeof(inherited) / sizeof(inherited[0]))

/* PATH and LANG from environ (PATH has a default) plus ours; strings in *owned (freed
 * by the caller). */
static char **build_env(json_t *ev, const char *line, char ***owned, size_t *nowned)
{
	char **env = calloc(N_INHERITED + N_ENV_MEMBERS + 2, sizeof(*env));
	char **mine = calloc(N_ENV_MEMBERS + 1, sizeof(*mine));
	if (!env || !mine)
		goto fail;
	size_t k = 0, m = 0;
	bool have_path = false;
	for (size_t i = 0; environ && environ[i]; i++)
		for (size_t j = 0; j < N_INHERITED; j++)
			if (strncmp(environ[i], inherited[j], strlen(inherited[j])) == 0 && k < N_INHERITED) {
				env[k++] = environ[i];
				have_path |= j == 0;
			}
	if (!have_path)
		env[k++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; i < N_ENV_MEMBERS; i++) {
		char val[4096];
		if (!member_text(ev, env_members[i].member, val, sizeof(val)))
			continue;
		if (asprintf(&mine[m], "%s=%s", env_members[i].var, val) < 0)
			goto fail;
		env[k++] = mine[m++];
	}
	if (asprintf(&mine[m], "HEAPSNAP_JSON=%s", line) < 0)
		goto fail;
	env[k++] = mine[m++];
	*owned = mine;
	*nowned = m;
	return env;
fail:
	for (size_t i = 0; mine && i < N_ENV_MEMBERS + 1; i++)
		free(mine[i]);
	free(mine);
	free(env);
	return NULL;
}

static int spawn_command(struct alerter *a, json_t *ev, const char *line, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	char **owned = NULL;
	size_t nowned = 0;
	char **env = build_env(ev, line, &owned, &nowned);
	if (!env)
		return ENOMEM;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none); /* the agent may block signals for signalfd */
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	char *argv[] = { "sh", "-c", a->exec, NULL };
	int rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, env);

	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(env);
	return rc;
}

/* --- children table (caller holds the lock) ------------------------------------ */

static void forget_child(struct alerter *a, int i)
{
	a->children[i] = a->children[--a->nchildren];
}

static void reap_and_kill(struct alerter *a, int64_t now)
{
	for (int i = 0; i < a->nchildren;) {
		struct alert_child *c = &a->children[i];
		int status;
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			if (r == c->pid && !c->killed && WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_debug("alert: exec exited with status %d", WEXITSTATUS(status));
			forget_child(a, i);
			continue;
		}
		if (!c->killed && now - c->started_ms >= (int64_t)a->timeout_s * 1000) {
			kill(-c->pid, SIGKILL);
			c->killed = true;
			log_warn("alert: exec timed out after %us, killed", a->timeout_s);
		}
		i++;
	}
}

static void run_exec(struct alerter *a, json_t *ev, const char *line)
{
	reap_and_kill(a, mono_ms());
	if (a->nchildren == ALERT_MAX_CHILDREN) {
		log_warn("alert: %d exec commands still running, not running one for event %s",
			 ALERT_MAX_CHILDREN, json_string_value(json_object_get(ev, "event")) ?: "?");
		return;
	}
	pid_t pid;
	int rc = spawn_command(a, ev, line, &pid);
	if (rc != 0) {
		log_warn("alert: cannot run exec command: %s", strerror(rc));
		return;
	}
	a->children[a->nchildren++] = (struct alert_child){ .pid = pid, .started_ms = mono_ms() };
}

/* --- public ----------------------------------------------------------------- */

void alert_emit(struct alerter *a, json_t *ev)
{
	if (!a || !ev) {
		json_decref(ev);
		return;
	}
	char now[40];
	iso8601_now(now, sizeof(now));
	json_object_set_new(ev, "time", json_string(now));
	json_object_set_new(ev, "host", json_string(a->host));
	char *line = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!line) {
		log_warn("alert: cannot encode event");
		json_decref(ev);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (a->to_stdout) {
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (a->exec[0])
		run_exec(a, ev, line);
	for (int i = 0; i < a->nsinks; i++)
		if (a->sinks[i].event)
			a->sinks[i].event(a->sinks[i].ctx, ev, line);
	pthread_mutex_unlock(&a->lock);
	free(line);
	json_decref(ev);
}

void alert_emit_event(struct alerter *a, const struct event *e)
{
	if (a)
		alert_emit(a, event_json(e));
}

int alerter_add_sink(struct alerter *a, const struct alert_sink *s)
{
	pthread_mutex_lock(&a->lock);
	int rc = a->nsinks == ALERT_MAX_SINKS ? -ENOSPC : 0;
	if (rc == 0)
		a->sinks[a->nsinks++] = *s;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

void alert_process(struct alerter *a, const struct alert_proc *p, bool gone)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nsinks; i++)
		if (a->sinks[i].process)
			a->sinks[i].process(a->sinks[i].ctx, p, gone);
	pthread_mutex_unlock(&a->lock);
}

void alert_condition_ended(struct alerter *a, pid_t pid, enum trigger_reason condition)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nsinks; i++)
		if (a->sinks[i].ended)
			a->sinks[i].ended(a->sinks[i].ctx, pid, condition);
	pthread_mutex_unlock(&a->lock);
}

void alert_tick(struct alerter *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	reap_and_kill(a, mono_ms());
	pthread_mutex_unlock(&a->lock);
}

/* Bounded wait for a killed child: its pidfd becomes readable when it exits. */
static void wait_exit(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0) {
		struct wait_spec w = wait_in(timeout_ms, NULL, fd);
		wait_poll(&w, NULL, 0);
		close(fd);
	}
	waitpid(pid, NULL, WNOHANG);
}

void alerter_free(struct alerter *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nchildren; i++) {
		kill(-a->children[i].pid, SIGKILL);
		wait_exit(a->children[i].pid, ALERT_REAP_WAIT_MS);
	}
	a->nchildren = 0;
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
