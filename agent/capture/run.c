// SPDX-License-Identifier: Apache-2.0
/* One job's capture (see run.h). */
#include "capture/run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "base/loop.h"
#include "capture/admit.h"
#include "capture/capture_route.h"
#include "capture/events.h"
#include "capture/incident_report.h"
#include "capture/late_sweep.h"
#include "capture/profiler.h"
#include "capture/resume.h"
#include "track/gc.h"
#include "track/procs.h"

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
	host_machine_id(m->machine_id, sizeof(m->machine_id));
	snprintf(m->reason, sizeof(m->reason), "%s", trigger_reason_name(job->reason));
	snprintf(m->method, sizeof(m->method), "%s", method);
	m->rss_bytes = job->rss_bytes;
	m->heap_used_bytes = job->heap_used_bytes;
	m->heap_at_trigger_bytes = job->heap_at_trigger_bytes;
	m->rss_at_start_bytes = job->rss_at_start_bytes;
	m->heap_at_start_bytes = job->heap_at_start_bytes;
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
		     enum route route, struct snapshot_meta *meta, bool *fallback, char *err, size_t errlen)
{
	struct capturer *c = wk->c;
	struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .late = c->late,
				   .cguard = c->cguard };
	bool inspector = route == ROUTE_INSPECTOR;
	const char *method = route_name(route);
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
	recovery_journal_begin(c->cfg->state_file, job, route);
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
	if (rc == 0 && meta->compress_fast_blocks)
		log_info("pid %d: snapshot %s: %llu of %llu blocks at level 1: compression was behind "
			 "the snapshot's writer", p->pid, meta->id,
			 (unsigned long long)meta->compress_fast_blocks,
			 (unsigned long long)meta->compress_blocks);
	return rc;
}

static bool signal_answered(struct capturer *c, const struct proc_info *p, char *why, size_t whylen)
{
	int64_t age_ms;
	if (!late_sweep_pending(c->late, p->pid, p->start_time, &age_ms))
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

struct inspector_probe {
	struct capturer *c;
	const struct proc_info *p;
};

static void probe_inspector(void *ctx, struct route_facts *f)
{
	struct inspector_probe *ip = ctx;

	f->inspector_usable = capture_inspector_usable(ip->p, ip->c->cfg, ip->c->cguard, f->why_inspector,
						       sizeof(f->why_inspector), &f->inspector);
}

/* The routes to try (route_choose). Returns how many, 0 with why. */
static int pick_routes(struct capturer *c, const struct proc_info *p, struct route_choice *choice, char *why,
		       size_t whylen)
{
	struct route_facts f = { 0 };
	struct inspector_probe ip = { .c = c, .p = p };

	f.signal_usable = capture_signal_usable(p, f.why_signal, sizeof(f.why_signal)) &&
			  signal_answered(c, p, f.why_signal, sizeof(f.why_signal));
	route_choose(c->cfg->method, &f, probe_inspector, &ip, choice);
	if (choice->n == 0) {
		static const char prefix[] = "no capture route: ";
		snprintf(why, whylen, "%s", prefix);
		if (whylen > sizeof(prefix))
			route_why_none(choice, &f, why + sizeof(prefix) - 1, whylen - sizeof(prefix) + 1);
	}
	return choice->n;
}

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
	recovery_journal_begin(c->cfg->state_file, job, ROUTE_INSPECTOR);
	if (profiler_start(&ctx, c->cfg->profile_interval_kb * 1024) < 0)
		log_warn("pid %d: no sampling heap profiler: %s", p->pid, ctx.err);
	recovery_journal_end(c->cfg->state_file, p->pid);
}

/* A profiler-only job: the process reached its baseline point but gets no baseline
 * snapshot (skipped as too late, baselines off, or the leak's incident too close): the
 * profiler starts alone, so its incident's report still has stacks. No snapshot, so
 * no memory guard and no capture events. 0 when it runs, else why in out->err. */
