// SPDX-License-Identifier: Apache-2.0
/* Capture orchestration: the worker pool, route choice, store commit, alerts.
 * Threads, not the event loop, run captures: a route blocks for seconds to minutes
 * on one target, and the inspector route must setns() into the target's network
 * namespace, which moves only the calling thread. */
#include "capture/capture.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/loop.h"
#include "capture/capture_route.h"
#include "capture/late_sweep.h"
#include "capture/profiler.h"
#include "capture/report_queue.h"
#include "decide/guard.h"
#include "snapshot/heapprofile.h"
#include "snapshot/report.h"
#include "track/procs.h"

#define QUEUE_MAX 64
#define MAX_WORKERS 64 /* config.c: max_concurrent is at most 64 */

struct capturer;
struct done_info;

/* One capture thread and the job it runs. A running baseline is cancelled (its
 * cancel set, preempted_by naming the incident) when an incident would otherwise
 * wait for its slot: incidents never wait behind baselines. */
struct worker {
	struct capturer *c;
	pthread_t thread;
	struct cancel_token cancel;    /* fired by capturer_free and preempt_baseline */
	bool busy;
	struct capture_job job;
	pid_t preempted_by;            /* 0, or the pid whose incident took the slot */
	uint64_t reserved;             /* the guard's estimate for its running capture */
};

struct capturer {
	const struct config *cfg;
	struct store *store;
	struct alerter *alerts;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t store_lock;    /* begin/commit pick ids and evict: one at a time */
	struct capture_job queue[QUEUE_MAX];
	unsigned q_head, q_len;
	struct capture_outcome *done;  /* ring of finished jobs, grown so none is ever lost */
	unsigned d_head, d_len, d_cap;
	pthread_cond_t taken;          /* the loop took an outcome (a worker waits for room) */
	unsigned running;
	uint64_t reserved;             /* sum of the running captures' guard estimates */
	bool stopping;
	int event_fd;
	struct worker workers[MAX_WORKERS];
	unsigned nthreads;
	struct done_info *reports;     /* incidents waiting for their leak report, oldest first */
	unsigned r_len;
	unsigned r_busy;               /* reports being made */
	uint64_t r_busy_bytes;         /* the raw size of their incident snapshots */
	pthread_cond_t report_wake;
	pthread_t report_threads[REPORT_THREADS];
	unsigned report_started;
	struct late_sweep *late;       /* signals whose snapshot may still come */
	struct connect_guard *cguard;  /* the inspector's connect guard (not owned) */
};

static json_t *event_base(const char *event, const struct capture_job *job)
{
	return json_pack("{s:s, s:I, s:s, s:I, s:I}", "event", event, "pid", (json_int_t)job->pid,
			 "reason", trigger_reason_name(job->reason), "rss_bytes", (json_int_t)job->rss_bytes,
			 "threshold_bytes", (json_int_t)job->threshold_bytes);
}

/* meta (may be NULL): the failed attempt's, for how long it had the inspector open. */
static void emit_failed(struct capturer *c, const struct capture_job *job, const char *method,
			const char *why, const struct snapshot_meta *meta)
{
	json_t *ev = event_base("capture_failed", job);

	json_object_set_new(ev, "method", json_string(method));
	json_object_set_new(ev, "error", json_string(why));
	if (meta && meta->inspector_opened)
		json_object_set_new(ev, "inspector_window_ms", json_integer(meta->inspector_window_ms));
	alert_emit(c->alerts, ev);
}

/* /etc/machine-id (32 hex), "" if unreadable. */
static void machine_id(char *out, size_t len)
{
	char buf[64];
	ssize_t n = read_small_file("/etc/machine-id", buf, sizeof(buf));

	out[0] = '\0';
	if (n <= 0)
		return;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out, len, "%s", buf);
}

static void fill_meta(struct snapshot_meta *m, const struct capture_job *job,
		      const struct proc_info *p, const char *method)
{
	memset(m, 0, sizeof(*m));
	gethostname(m->host, sizeof(m->host) - 1);
	m->pid = p->pid;
	snprintf(m->exe, sizeof(m->exe), "%s", p->exe);
	snprintf(m->node_version, sizeof(m->node_version), "%s", p->node_version);
	snprintf(m->cmdline, sizeof(m->cmdline), "%s", p->cmdline);
	snprintf(m->cgroup, sizeof(m->cgroup), "%s", p->cgroup);
	snprintf(m->app, sizeof(m->app), "%s", p->labels.app);
	snprintf(m->container_id, sizeof(m->container_id), "%s", p->labels.container_id);
	snprintf(m->pod_uid, sizeof(m->pod_uid), "%s", p->labels.pod_uid);
	snprintf(m->pod_name, sizeof(m->pod_name), "%s", p->labels.pod_name);
	snprintf(m->pod_namespace, sizeof(m->pod_namespace), "%s", p->labels.pod_namespace);
	snprintf(m->container_name, sizeof(m->container_name), "%s", p->labels.container_name);
	machine_id(m->machine_id, sizeof(m->machine_id));
	snprintf(m->reason, sizeof(m->reason), "%s", trigger_reason_name(job->reason));
	snprintf(m->method, sizeof(m->method), "%s", method);
	m->rss_bytes = job->rss_bytes;
	m->heap_used_bytes = job->heap_used_bytes;
	m->rss_at_start_bytes = job->rss_at_start_bytes;
	m->wait_ms = job->wait_ms;
	m->memory_wait_ms = job->memory_wait_ms;
	m->threshold_bytes = job->threshold_bytes;
	m->triggered_at_ms = job->triggered_wall_ms;
	m->started_at_ms = wall_ms();
}

/* One attempt through one route: 0 and meta filled, or a negative errno (the route's,
 * capture_route.h) and err. *fallback tells
 * whether the other route may still be tried: only when this one failed before the
 * target produced any byte (a store failure or a dead target would fail it too,
 * and a second snapshot costs the target as much again). */
static int run_route(struct worker *wk, const struct capture_job *job, const struct proc_info *p,
		     bool inspector, struct snapshot_meta *meta, bool *fallback, char *err, size_t errlen)
{
	struct capturer *c = wk->c;
	struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .late = c->late,
				   .cguard = c->cguard };
	const char *method = inspector ? "inspector" : "signal";
	int rc;

	*fallback = false;
	ctx.resume_after_ms = job->resume_after_ms;
	fill_meta(meta, job, p, method);
	pthread_mutex_lock(&c->store_lock);
	ctx.w = store_writer_begin(c->store, meta, c->cfg->compress_level, err, errlen);
	pthread_mutex_unlock(&c->store_lock);
	if (!ctx.w)
		return -EIO;

	/* While the route runs, a journal lets the next run of the agent finish what this
	 * one leaves if it is killed: the snapshot Node goes on writing, an inspector left open. */
	recovery_journal_begin(c->cfg->state_file, job, inspector ? RESUME_INSPECTOR : RESUME_SIGNAL);
	rc = inspector ? capture_via_inspector(&ctx) : capture_via_signal(&ctx);
	meta->inspector_opened = inspector && ctx.inspector_opened;
	meta->inspector_window_ms = ctx.inspector_window_ms;
	/* An inspector not confirmed closed: the journal stays, so a next run closes it. */
	if (!ctx.inspector_left_open)
		recovery_journal_end(c->cfg->state_file, job->pid);
	if (rc) {
		snprintf(err, errlen, "%s", ctx.err);
		*fallback = store_writer_raw_bytes(ctx.w) == 0 && !store_writer_error(ctx.w)[0] &&
			    !cancel_token_is_set(&wk->cancel);
		store_writer_abort(ctx.w);
		return rc;
	}
	meta->ended_at_ms = wall_ms();
	meta->capture_ms = (uint64_t)(mono_ms() - job->triggered_mono_ms);
	pthread_mutex_lock(&c->store_lock);
	rc = store_writer_commit(ctx.w, meta, err, errlen);
	pthread_mutex_unlock(&c->store_lock);
	if (rc == 0)
		log_info("pid %d: snapshot %s stored (%s)", p->pid, meta->id, ctx.detail);
	return rc;
}

/* The signal route is not used again while Node has not answered the last signal:
 * it would write a second snapshot right after the first once its event loop frees
 * up, twice the cost on a process already in trouble. */
bool capturer_signal_unanswered(struct capturer *c, pid_t pid, uint64_t start_time, int64_t *age_ms)
{
	return late_sweep_pending(c->late, pid, start_time, age_ms);
}

static bool signal_answered(struct capturer *c, const struct proc_info *p, char *why, size_t whylen)
{
	int64_t age_ms;
	if (!capturer_signal_unanswered(c, p->pid, p->start_time, &age_ms))
		return true;
	snprintf(why, whylen, "the heap snapshot signal sent %lld s ago is still unanswered (event loop "
		 "blocked?)", (long long)(age_ms / 1000));
	return false;
}

/* The inspector as the signal route's fallback: asked when it is reached. */
static bool inspector_fallback_usable(struct capturer *c, const struct proc_info *p,
				      const struct capture_job *job)
{
	char why[280];
	if (capture_inspector_usable(p, c->cfg, c->cguard, why, sizeof(why), NULL))
		return true;
	log_info("pid %d: no fallback to the inspector: %s", job->pid, why);
	return false;
}

/* The routes to try, in order (true = inspector). Returns how many, 0 with why. */
static int pick_routes(struct capturer *c, const struct proc_info *p, bool order[2], char *why,
		       size_t whylen)
{
	const struct config *cfg = c->cfg;
	char why_sig[200], why_insp[280] = "";
	bool sig = capture_signal_usable(p, why_sig, sizeof(why_sig)) &&
		   signal_answered(c, p, why_sig, sizeof(why_sig));
	/* Whether the inspector can be used (a scan of the host's sockets and fds, 10-20
	 * ms) is asked only where it is needed now; as the signal route's fallback it is
	 * asked when the fallback is reached (inspector_fallback_usable), so a capture
	 * starts within milliseconds of its trigger. */
	bool insp_first = cfg->method == CAPTURE_INSPECTOR || (cfg->method != CAPTURE_SIGNAL && !sig);
	bool insp = insp_first && capture_inspector_usable(p, cfg, c->cguard, why_insp, sizeof(why_insp), NULL);
	int n = 0;

	/* The process's own signal comes first (V8 writes at native speed and no port
	 * is opened) unless method = inspector; either way the other route, when it
	 * exists, is the fallback. method = signal never opens the inspector. */
	if (cfg->method == CAPTURE_INSPECTOR && insp)
		order[n++] = true;
	if (sig)
		order[n++] = false;
	if (cfg->method != CAPTURE_INSPECTOR && cfg->method != CAPTURE_SIGNAL && (insp || sig))
		order[n++] = true;
	if (n == 0) {
		if (cfg->method == CAPTURE_SIGNAL)
			snprintf(why, whylen, "no capture route: %s (method = signal)", why_sig);
		else if (strncmp(why_insp, "inspector unguarded", 19) == 0)
			snprintf(why, whylen, "no capture route: %s; %s", why_insp, why_sig);
		else
			snprintf(why, whylen, "no capture route: %s; %s", why_sig, why_insp);
	}
	return n;
}