static int profiler_only(struct worker *wk, const struct capture_job *job, const struct proc_info *p,
			 struct capture_outcome *out)
{
	char why[256] = "";
	profiler_begin(wk, job, p); /* nothing to do when it runs already */
	if (profiler_state(p->pid, p->start_time, why, sizeof(why)) == 1)
		return 0;
	snprintf(out->err, sizeof(out->err), "%s", why[0] ? why : "the profiler is off");
	return -EAGAIN;
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
		snprintf(why, whylen, c->cfg->profile_interval_kb ? "the profiler was not started: the process reached "
				      "no baseline point (nor a leaning leak verdict) before this incident"
				      : "the profiler is off (profile_interval_kb = 0)");
		return;
	}
	struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .cguard = c->cguard };
	char *text = NULL;
	recovery_journal_begin(c->cfg->state_file, job, ROUTE_INSPECTOR);
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

	if (job->resume_method == ROUTE_INSPECTOR) {
		struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &wk->cancel, .cguard = c->cguard };
		int rc = recovery_close_inspector(&ctx, job->pid, out->err, sizeof(out->err));
		if (ctx.inspector_left_open) /* its journal was taken: written again for the next run */
			recovery_journal_begin(c->cfg->state_file, job, ROUTE_INSPECTOR);
		return rc;
	}
	int rc = run_route(wk, job, p, ROUTE_SIGNAL, &meta, &fallback, out->err, sizeof(out->err));
	if (rc != 0) {
		emit_failed(c, job, ROUTE_SIGNAL, out->err, NULL);
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
static void note_start(const struct capturer *c, struct capture_outcome *out, pid_t pid)
{
	if (out->started)
		return;
	out->started = true;
	out->rss_at_start = procs_rss_bytes(pid);
	out->heap_at_start = gc_heap_last_of(c->gc_stats_fd, pid);
	out->started_mono_ms = mono_ms();
}

int capture_one(struct worker *wk, const struct capture_job *queued_job, struct capture_outcome *out)
{
	struct capture_job started = *queued_job; /* + what its start measured, for the metadata */
	const struct capture_job *job = &started;
	struct capturer *c = wk->c;
	struct proc_info p;
	struct snapshot_meta meta;
	struct route_choice routes;
	int rc = procs_read(job->pid, &p);

	if (rc || p.start_time != job->start_time) {
		snprintf(out->err, sizeof(out->err), "process exited before the capture started");
		if (!job->profile_only)
			emit_failed(c, job, ROUTE_NONE, out->err, NULL);
		return -ESRCH;
	}
	if (job->profile_only)
		return profiler_only(wk, job, &p, out);
	if (job->resume_method != ROUTE_NONE) {
		note_start(c, out, job->pid);
		return resume(wk, job, &p, out);
	}
	if (pick_routes(c, &p, &routes, out->err, sizeof(out->err)) == 0) {
		emit_failed(c, job, ROUTE_NONE, out->err, NULL);
		return -EOPNOTSUPP;
	}
	int64_t waited_ms;
	if (!guard_admit(wk, job, routes.order[0] == ROUTE_SIGNAL, out, &waited_ms)) {
		if (job->baseline && !cancel_token_is_set(&wk->cancel)) /* the profiler costs no snapshot's memory */
			profiler_begin(wk, job, &p);
		return -ENOMEM;
	}
	/* before the baseline's snapshot: starting it renumbers V8's object ids, which the
	 * diff of the incident against the baseline matches objects by */
	if (job->baseline)
		profiler_begin(wk, job, &p);
	rc = -ECANCELED; /* cancelled before the first route */
	bool fallback = true;
	for (int i = 0; i < routes.n && rc != 0 && fallback && !cancel_token_is_set(&wk->cancel); i++) {
		enum route route = routes.order[i];
		if (i > 0 && route == ROUTE_INSPECTOR && routes.order[0] != ROUTE_INSPECTOR &&
		    !inspector_fallback_usable(c, &p, job))
			break;
		note_start(c, out, job->pid);
		started.rss_at_start_bytes = out->rss_at_start;
		started.heap_at_start_bytes = out->heap_at_start;
		started.wait_ms = out->started_mono_ms - job->triggered_mono_ms;
		started.memory_wait_ms = waited_ms;
		emit_start(c, job, route, waited_ms, out->rss_at_start, out->heap_at_start);

		rc = run_route(wk, job, &p, route, &meta, &fallback, out->err, sizeof(out->err));
		if (rc && cancel_token_is_set(&wk->cancel))
			explain_preemption(wk, out->err, sizeof(out->err));
		if (rc)
			emit_failed(c, job, route, out->err, &meta);
	}
	if (rc)
		return rc;
	char profile_error[256] = "";
	if (!job->baseline)
		profiler_fetch(wk, job, &p, meta.id, profile_error, sizeof(profile_error));
	return finish_done(c, job, &meta, out, profile_error);
}