/* The snapshot to diff an incident against: its baseline's path, or "" for a
 * report from the incident snapshot alone (no usable baseline, or it is gone). */
static void report_base(struct capturer *c, const struct capture_job *job, char *path, size_t len)
{
	struct snapshot_meta base;

	path[0] = '\0';
	if (!job->baseline_id[0])
		return;
	if (store_get(c->store, job->baseline_id, &base) != 0) {
		log_warn("pid %d: baseline snapshot %s is gone: the report comes from the incident snapshot alone",
			 job->pid, job->baseline_id);
		return;
	}
	store_blob_path(c->store, base.id, path, len);
	store_meta_free(&base);
}

/* The snapshot's extra members (its report) in its metadata. */
static void set_extra(struct capturer *c, const struct capture_job *job, const char *id, const json_t *extra)
{
	char *text = extra ? json_dumps(extra, JSON_COMPACT) : NULL;
	pthread_mutex_lock(&c->store_lock);
	if (!text || store_set_extra(c->store, id, text) != 0)
		log_warn("pid %d: cannot save the leak report of %s", job->pid, id);
	pthread_mutex_unlock(&c->store_lock);
	free(text);
}

/* Until its report is made, show --json says "report": "pending" rather than nothing;
 * failed (with why) when none will be. */
static void mark_pending(struct capturer *c, const struct capture_job *job, const char *id, const char *failed)
{
	json_t *pending = failed ? json_pack("{s:s, s:s}", "report", "failed", "report_error", failed)
				 : json_pack("{s:s}", "report", "pending");
	set_extra(c, job, id, pending);
	json_decref(pending);
}

/* No report for a snapshot above [report] max_mb: said in its metadata ("report":
 * "skipped", "report_error": why) and the log, instead of a parse whose memory grows
 * with it. */
static void skip_report(struct capturer *c, const struct capture_job *job, const char *id, const char *why,
			uint64_t max)
{
	json_t *extra = json_pack("{s:s, s:s, s:I}", "report", "skipped", "report_error", why, "report_max_bytes",
				  (json_int_t)max);

	log_warn("pid %d: no leak report for %s: %s", job->pid, id, why);
	set_extra(c, job, id, extra);
	json_decref(extra);
}

/* The incident's own size (decompressed, as the agent counted it while storing) is
 * known before any parse: true (and the report skipped) when above max. */
static bool report_too_large(struct capturer *c, const struct capture_job *job, const char *id, uint64_t max)
{
	struct snapshot_meta m;
	char why[160];
	uint64_t raw;

	if (store_get(c->store, id, &m) != 0)
		return false;
	raw = m.raw_bytes;
	store_meta_free(&m);
	if (raw <= max)
		return false;
	snprintf(why, sizeof(why), "snapshot %llu MiB > report.max_mb %llu", (unsigned long long)(raw >> 20),
		 (unsigned long long)(max >> 20));
	skip_report(c, job, id, why, max);
	return true;
}

/* The allocation stacks of the incident's ID.heapprofile into the report (stacks,
 * top_stack), or why it has none (profile_error). */
static void attach_stacks(struct capturer *c, const char *id, json_t *report, const char *profile_error)
{
	char *text = NULL, err[256];
	json_t *stacks = NULL;
	if (profile_error[0]) {
		json_object_set_new(report, "profile_error", json_string(profile_error));
		return;
	}
	if (store_side_read(c->store, id, ".heapprofile", &text) < 0) {
		json_object_set_new(report, "profile_error", json_string("the stored profile cannot be read"));
		return;
	}
	stacks = hs_heapprofile_stacks(text, HS_STACKS_TOP, err, sizeof(err));
	free(text);
	if (!stacks) {
		json_object_set_new(report, "profile_error", json_string(err));
		return;
	}
	const char *top = json_string_value(json_object_get(json_array_get(stacks, 0), "text"));
	if (top)
		json_object_set_new(report, "top_stack", json_string(top));
	json_object_set_new(report, "stacks", stacks);
}

/* The leak report of an incident: a diff against the process's baseline (basis
 * "diff"), or the incident snapshot's own classes (basis "summary"). Stored in its
 * metadata (top_growth, retainer_path, basis); returns the brief for the alert line
 * (NULL when there is none). Runs here, off the agent's loop: it parses the
 * snapshots (seconds and ~1.5x the snapshot size in memory for large ones). */
static json_t *attach_report(struct capturer *c, const struct capture_job *job, const char *id,
			     const char *path, const char *profile_error)
{
	char base_path[PATH_MAX], err[512];
	uint64_t max = config_report_max_bytes(c->cfg);
	json_t *report = NULL;

	report_base(c, job, base_path, sizeof(base_path));
	if (report_too_large(c, job, id, max))
		return NULL;
	int rc = hs_report_build_max(base_path[0] ? base_path : NULL, path, max, &report, err, sizeof(err));
	if (rc == -EFBIG) {
		char why[600];

		snprintf(why, sizeof(why), "%s (report.max_mb %llu)", err, (unsigned long long)(max >> 20));
		skip_report(c, job, id, why, max);
		return NULL;
	}
	if (rc < 0) {
		log_warn("pid %d: leak report failed: %s", job->pid, err);
		report = json_pack("{s:s, s:s}", "report", "failed", "report_error", err);
		set_extra(c, job, id, report);
		json_decref(report);
		return NULL;
	}
	json_object_set_new(report, "report", json_string("done"));
	attach_stacks(c, id, report, profile_error);
	if (base_path[0])
		json_object_set_new(report, "baseline_id", json_string(job->baseline_id));
	set_extra(c, job, id, report);
	json_t *brief = hs_report_brief(report, 3);
	json_decref(report);
	return brief;
}

static void emit_refused(struct capturer *c, const struct capture_job *job, const struct guard_input *in,
			 const struct guard_verdict *v)
{
	json_t *ev = event_base("capture_refused", job);
	json_object_set_new(ev, "error", json_string(v->reason));
	json_object_set_new(ev, "limit", json_string(v->limit));
	json_object_set_new(ev, "needed_bytes", json_integer((json_int_t)v->needed_bytes));
	json_object_set_new(ev, "headroom_bytes", json_integer((json_int_t)v->headroom_bytes));
	json_object_set_new(ev, "heap_used_bytes", json_integer((json_int_t)in->heap_used_bytes));
	json_object_set_new(ev, "heap_estimated", json_boolean(v->heap_estimated));
	alert_emit(c->alerts, ev);
}

/* The memory guard, host-wide: captures of different processes run at once while the
 * guard's estimates of all of them fit. What the running captures will still take is
 * their estimates (reserved), subtracted from the host's MemAvailable: a snapshot that
 * fits alone but not beside the running ones waits for one of them to end (re-checked
 * every second, as memory may come free meanwhile); one that does not fit alone is
 * refused. Each target's own cgroup limit is checked as before: two targets in one
 * cgroup are not counted together (their usage is, as their snapshots grow).
 * true: admitted, its estimate reserved in wk->reserved; *waited_ms: the wait. */
static bool guard_admit(struct worker *wk, const struct capture_job *job, bool signal_first,
			struct capture_outcome *out, int64_t *waited_ms)
{
	struct capturer *c = wk->c;
	const struct guard_params gp = guard_params_from(c->cfg);
	int64_t t0 = mono_ms();
	char cwd[64];

	*waited_ms = 0;
	snprintf(cwd, sizeof(cwd), "/proc/%d/cwd", job->pid);
	for (bool logged = false;; logged = true) {
		struct guard_input in;
		struct guard_verdict v;
		if (guard_collect(job->pid, job->heap_used_bytes, NULL, NULL, &in) != 0)
			return true; /* the process is gone: the route will say so */
		in.file_in_memory = signal_first && guard_path_in_memory(cwd) == 1;
		bool alone = guard_check(&gp, &in, &v);
		pthread_mutex_lock(&c->lock);
		uint64_t others = c->reserved;
		if (in.mem_available_bytes)
			in.mem_available_bytes = in.mem_available_bytes > others ? in.mem_available_bytes - others : 1;
		if (alone && (!others || guard_check(&gp, &in, &v))) {
			wk->reserved = gp.enforce ? v.needed_bytes : 0;
			c->reserved += wk->reserved;
			pthread_mutex_unlock(&c->lock);
			*waited_ms = logged ? mono_ms() - t0 : 0; /* 0: it never waited */
			return true;
		}
		if (!alone || !others || c->stopping || cancel_token_is_set(&wk->cancel)) {
			pthread_mutex_unlock(&c->lock);
			emit_refused(c, job, &in, &v);
			snprintf(out->err, sizeof(out->err), "%s", v.reason);
			out->refused = true;
			return false;
		}
		if (!logged)
			log_info("pid %d: capture waits for memory: it needs %.0f MB, the running captures hold %.0f MB "
				 "of the host's available memory", job->pid, (double)v.needed_bytes / 1e6,
				 (double)others / 1e6);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
		pthread_mutex_unlock(&c->lock);
	}
}

static int finish_done(struct capturer *c, const struct capture_job *job, struct snapshot_meta *meta,
		       struct capture_outcome *out, const char *profile_error);

/* ---- the sampling heap profiler (profiler.h) ---- */

/* From its baseline on, the process runs the profiler, or the reason it cannot is kept
 * for its reports. */
static void profiler_begin(struct worker *wk, const struct capture_job *job, const struct proc_info *p)
{
	struct capturer *c = wk->c;
	char why[256];
	if (!c->cfg->profile_interval_kb || profiler_state(p->pid, p->start_time, why, sizeof(why)) == 1)
		return;
	if (c->cfg->method == CAPTURE_SIGNAL) {
		profiler_note(p->pid, p->start_time, false, "method = signal: the agent does not open the inspector");
		return;
	}
	if (!capture_inspector_usable(p, c->cfg, c->cguard, why, sizeof(why), NULL)) {
		profiler_note(p->pid, p->start_time, false, why);
		return;
	}
	struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .cguard = c->cguard };
	recovery_journal_begin(c->cfg->state_file, job, RESUME_INSPECTOR);
	if (profiler_start(&ctx, c->cfg->profile_interval_kb * 1024) < 0)
		log_warn("pid %d: no sampling heap profiler: %s", p->pid, ctx.err);
	recovery_journal_end(c->cfg->state_file, p->pid);
}

/* An incident: its process's profile beside the snapshot (ID.heapprofile); why is ""
 * then, else the reason there is none. */
static void profiler_fetch(struct worker *wk, const struct capture_job *job, const struct proc_info *p,
			   const char *id, char *why, size_t whylen)
{
	struct capturer *c = wk->c;
	int state = profiler_state(p->pid, p->start_time, why, whylen);
	if (state < 0)
		return;
	if (state == 0) {
		snprintf(why, whylen, c->cfg->profile_interval_kb ? "the profiler was not started: no baseline snapshot of this process"
				      : "the profiler is off (profile_interval_kb = 0)");
		return;
	}
	struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .cguard = c->cguard };
	char *text = NULL;
	recovery_journal_begin(c->cfg->state_file, job, RESUME_INSPECTOR);
	int rc = profiler_collect(&ctx, &text);
	recovery_journal_end(c->cfg->state_file, p->pid);
	if (rc < 0) {
		snprintf(why, whylen, "%.*s", (int)(whylen > 0 ? whylen - 1 : 0), ctx.err);
		if (rc == -ENOENT)
			profiler_note(p->pid, p->start_time, false, ctx.err);
		return;
	}
	pthread_mutex_lock(&c->store_lock);
	rc = store_side_write(c->store, id, ".heapprofile", text);
	pthread_mutex_unlock(&c->store_lock);
	free(text);
	if (rc < 0)
		snprintf(why, whylen, "the profile could not be stored: %s", strerror(-rc));
	else
		why[0] = '\0';
}

/* A previous run was killed in the middle of this capture: pick up the snapshot Node
 * went on writing (signal), or close the inspector it opened (inspector). */
static int resume(struct worker *wk, const struct capture_job *job, const struct proc_info *p,
		  struct capture_outcome *out)
{
	struct capturer *c = wk->c;
	struct snapshot_meta meta;
	bool fallback;

	if (job->resume_method == RESUME_INSPECTOR) {
		struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .cguard = c->cguard };
		int rc = recovery_close_inspector(&ctx, job->pid, out->err, sizeof(out->err));
		if (ctx.inspector_left_open) /* its journal was taken: written again for the next run */
			recovery_journal_begin(c->cfg->state_file, job, RESUME_INSPECTOR);
		return rc;
	}
	int rc = run_route(wk, job, p, false, &meta, &fallback, out->err, sizeof(out->err));
	if (rc != 0) {
		emit_failed(c, job, "signal", out->err, NULL);
		return rc;
	}
	log_info("pid %d: resumed the capture the previous run was stopped in", job->pid);
	return finish_done(c, job, &meta, out, "the capture was resumed after a restart of the agent");
}

/* A baseline cancelled for an incident says so, not "the agent is stopping". */
static void explain_preemption(struct worker *wk, char *err, size_t errlen)
{
	pthread_mutex_lock(&wk->c->lock);
	pid_t by = wk->preempted_by;
	pthread_mutex_unlock(&wk->c->lock);
	if (by)
		snprintf(err, errlen, "baseline capture cancelled: the incident capture of pid %d needed the slot",
			 (int)by);
}

/* The target is about to pay for a snapshot: what its RSS was then. */
static void note_start(struct capture_outcome *out, pid_t pid)
{
	if (out->started)
		return;
	out->started = true;
	out->rss_at_start = procs_rss_bytes(pid);
	out->started_mono_ms = mono_ms();
}

static int capture_one(struct worker *wk, const struct capture_job *queued_job, struct capture_outcome *out)
{
	struct capture_job started = *queued_job; /* + what its start measured, for the metadata */
	const struct capture_job *job = &started;
	struct capturer *c = wk->c;
	struct proc_info p;
	struct snapshot_meta meta;
	bool order[2];
	int rc = procs_read(job->pid, &p);

	if (rc || p.start_time != job->start_time) {
		snprintf(out->err, sizeof(out->err), "process exited before the capture started");
		emit_failed(c, job, "none", out->err, NULL);
		return -ESRCH;
	}
	if (job->resume_method != RESUME_NONE) {
		note_start(out, job->pid);
		return resume(wk, job, &p, out);
	}
	int routes = pick_routes(c, &p, order, out->err, sizeof(out->err));
	if (routes == 0) {
		emit_failed(c, job, "none", out->err, NULL);
		return -EOPNOTSUPP;
	}
	int64_t waited_ms;
	if (!guard_admit(wk, job, !order[0], out, &waited_ms))
		return -ENOMEM;
	/* before the baseline's snapshot: starting it renumbers V8's object ids, which the
	 * diff of the incident against the baseline matches objects by */
	if (job->baseline)
		profiler_begin(wk, job, &p);
	rc = -ECANCELED; /* cancelled before the first route */
	bool fallback = true;
	for (int i = 0; i < routes && rc != 0 && fallback && !cancel_token_is_set(&wk->cancel); i++) {
		const char *method = order[i] ? "inspector" : "signal";
		if (i > 0 && order[i] && !order[0] && !inspector_fallback_usable(c, &p, job))
			break;
		note_start(out, job->pid);
		started.rss_at_start_bytes = out->rss_at_start;
		started.wait_ms = out->started_mono_ms - job->triggered_mono_ms;
		started.memory_wait_ms = waited_ms;
		json_t *ev = event_base("capture_start", job);
		json_object_set_new(ev, "method", json_string(method));
		/* trigger -> start, of it waiting for the memory of running captures */
		json_object_set_new(ev, "wait_ms", json_integer((json_int_t)job->wait_ms));
		json_object_set_new(ev, "memory_wait_ms", json_integer((json_int_t)waited_ms));
		json_object_set_new(ev, "rss_at_start_bytes", json_integer((json_int_t)out->rss_at_start));
		json_object_set_new(ev, "heap_used_bytes", json_integer((json_int_t)job->heap_used_bytes));
		alert_emit(c->alerts, ev);

		rc = run_route(wk, job, &p, order[i], &meta, &fallback, out->err, sizeof(out->err));
		if (rc && cancel_token_is_set(&wk->cancel))
			explain_preemption(wk, out->err, sizeof(out->err));
		if (rc)
			emit_failed(c, job, method, out->err, &meta);
	}
	if (rc)
		return rc;
	char profile_error[256] = "";
	if (!job->baseline)
		profiler_fetch(wk, job, &p, meta.id, profile_error, sizeof(profile_error));
	return finish_done(c, job, &meta, out, profile_error);
}

/* What capture_done tells of a stored snapshot. */
struct done_info {
	struct capture_job job;
	char id[64], method[16], path[PATH_MAX];
	uint64_t raw_bytes, size_bytes, capture_ms;
	bool inspector_opened;         /* the agent opened the inspector: how long it was open */
	int64_t inspector_window_ms;
	char profile_error[256];       /* why the incident has no allocation stacks ("" = it has) */
};

static void emit_done(struct capturer *c, const struct done_info *d, json_t *brief)
{
	json_t *ev = event_base("capture_done", &d->job);
	if (brief)
		json_object_update_new(ev, brief);
	json_object_set_new(ev, "method", json_string(d->method));
	json_object_set_new(ev, "snapshot_id", json_string(d->id));
	json_object_set_new(ev, "path", json_string(d->path));
	json_object_set_new(ev, "raw_bytes", json_integer((json_int_t)d->raw_bytes));
	json_object_set_new(ev, "size_bytes", json_integer((json_int_t)d->size_bytes));
	json_object_set_new(ev, "capture_ms", json_integer((json_int_t)d->capture_ms));
	if (d->inspector_opened)
		json_object_set_new(ev, "inspector_window_ms", json_integer((json_int_t)d->inspector_window_ms));
	json_object_set_new(ev, "baseline", json_boolean(d->job.baseline));
	alert_emit(c->alerts, ev);
}

/* The next report to make (report_queue.h), or -1; under c->lock. */
static int report_next(struct capturer *c)
{
	uint64_t raw[QUEUE_MAX];

	for (unsigned i = 0; i < c->r_len; i++)
		raw[i] = c->reports[i].raw_bytes;
	return report_queue_next(raw, c->r_len, c->r_busy, c->r_busy_bytes, config_report_max_bytes(c->cfg));
}

/* The report threads: an incident's leak report takes seconds on a large snapshot, so
 * it is made here, not in the capture slot (the next incident must not wait for it);
 * capture_done, which carries the report's brief, follows it. Two threads, so a
 * small incident's report does not wait behind a large one (report_next). */
static void *report_main(void *arg)
{
	struct capturer *c = arg;
	int i;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while ((i = report_next(c)) < 0 && !(c->stopping && c->r_len == 0))
			pthread_cond_wait(&c->report_wake, &c->lock);
		if (i < 0)
			break;
		struct done_info d = c->reports[i];
		memmove(&c->reports[i], &c->reports[i + 1], (c->r_len - (unsigned)i - 1) * sizeof(*c->reports));
		c->r_len--;
		c->r_busy++;
		c->r_busy_bytes += d.raw_bytes;
		bool stopping = c->stopping;
		pthread_mutex_unlock(&c->lock);
		json_t *brief = NULL;
		if (stopping) {
			log_info("pid %d: leak report of %s skipped: the agent is stopping", d.job.pid, d.id);
			mark_pending(c, &d.job, d.id, "skipped: the agent was stopping");
		}
		else
			brief = attach_report(c, &d.job, d.id, d.path, d.profile_error);
		emit_done(c, &d, brief);
		pthread_mutex_lock(&c->lock);
		c->r_busy--;
		c->r_busy_bytes -= d.raw_bytes;
		pthread_cond_broadcast(&c->report_wake);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* A stored snapshot: the capture_done alert (after its report, for an incident) and
 * the outcome. */
static int finish_done(struct capturer *c, const struct capture_job *job, struct snapshot_meta *meta,
		       struct capture_outcome *out, const char *profile_error)
{
	struct done_info d = { .job = *job, .raw_bytes = meta->raw_bytes, .size_bytes = meta->size_bytes,
			       .capture_ms = meta->capture_ms, .inspector_opened = meta->inspector_opened,
			       .inspector_window_ms = meta->inspector_window_ms };
	snprintf(d.id, sizeof(d.id), "%s", meta->id);
	snprintf(d.method, sizeof(d.method), "%s", meta->method);
	snprintf(d.profile_error, sizeof(d.profile_error), "%s", profile_error);
	store_blob_path(c->store, meta->id, d.path, sizeof(d.path));
	snprintf(out->snapshot_id, sizeof(out->snapshot_id), "%s", meta->id);
	store_meta_free(meta);
	bool queued = false;
	if (!job->baseline) {
		mark_pending(c, job, d.id, NULL);
		pthread_mutex_lock(&c->lock);
		if (c->r_len < QUEUE_MAX) {
			c->reports[c->r_len] = d;
			c->r_len++;
			queued = true;
			pthread_cond_broadcast(&c->report_wake);
		}
		pthread_mutex_unlock(&c->lock);
		if (!queued) {
			log_warn("pid %d: %d leak reports waiting: %s stored without one", job->pid, QUEUE_MAX, d.id);
			mark_pending(c, job, d.id, "too many leak reports waiting");
		}
	}
	if (!queued)
		emit_done(c, &d, NULL);
	return 0;
}

static void wake_loop(struct capturer *c)
{
	uint64_t one = 1;
	if (write(c->event_fd, &one, sizeof(one)) < 0)
		log_warn("capture: cannot wake the agent loop: %s", strerror(errno));
}

/* Room for n more outcomes: the ring doubles (unwrapped into the new array). With
 * c->lock held. false when out of memory. */
static bool outcome_room(struct capturer *c, unsigned n)
{
	if (c->d_len + n <= c->d_cap)
		return true;
	unsigned cap = c->d_cap ? c->d_cap : QUEUE_MAX;
	while (cap < c->d_len + n)
		cap *= 2;
	struct capture_outcome *grown = malloc(cap * sizeof(*grown));
	if (!grown)
		return false;
	for (unsigned i = 0; i < c->d_len; i++)
		grown[i] = c->done[(c->d_head + i) % c->d_cap];
	free(c->done);
	c->done = grown;
	c->d_head = 0;
	c->d_cap = cap;
	return true;
}

/* With c->lock held and outcome_room(c, 1) true. */
static void push_outcome(struct capturer *c, const struct capture_outcome *o)
{
	c->done[(c->d_head + c->d_len) % c->d_cap] = *o;
	c->d_len++;
}

/* A finished job's outcome always reaches the loop (its process's capturing flag
 * is cleared by it): when the ring cannot grow, the worker waits until the loop
 * takes one. Only a stopping agent, whose loop takes no more, lets it go. */
static void post_outcome(struct capturer *c, const struct capture_outcome *o)
{
	pthread_mutex_lock(&c->lock);
	bool warned = false;
	while (!outcome_room(c, 1) && !c->stopping) {
		if (!warned)
			log_warn("pid %d: out of memory for capture outcomes: waiting for the agent loop", o->pid);
		warned = true;
		pthread_cond_wait(&c->taken, &c->lock);
	}
	if (c->d_len < c->d_cap)
		push_outcome(c, o);
	c->running--;
	pthread_cond_broadcast(&c->wake); /* a job of this process may now run */
	pthread_mutex_unlock(&c->lock);
	wake_loop(c);
}

static struct capture_job *queued(struct capturer *c, unsigned i)
{
	return &c->queue[(c->q_head + i) % QUEUE_MAX];
}

static bool pid_busy(const struct capturer *c, pid_t pid)
{
	for (unsigned i = 0; i < c->nthreads; i++)
		if (c->workers[i].busy && c->workers[i].job.pid == pid)
			return true;
	return false;
}

/* The first queued job whose process no worker is capturing (one capture per process
 * at a time), or -1. With c->lock held. */
static int runnable_job(const struct capturer *c)
{
	for (unsigned i = 0; i < c->q_len; i++)
		if (!pid_busy(c, c->queue[(c->q_head + i) % QUEUE_MAX].pid))
			return (int)i;
	return -1;
}

static struct capture_job take_job(struct capturer *c, unsigned at)
{
	struct capture_job job = *queued(c, at);
	for (unsigned i = at; i > 0; i--)
		*queued(c, i) = *queued(c, i - 1);
	c->q_head = (c->q_head + 1) % QUEUE_MAX;
	c->q_len--;
	return job;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct capturer *c = wk->c;

	for (;;) {
		struct capture_job job;
		int at = -1;
		pthread_mutex_lock(&c->lock);
		while (!c->stopping && (at = runnable_job(c)) < 0)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		job = take_job(c, (unsigned)at);
		c->running++;
		wk->busy = true;
		wk->job = job;
		wk->preempted_by = 0;
		pthread_mutex_unlock(&c->lock);

		struct capture_outcome out = { .pid = job.pid, .start_time = job.start_time,
					       .baseline = job.baseline };
		out.ok = capture_one(wk, &job, &out) == 0;
		pthread_mutex_lock(&c->lock);
		wk->busy = false;
		c->reserved -= wk->reserved;
		wk->reserved = 0;
		out.preempted = wk->preempted_by != 0;
		if (!c->stopping)
			cancel_token_reset(&wk->cancel);
		pthread_mutex_unlock(&c->lock);
		post_outcome(c, &out);
	}
}

struct capturer *capturer_new(const struct config *cfg, struct store *st, struct alerter *al,
			      struct connect_guard *cguard, char *err, size_t errlen)
{
	struct capturer *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->store = st;
	c->alerts = al;
	c->cguard = cguard;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->store_lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->report_wake, NULL);
	pthread_cond_init(&c->taken, NULL);
	for (unsigned i = 0; i < MAX_WORKERS; i++)
		c->workers[i].cancel.fd = -1;
	c->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->event_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(c);
		return NULL;
	}
	if (!(c->late = late_sweep_new(cfg->state_file, err, errlen))) {
		capturer_free(c);
		return NULL;
	}
	int prc = (c->reports = calloc(QUEUE_MAX, sizeof(*c->reports))) ? 0 : ENOMEM;
	while (prc == 0 && c->report_started < REPORT_THREADS)
		if ((prc = pthread_create(&c->report_threads[c->report_started], NULL, report_main, c)) == 0)
			c->report_started++;
	if (prc) {
		snprintf(err, errlen, "cannot start the report threads: %s", strerror(prc));
		capturer_free(c);
		return NULL;
	}
	unsigned want = cfg->max_concurrent; /* config.c: at least 1 */
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	for (; c->nthreads < want; c->nthreads++) {
		struct worker *wk = &c->workers[c->nthreads];
		wk->c = c;
		int rc = -cancel_token_init(&wk->cancel);
		if (rc == 0 && (rc = pthread_create(&wk->thread, NULL, worker_main, wk)))
			cancel_token_destroy(&wk->cancel);
		if (rc) {
			snprintf(err, errlen, "cannot start capture threads: %s", strerror(rc));
			capturer_free(c);
			return NULL;
		}
	}
	return c;
}

void capturer_free(struct capturer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	for (unsigned i = 0; i < c->nthreads; i++)
		cancel_token_fire(&c->workers[i].cancel);
	pthread_cond_broadcast(&c->wake);
	pthread_cond_broadcast(&c->taken);
	pthread_mutex_unlock(&c->lock);
	pthread_cond_broadcast(&c->report_wake);
	for (unsigned i = 0; i < c->nthreads; i++) {
		pthread_join(c->workers[i].thread, NULL);
		cancel_token_destroy(&c->workers[i].cancel);
	}
	if (c->report_started) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->report_wake); /* the workers may have queued more */
		pthread_mutex_unlock(&c->lock);
	}
	for (unsigned i = 0; i < c->report_started; i++)
		pthread_join(c->report_threads[i], NULL);
	free(c->reports);
	free(c->done);
	late_sweep_free(c->late);
	close(c->event_fd);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->report_wake);
	pthread_cond_destroy(&c->taken);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->store_lock);
	free(c);
}

/* An incident makes a queued baseline of its own process pointless (a baseline after
 * an incident is no baseline): dropped, with an outcome so the agent knows. Returns
 * how many. */
static unsigned drop_queued_baselines(struct capturer *c, pid_t pid)
{
	unsigned kept = 0, dropped = 0;
	for (unsigned i = 0; i < c->q_len; i++) {
		struct capture_job *j = queued(c, i);
		if (j->baseline && j->pid == pid && j->resume_method == RESUME_NONE && outcome_room(c, 1)) {
			struct capture_outcome o = { .pid = j->pid, .start_time = j->start_time,
						     .baseline = true, .preempted = true };
			snprintf(o.err, sizeof(o.err), "queued baseline dropped: the incident came first");
			push_outcome(c, &o);
			dropped++;
			continue;
		}
		if (kept != i)
			*queued(c, kept) = *j;
		kept++;
	}
	c->q_len = kept;
	return dropped;
}

/* Incidents go ahead of every queued baseline, in arrival order among themselves. */
static void enqueue(struct capturer *c, const struct capture_job *job)
{
	unsigned at = c->q_len;
	if (!job->baseline)
		for (unsigned i = 0; i < c->q_len; i++)
			if (queued(c, i)->baseline) {
				at = i;
				break;
			}
	for (unsigned i = c->q_len; i > at; i--)
		*queued(c, i) = *queued(c, i - 1);
	*queued(c, at) = *job;
	c->q_len++;
}

static bool preemptible(const struct worker *wk)
{
	return wk->busy && wk->job.baseline && wk->job.resume_method == RESUME_NONE && !wk->preempted_by;
}

/* An incident that would wait takes the slot of a running baseline: its own
 * process's (one capture per process at a time), or any when no worker is free. */
static void preempt_baseline(struct capturer *c, const struct capture_job *incident)
{
	struct worker *victim = NULL;
	for (unsigned i = 0; i < c->nthreads; i++)
		if (c->workers[i].busy && c->workers[i].job.pid == incident->pid)
			victim = &c->workers[i];
	if (victim && !preemptible(victim))
		return; /* its own incident or resumed capture: wait for it */
	if (!victim && c->running < c->nthreads)
		return; /* a free worker takes it */
	for (unsigned i = 0; !victim && i < c->nthreads; i++)
		if (preemptible(&c->workers[i]))
			victim = &c->workers[i];
	if (!victim)
		return;
	victim->preempted_by = incident->pid;
	cancel_token_fire(&victim->cancel);
	log_info("pid %d: baseline capture cancelled: the incident capture of pid %d is waiting",
		 victim->job.pid, incident->pid);
}

int capturer_submit(struct capturer *c, const struct capture_job *job)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	bool dropped = !job->baseline && drop_queued_baselines(c, job->pid);
	if (dropped)
		log_info("pid %d: queued baseline dropped: its incident came first", job->pid);
	if (c->q_len >= QUEUE_MAX) {
		rc = -EBUSY;
	} else {
		enqueue(c, job);
		if (!job->baseline)
			preempt_baseline(c, job);
		pthread_cond_broadcast(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	if (dropped)
		wake_loop(c);
	return rc;
}

int capturer_fd(const struct capturer *c) { return c->event_fd; }

int capturer_take(struct capturer *c, struct capture_outcome *out)
{
	uint64_t count;
	int got = 0;

	if (read(c->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_debug("capture: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&c->lock);
	if (c->d_len > 0) {
		*out = c->done[c->d_head];
		c->d_head = (c->d_head + 1) % c->d_cap;
		c->d_len--;
		got = 1;
		pthread_cond_signal(&c->taken);
	}
	pthread_mutex_unlock(&c->lock);
	return got;
}

bool capturer_is_running(struct capturer *c, pid_t pid)
{
	pthread_mutex_lock(&c->lock);
	bool busy = pid_busy(c, pid);
	pthread_mutex_unlock(&c->lock);
	return busy;
}

unsigned capturer_pending(struct capturer *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = c->q_len + c->running;
	pthread_mutex_unlock(&c->lock);
	return n;
}
