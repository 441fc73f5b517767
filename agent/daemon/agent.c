// SPDX-License-Identifier: Apache-2.0
/* The watched-process table; each kernel event wired to the engine's decision
 * (decide/engine.h) and each decision to a capture. */
#include "daemon/agent.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/identity.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/sanitize.h"
#include "capture/capture_route.h"
#include "capture/inspector/connect_guard.h"
#include "capture/resume.h"
#include "capture/route.h"
#include "decide/engine.h"
#include "decide/guard.h"
#include "export/metrics.h"
#include "track/features.h"
#include "track/gc.h"
#include "track/probes.h"

void agent_set_config(struct agent *a, const struct config *cfg)
{
	a->cfg = cfg;
	a->policy.trigger = trigger_params_from(cfg);
	a->policy.leak = leak_params_from(cfg);
	a->policy.predict = predict_params_from(cfg);
}

struct watched *agent_find(struct agent *a, pid_t pid)
{
	for (size_t i = 0; i < a->nprocs; i++)
		if (a->procs[i]->pid == pid)
			return a->procs[i];
	return NULL;
}

struct inspector_probe {
	struct agent *a;
	struct watched *w;
};

/* The inspector's facts for ps (a scan of the host's sockets, 10-20 ms: asked only when
 * ps asks, never at exec). An inspector open before the agent came is the operator's:
 * used as it is, without the connect guard, and ps says so (not the one the agent
 * opened for a capture running now). */
static void probe_inspector(void *ctx, struct route_facts *f)
{
	struct inspector_probe *ip = ctx;
	struct watched *w = ip->w;

	f->inspector_usable = capture_inspector_usable(&w->info, ip->a->cfg, ip->a->cguard, f->why_inspector,
						       sizeof(f->why_inspector), &f->inspector);
	if (f->inspector.already_open && w->capture.running && !w->info.opts.inspect && !w->operators_inspector)
		f->inspector.already_open = false; /* the agent's own, opened for this capture */
	w->operators_inspector = f->inspector_usable && f->inspector.already_open;
	f->guard_available = connect_guard_available(ip->a->cguard);
}

/* The route a capture would take now (route_choose, as captures ask it), as ps shows
 * it: "signal SIGUSR2", "inspector (guarded)", "none: why; why"; the reason's text in
 * reason. A signal not answered yet is not used until it is (capture.c) and said. */
static void describe_route(struct agent *a, struct watched *w, char *out, size_t outlen, const char **reason)
{
	struct route_facts f = { 0 };
	struct inspector_probe ip = { .a = a, .w = w };
	struct route_choice choice;
	int64_t age_ms;
	bool unanswered = a->capturer && capturer_signal_unanswered(a->capturer, w->pid, w->start_time, &age_ms);

	f.signal_usable = capture_signal_usable(&w->info, f.why_signal, sizeof(f.why_signal));
	if (f.signal_usable && unanswered) {
		f.signal_usable = false;
		snprintf(f.why_signal, sizeof(f.why_signal), "signal unanswered for %lld s (event loop blocked?)",
			 (long long)(age_ms / 1000));
	}
	route_choose(a->cfg->method, &f, probe_inspector, &ip, &choice);
	route_describe(&choice, &f, w->info.opts.heapsnapshot_signal, out, outlen);
	if (unanswered && choice.n > 0) {
		size_t used = strlen(out);
		snprintf(out + used, outlen - used, "; %s", f.why_signal);
	}
	*reason = route_reason_text(choice.reason);
}

/* Disarmed while a capture runs or a timer will look again anyway (engine_arm_level):
 * the kernel need not report every page fault meanwhile. */
static void arm(struct agent *a, struct watched *w)
{
	struct engine_arm_facts f = {
		.capture_running = w->capture.running,
		.capture_baseline = w->capture.baseline,
		.waiting = w->watch.retry_at_ms || w->watch.settle_at_ms || w->cost.settle_at_ms,
		.last_rss = w->watch.last_rss,
	};
	uint64_t level = engine_arm_level(&a->policy.trigger, &w->trig, &f, mono_ms());

	if (level == w->watch.armed_bytes)
		return;
	if (probes_arm(a->probes, w->pid, level) == 0)
		w->watch.armed_bytes = level;
}

static bool table_reserve(struct agent *a)
{
	if (a->nprocs < a->cap)
		return true;
	size_t cap = a->cap ? a->cap * 2 : 64;
	struct watched **grown = realloc(a->procs, cap * sizeof(*grown));
	if (!grown)
		return false;
	a->procs = grown;
	a->cap = cap;
	return true;
}

/* The persisted state's text: settled processes only (one still in its start-up has
 * no baseline yet: a run that finds it again takes one as for any process it finds). */
static char *persisted_text(const struct agent *a)
{
	struct persisted *items = calloc(a->nprocs ? a->nprocs : 1, sizeof(*items));
	size_t n = 0;

	if (!items)
		return NULL;
	for (size_t i = 0; i < a->nprocs; i++) {
		const struct watched *w = a->procs[i];
		if (w->watch.settle_at_ms)
			continue;
		items[n] = (struct persisted){ .pid = w->pid, .start_time = w->start_time, .trig = w->trig };
		snprintf(items[n].baseline_id, sizeof(items[n].baseline_id), "%s", w->baseline_id);
		n++;
	}
	char *text = persist_dump(items, n);
	free(items);
	return text;
}

void agent_flush_state(struct agent *a, bool force)
{
	int64_t now = mono_ms();

	if (!a->persist.dirty || !a->cfg->state_file[0] || (!force && !persist_batch_due(&a->persist, now)))
		return;
	int rc = persist_batch_write(&a->persist, a->cfg->state_file, persisted_text(a), now);
	if (rc < 0)
		log_warn("cannot save %s: %s", a->cfg->state_file, strerror(-rc));
}

/* The persisted state changed: written by the next flush (agent_tick), or now when
 * urgent (a capture's start or outcome: a crash must not let the next run capture the
 * process again as if it had not been). */
static void save(struct agent *a, bool urgent)
{
	persist_batch_changed(&a->persist, urgent);
	if (urgent)
		agent_flush_state(a, true);
}

void agent_restore(struct agent *a)
{
	if (!a->cfg->state_file[0])
		return;
	int rc = persist_load(a->cfg->state_file, &a->restored, &a->nrestored);
	if (rc)
		log_warn("%s: %s, starting without the previous run's baselines", a->cfg->state_file,
			 rc == -EINVAL ? "damaged" : strerror(-rc));
}

/* The previous run knew this process: go on with its baselines. */
static bool restore(struct agent *a, struct watched *w)
{
	for (size_t i = 0; i < a->nrestored; i++) {
		const struct persisted *p = &a->restored[i];
		if (p->pid != w->pid || p->start_time != w->start_time)
			continue;
		w->trig = p->trig;
		snprintf(w->baseline_id, sizeof(w->baseline_id), "%s", p->baseline_id);
		return true;
	}
	return false;
}

/* GC probes for this process's binary (attached once per binary). Without them
 * the agent works on RSS alone, and says so. Not final: the process was seen at exec,
 * when the dynamic loader may not have mapped a libnode.so yet (Debian's node is a
 * launcher linked to it): a failure is only noted, and settle() tries once more.
 * Looked up at exec, not deferred to settle: a process that grows past its threshold
 * before settle must have its heap measured by then, or the memory guard, which
 * estimates a snapshot from the heap, can only guess from RSS (and refuses). For a
 * Node binary seen before that costs one stat (gc_watch_opts); the maps are read only
 * for an executable without V8 (a launcher linked to libnode.so). With --use-largepages
 * Node remaps its text once it runs: looked up at settle, when the maps tell whether
 * it did. */
static void attach_gc(struct agent *a, struct watched *w, bool final)
{
	struct gc_watch_opts opts = {
		.text_stays_file_mapped = !w->info.opts.use_largepages,
		/* taken a moment ago by procs, at exec; at settle the binary may be another */
		.exe_stat = !final && w->info.exe_stat_known ? &w->info.exe_stat : NULL,
	};
	char why[160];
	char path[PATH_MAX];
	int nprobes = 0;

	leak_series_init(&w->leak.heap_floor, a->policy.leak.window_s);
	w->leak.state = LEAK_NONE;
	if (!a->gc) {
		snprintf(w->gc.probes, sizeof(w->gc.probes), "none: GC tracking unavailable on this host");
		return;
	}
	if (!final && w->info.opts.use_largepages) {
		snprintf(w->gc.probes, sizeof(w->gc.probes), "pending: --use-largepages, looked up %d s after exec",
			 AGENT_SETTLE_MS / 1000);
		w->gc.retry_at_settle = true;
		return;
	}
	if (gc_tracker_watch(a->gc, w->pid, &opts, why, sizeof(why)) != 0) {
		char text[sizeof(why) + 8];

		/* why may name a path from the process's maps: valid UTF-8 for the JSON of ps */
		snprintf(text, sizeof(text), "none: %s", why);
		sanitize(text, SANITIZE_UTF8, w->gc.probes, sizeof(w->gc.probes));
		w->gc.retry_at_settle = !final;
		if (final)
			log_warn("pid %d: no GC probes (%s): working on RSS alone", w->pid, why);
		return;
	}
	w->gc.attached = true;
	if (gc_tracker_binary(a->gc, w->pid, path, sizeof(path), &nprobes) == 0)
		snprintf(w->gc.probes, sizeof(w->gc.probes), "attached (%d probes)", nprobes);
	else
		snprintf(w->gc.probes, sizeof(w->gc.probes), "attached");
}

static uint64_t heap_used_of(struct agent *a, const struct watched *w)
{
	struct gc_stats st;

	if (!w->gc.attached || gc_tracker_stats(a->gc, w->pid, &st) != 0)
		return 0;
	return st.heap_used_bytes;
}

/* The heap after the main isolate's newest GC of any kind (0 = unknown): the heap at a
 * trigger, to compare a capture's start with (the last major GC's floor may be seconds
 * and a fast leak's megabytes older). */
static uint64_t heap_last_of(struct agent *a, const struct watched *w)
{
	struct gc_stats st;

	if (!w->gc.attached || gc_tracker_stats(a->gc, w->pid, &st) != 0)
		return 0;
	return st.heap_used_last_bytes;
}

/* Watch pid; exec_ms: when it was seen at exec (its kernel entry made then, by
 * exec_seen), 0 for a process found running. False when it is not watched. */
static bool add_process(struct agent *a, pid_t pid, int64_t exec_ms)
{
	bool just_exec = exec_ms != 0;
	struct watched *w;

	if (agent_find(a, pid) || !table_reserve(a))
		return false;
	w = calloc(1, sizeof(*w));
	if (!w)
		return false;
	/* The name first: a process that is not a Node gets nothing read but its stat and
	 * exe link (its maps, environment and files are its owner's to make hostile). */
	if (procs_read_named(pid, a->cfg->node_names, a->cfg->node_name_count, a->cfg->require_env, just_exec,
			     &w->info) != 0) {
		free(w);
		return false;
	}
	w->pid = pid;
	w->start_time = w->info.start_time;
	w->first_seen_wall_ms = wall_ms();
	uint64_t rss = w->info.rss_bytes ? w->info.rss_bytes : procs_rss_bytes(pid); /* read with its status */
	bool restored = !just_exec && restore(a, w);
	if (!restored)
		trigger_init(&w->trig, rss);
	w->watch.last_rss = rss;
	if (just_exec)
		w->watch.settle_at_ms = exec_ms + AGENT_SETTLE_MS;
	w->watch.armed_bytes =
		just_exec ? TRIGGER_NEVER : trigger_arm_level(&a->policy.trigger, &w->trig, mono_ms());
	/* seen at exec: the kernel's entry, unarmed until settle, has followed its RSS since */
	if (!just_exec && probes_watch(a->probes, pid, w->watch.armed_bytes, w->trig.rss_first_seen) != 0) {
		log_warn("pid %d: cannot watch: kernel table full (%d processes)", pid, HS_MAX_WATCHED);
		free(w);
		return false;
	}
	attach_gc(a, w, !just_exec);
	w->labels.pid = pid;
	snprintf(w->labels.app, sizeof(w->labels.app), "%s", w->info.labels.app);
	identity_container_short(w->info.labels.container_id, w->labels.container);
	a->procs[a->nprocs++] = w;
	alert_process(a->alerts, &w->labels, false);
	/* The signal route is known from the options; the inspector's needs a scan of the
	 * host's sockets, done when a capture or `heapsnap ps` asks, not at every exec. */
	char route[96] = "the inspector's or none, looked up when a capture or `heapsnap ps` asks";
	if (w->info.opts.heapsnapshot_signal)
		snprintf(route, sizeof(route), "signal SIG%s", sigabbrev_np(w->info.opts.heapsnapshot_signal));
	log_info("watching pid %d (%s %s), RSS %.1f MB, %s %.1f MB, capture route: %s", pid,
		 w->info.exe, w->info.node_version[0] ? w->info.node_version : "version unknown",
		 (double)rss / 1e6, restored ? "restored baseline" : "baseline",
		 (double)w->trig.rss_first_seen / 1e6, route);
	save(a, false);
	return true;
}

void agent_add(struct agent *a, pid_t pid, bool just_exec)
{
	int64_t now = mono_ms();

	if (!just_exec)
		add_process(a, pid, 0);
	else if (probes_watch(a->probes, pid, TRIGGER_NEVER, 0) == 0 && !add_process(a, pid, now))
		probes_unwatch(a->probes, pid);
}

/* --- processes seen at exec, set up AGENT_DEFER_MS later ----------------------------- */

static bool exec_queued(const struct agent *a, pid_t pid)
{
	for (size_t i = 0; i < a->execs.n; i++)
		if (a->execs.q[i].pid == pid)
			return true;
	return false;
}

/* The timer at the oldest one's set-up time (an absolute time already past fires at once). */
static void exec_timer_arm(struct agent *a)
{
	int64_t due = a->execs.q[0].at_ms + AGENT_DEFER_MS;
	struct itimerspec its = { .it_value = { due / 1000, (long)(due % 1000) * 1000000 + 1 } };

	if (timerfd_settime(a->execs.timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		log_warn("exec set-up timer: %s", strerror(errno));
}

/* A Node exec'ed, its kernel entry made by the exec program (so that its exit is
 * reported even if it does not live to be set up): the rest once it has lived
 * AGENT_DEFER_MS. */
static void exec_seen(struct agent *a, pid_t pid, bool kernel_entry)
{
	if (agent_find(a, pid) || exec_queued(a, pid))
		return;
	if (!kernel_entry) {
		log_warn("pid %d: cannot watch: kernel table full (%d processes)", pid, HS_MAX_WATCHED);
		return;
	}
	if (a->execs.n == a->execs.cap) {
		size_t cap = a->execs.cap ? a->execs.cap * 2 : 16;
		struct exec_seen *q = cap <= HS_MAX_WATCHED ? realloc(a->execs.q, cap * sizeof(*q)) : NULL;

		if (!q) {
			log_warn("pid %d: not watched: %zu processes exec'ed in the last %d ms", pid, a->execs.n,
				 AGENT_DEFER_MS);
			probes_unwatch(a->probes, pid);
			return;
		}
		a->execs.q = q;
		a->execs.cap = cap;
	}
	a->execs.q[a->execs.n++] = (struct exec_seen){ .pid = pid, .at_ms = mono_ms() };
	if (a->execs.n == 1)
		exec_timer_arm(a);
}

/* pid exited: true if it was still waiting for its set-up (then nothing more to do). */
static bool exec_forget(struct agent *a, pid_t pid)
{
	for (size_t i = 0; i < a->execs.n; i++) {
		if (a->execs.q[i].pid != pid)
			continue;
		log_debug("pid %d exited %lld ms after its exec, before its set-up", pid,
			  (long long)(mono_ms() - a->execs.q[i].at_ms));
		memmove(&a->execs.q[i], &a->execs.q[i + 1], (a->execs.n - i - 1) * sizeof(a->execs.q[0]));
		a->execs.n--;
		return true;
	}
	return false;
}

int agent_execs_fd(const struct agent *a)
{
	return a->execs.timerfd;
}

void agent_execs_due(struct agent *a)
{
	uint64_t expirations;
	size_t due = 0;
	int64_t now;

	if (read(a->execs.timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	probes_consume(a->probes); /* the exits reported meanwhile first: those are not set up */
	now = mono_ms();
	while (due < a->execs.n && a->execs.q[due].at_ms + AGENT_DEFER_MS <= now)
		due++;
	for (size_t i = 0; i < due; i++) {
		const struct exec_seen *e = &a->execs.q[i];

		if (!add_process(a, e->pid, e->at_ms))
			probes_unwatch(a->probes, e->pid);
	}
	a->execs.n -= due;
	memmove(a->execs.q, a->execs.q + due, a->execs.n * sizeof(a->execs.q[0]));
	if (a->execs.n)
		exec_timer_arm(a);
}

void agent_remove(struct agent *a, pid_t pid)
{
	if (exec_forget(a, pid))
		return;
	for (size_t i = 0; i < a->nprocs; i++) {
		if (a->procs[i]->pid != pid)
			continue;
		log_info("pid %d exited", pid);
		/* no probes_unwatch: the kernel dropped pid's entry as it reported the exit */
		if (a->procs[i]->gc.attached)
			gc_tracker_unwatch(a->gc, pid);
		alert_process(a->alerts, &a->procs[i]->labels, true);
		free(a->procs[i]);
		a->procs[i] = a->procs[--a->nprocs];
		save(a, false);
		return;
	}
}

/* A journal of the previous run, as a job (recovery.h): queued if its process still
 * runs and nothing of it is queued already. */
static void resume_one(void *arg, struct capture_job *job)
{
	struct agent *a = arg;
	struct watched *w = agent_find(a, job->pid);

	if (!w || w->start_time != job->start_time || w->capture.running)
		return;
	if (!job->baseline)
		snprintf(job->baseline_id, sizeof(job->baseline_id), "%s", w->baseline_id);
	log_info("pid %d: the previous run was stopped during its %s capture: resuming it", w->pid,
		 route_name(job->resume_method));
	if (capturer_submit(a->capturer, job) == 0) {
		w->capture.running = true;
		arm(a, w);
	}
}

void agent_resume_interrupted(struct agent *a)
{
	recovery_resume_interrupted(a->cfg->state_file, resume_one, a);
}

/* The previous run's state is for the first scan only: freed here, after it (or
 * at the end, if no scan ran). */
static void forget_restored(struct agent *a)
{
	free(a->restored);
	a->restored = NULL;
	a->nrestored = 0;
}

void agent_scan(struct agent *a)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d) {
		log_error("cannot scan /proc: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end == '\0' && pid > 0)
			agent_add(a, (pid_t)pid, false);
	}
	closedir(d);
	forget_restored(a);
}

static void emit_trigger(struct agent *a, struct watched *w, uint64_t rss, const struct engine_decision *d,
			 uint64_t heap_at_trigger)
{
	struct event ev = { .kind = EVENT_TRIGGER, .pid = w->pid, .reason = d->reason, .rss_bytes = rss,
			    .threshold_bytes = d->threshold_bytes };

	ev.trigger.rss_first_seen = w->trig.rss_first_seen;
	ev.trigger.app_rss_bytes = d->app_rss;
	ev.trigger.capture_offset_bytes = w->trig.capture_offset;
	/* The heap after the last major GC at the trigger (0 = not measured): the leak
	 * verdict's own measure, and how far a later capture is from it. */
	ev.trigger.heap_used_bytes = d->heap_used;
	ev.trigger.heap_at_trigger_bytes = heap_at_trigger;
	alert_emit_event(a->alerts, &ev);
}

/* The report of an incident diffs against the baseline only when the application
 * grew enough since it; otherwise it comes from the incident snapshot alone. */
static void pick_report_baseline(struct agent *a, struct watched *w, uint64_t rss, struct capture_job *job)
{
	uint64_t app = trigger_app_rss(&w->trig, rss);

	if (!w->baseline_id[0])
		return;
	uint64_t heap = heap_used_of(a, w);
	if (job->reason == TRIGGER_LEAK && heap && w->trig.baseline_heap) {
		if (trigger_baseline_usable_heap(&w->trig, heap)) {
			snprintf(job->baseline_id, sizeof(job->baseline_id), "%s", w->baseline_id);
			return;
		}
		log_info("pid %d: baseline %s is only %.1f MB of heap below this leak incident (%.1f MB): the "
			 "report comes from the incident snapshot alone", w->pid, w->baseline_id,
			 (double)(heap > w->trig.baseline_heap ? heap - w->trig.baseline_heap : 0) / 1e6,
			 (double)heap / 1e6);
		return;
	}
	if (trigger_baseline_usable(&a->policy.trigger, &w->trig, app)) {
		snprintf(job->baseline_id, sizeof(job->baseline_id), "%s", w->baseline_id);
		return;
	}
	log_info("pid %d: baseline %s is only %.1f MB below this incident: the report comes from the "
		 "incident snapshot alone", w->pid, w->baseline_id,
		 (double)(app > w->trig.baseline_app_rss ? app - w->trig.baseline_app_rss : 0) / 1e6);
}

static void request_capture(struct agent *a, struct watched *w, enum trigger_reason reason, uint64_t rss,
			    uint64_t threshold, uint64_t heap_at_trigger)
{
	struct capture_job job = {
		.pid = w->pid,
		.start_time = w->start_time,
		.rss_bytes = rss,
		.threshold_bytes = threshold,
		.triggered_wall_ms = wall_ms(),
		.triggered_mono_ms = mono_ms(),
		.reason = reason,
		.baseline = reason == TRIGGER_BASELINE,
		.heap_used_bytes = heap_used_of(a, w),
		.heap_at_trigger_bytes = heap_at_trigger,
	};

	if (!job.baseline)
		pick_report_baseline(a, w, rss, &job);
	if (w->capture.running && (job.baseline || !w->capture.baseline)) {
		log_info("pid %d: %s trigger while a capture is running, skipped", w->pid,
			 trigger_reason_name(reason));
		return;
	}
	if (capturer_submit(a->capturer, &job) != 0) {
		log_warn("pid %d: capture queue full, %s trigger dropped", w->pid, trigger_reason_name(reason));
		return;
	}
	cost_begin(&w->cost, w->capture.running, w->trig.capture_offset,
		   engine_growth_rate(&w->predict.window, mono_ms()));
	if (job.baseline) {
		w->capture.baseline_app_rss = trigger_app_rss(&w->trig, rss);
		w->capture.baseline_heap = job.heap_used_bytes;
	}
	w->capture.pending++;
	w->capture.running = true;
	w->capture.baseline = job.baseline;
	arm(a, w);
	save(a, true);
}

/* The sampling profiler alone, no snapshot (engine.h's start_profiler): queued behind
 * any incident of the same decision; not a capture of the process for its bookkeeping
 * (its RSS, its arming). */
static void request_profiler(struct agent *a, struct watched *w, const struct engine_decision *d)
{
	struct capture_job job = { .pid = w->pid, .start_time = w->start_time, .reason = TRIGGER_BASELINE,
				   .profile_only = true, .rss_bytes = w->watch.last_rss,
				   .triggered_wall_ms = wall_ms(), .triggered_mono_ms = mono_ms() };
	const char *why = d->action == ENGINE_INCIDENT ? "after this incident, for the next one"
			  : d->hold == ENGINE_HOLD_BASELINE_TOO_LATE ? "its baseline snapshot skipped as too late"
			  : !a->policy.trigger.baseline_pct ? "baselines off: baseline_pct = 0"
			  : "no baseline snapshot";
	if (capturer_submit(a->capturer, &job) != 0) {
		log_warn("pid %d: capture queue full, profiler-only job dropped", w->pid);
		return;
	}
	log_info("pid %d: the sampling heap profiler starts without a snapshot (%s)", w->pid, why);
}

void agent_request_capture(struct agent *a, struct watched *w, enum trigger_reason reason, uint64_t rss,
			   uint64_t threshold)
{
	request_capture(a, w, reason, rss, threshold, heap_last_of(a, w));
}

static void say_held(struct watched *w, uint64_t rss, const struct engine_decision *d)
{
	if (d->hold == w->watch.hold_said)
		return;
	w->watch.hold_said = d->hold;
	if (d->hold == ENGINE_HOLD_BASELINE_TOO_LATE)
		log_info("pid %d: no baseline snapshot: growing %.1f MB/s, %.0f MB below its incident level, and "
			 "a baseline would take ~%.0f s", w->pid, d->too_late.rate_bps / 1e6,
			 (double)d->too_late.remaining_bytes / 1e6, d->too_late.capture_secs);
	else
		log_info("pid %d: %s trigger at RSS %.1f MB held back by %s", w->pid, trigger_reason_name(d->reason),
			 (double)rss / 1e6, engine_hold_name(d->hold));
}

/* The engine's decision, carried out. */
static void act(struct agent *a, struct watched *w, uint64_t rss, const struct engine_decision *d)
{
	uint64_t heap_at_trigger;

	w->watch.retry_at_ms = d->retry_at_ms;
	if (d->action != ENGINE_HOLD && d->action != ENGINE_NONE)
		w->watch.hold_said = ENGINE_HOLD_NONE;
	switch (d->action) {
	case ENGINE_INCIDENT:
		if (d->reason == TRIGGER_PREDICTIVE)
			log_info("pid %d: predictive capture: %s", w->pid, d->predict.reason);
		heap_at_trigger = heap_last_of(a, w); /* one reading for the event and the job */
		emit_trigger(a, w, rss, d, heap_at_trigger);
		request_capture(a, w, d->reason, rss, d->threshold_bytes, heap_at_trigger);
		break;
	case ENGINE_BASELINE:
		agent_request_capture(a, w, d->reason, rss, d->threshold_bytes);
		break;
	case ENGINE_HOLD:
		say_held(w, rss, d);
		break;
	case ENGINE_NONE:
		break;
	}
	if (d->start_profiler)
		request_profiler(a, w, d);
	if (d->predict.action == PREDICT_TOO_LATE) {
		if (!w->predict.too_late_logged)
			log_warn("pid %d: predictive: %s", w->pid, d->predict.reason);
		w->predict.too_late_logged = true;
	}
}

/* One RSS report: the engine decides (decide/engine.h), the agent acts. */
static void evaluate(struct agent *a, struct watched *w, uint64_t rss)
{
	struct guard_input in;
	struct engine_decision d;
	struct engine_facts f = {
		.rss = rss,
		.heap_used = heap_used_of(a, w),
		.captures_queued = (unsigned)capturer_pending(a->capturer),
		.capture_running = w->capture.running,
		.now_ms = mono_ms(),
	};
	bool predictive = a->cfg->predictive && !w->capture.running;

	if (predictive && guard_collect(w->pid, f.heap_used, NULL, NULL, &in) == 0)
		f.guard = &in;
	w->watch.last_rss = rss;
	engine_decide(&a->policy.trigger, predictive ? &a->policy.predict : NULL, &w->trig, &w->predict.window, &f,
		      &d);
	act(a, w, rss, &d);
	arm(a, w);
}

void agent_rss_crossed(struct agent *a, pid_t pid, uint64_t rss)
{
	struct watched *w = agent_find(a, pid);

	if (!w)
		return;
	w->watch.armed_bytes = TRIGGER_NEVER; /* the kernel disarmed itself */
	/* Its baseline is being written: the RSS is the snapshot's own (measured when it
	 * settles), not an incident. Stays disarmed until then. */
	if (w->capture.baseline && capturer_is_running(a->capturer, pid)) {
		log_debug("pid %d: RSS %.1f MB while its baseline is written: not counted", pid, (double)rss / 1e6);
		return;
	}
	evaluate(a, w, rss);
}

static uint64_t current_rss(struct agent *a, const struct watched *w)
{
	struct hs_watch k;

	return probes_lookup(a->probes, w->pid, &k) == 0 ? k.rss_bytes : w->watch.last_rss;
}

/* The capture's memory has settled: what it left in the RSS is not growth. */
static void settle_cost(struct agent *a, struct watched *w)
{
	uint64_t rss = current_rss(a, w);
	const struct capture_cost *c = &w->cost.last;
	struct cost_settled st;

	cost_settle(&w->cost, &w->gc.majors, w->gc.attached, rss, mono_ms(), &st);
	char growth[96];
	if (st.heap_fresh && c->heap_before)
		snprintf(growth, sizeof(growth), "the heap's: %.1f -> %.1f MB", (double)c->heap_before / 1e6,
			 (double)st.heap_now / 1e6);
	else if (st.app_rate_bps > 0)
		snprintf(growth, sizeof(growth), "its rate before: %.2f MB/s", st.app_rate_bps / 1e6);
	else
		snprintf(growth, sizeof(growth), "none seen yet (no major GC since)");
	log_info("pid %d: capture settled: RSS %.1f -> %.1f MB, %.1f MB of it the capture's own, not growth "
		 "(the application's growth meanwhile: %s)", w->pid, (double)c->rss_before / 1e6,
		 (double)rss / 1e6, (double)(st.offset - c->offset_before) / 1e6, growth);
	w->trig.capture_offset = st.offset;
	w->predict.window.n = 0;
	evaluate(a, w, rss);
	save(a, true);
}

/* A major GC after the capture settled measures how much the application grew:
 * the capture's cost is refined by the heap (trigger_capture_refined). */
static void refine_cost(struct agent *a, struct watched *w, uint64_t heap_after)
{
	uint64_t rss = current_rss(a, w);
	uint64_t offset = cost_refine(&w->cost, w->capture.running, w->trig.capture_offset, rss, heap_after, mono_ms());

	if (offset == w->trig.capture_offset)
		return;
	log_debug("pid %d: capture cost refined by the heap (%.1f MB after GC, RSS %.1f MB): %.1f -> %.1f MB",
		  w->pid, (double)heap_after / 1e6, (double)rss / 1e6, (double)w->trig.capture_offset / 1e6,
		  (double)offset / 1e6);
	w->trig.capture_offset = offset;
	evaluate(a, w, rss);
}

static void judge_leak(struct agent *a, struct watched *w, bool major);

/* The leak heuristic, on the post-GC heap floor: a leak is an incident like a
 * threshold crossing; a first lean that way is the moment for the baseline snapshot
 * the report will diff against. */
void agent_major_gc(struct agent *a, const struct gc_major_event *ev)
{
	struct watched *w = agent_find(a, (pid_t)ev->tgid);

	if (!w || ev->tid != ev->tgid)
		return; /* only the main isolate's heap makes the series */
	cost_majors_add(&w->gc.majors, mono_ms(), ev->heap_used_after);
	if (cost_ready(&w->cost, w->capture.running, w->gc.attached, &w->gc.majors, mono_ms()))
		settle_cost(a, w);
	else
		refine_cost(a, w, ev->heap_used_after);
	uint64_t rss = current_rss(a, w);
	leak_series_add_major(&w->leak.heap_floor, ev->ktime_ns / 1000000, ev->heap_used_before,
			      ev->heap_used_after, rss);
	/* the series as the verdict reads it, to replay offline (tests/unit/test_leak.c) */
	log_debug("pid %d: leak sample major %llu %llu %llu %llu", w->pid, (unsigned long long)(ev->ktime_ns / 1000000),
		  (unsigned long long)ev->heap_used_before, (unsigned long long)ev->heap_used_after,
		  (unsigned long long)rss);
	judge_leak(a, w, true);
}

/* Between major GCs: the heap after the main isolate's newest GC of any kind (once a
 * tick), the continuation a fast leak's verdict may read. */
static void leak_sample_gcs(struct agent *a, struct watched *w)
{
	struct gc_stats st;

	if (!w->gc.attached || gc_tracker_stats(a->gc, w->pid, &st) != 0 || !st.last_main_gc_ns ||
	    st.last_main_gc_ns <= st.last_major_ns)
		return;
	unsigned before = w->leak.heap_floor.nlatest;
	uint64_t rss = current_rss(a, w);
	leak_series_add_gc(&w->leak.heap_floor, st.last_main_gc_ns / 1000000, st.heap_used_last_bytes, rss);
	if (w->leak.heap_floor.nlatest != before) {
		log_debug("pid %d: leak sample gc %llu %llu %llu", w->pid, (unsigned long long)(st.last_main_gc_ns / 1000000),
			  (unsigned long long)st.heap_used_last_bytes, (unsigned long long)rss);
		judge_leak(a, w, false);
	}
}

/* major: a major GC's sample came; otherwise a tick's, which acts only on a verdict that
 * is new (a standing one is acted on at major GCs, as before: no trigger every second). */
static void judge_leak(struct agent *a, struct watched *w, bool major)
{
	struct leak_result r;
	struct engine_decision d;

	leak_evaluate(&w->leak.heap_floor, &a->policy.leak, &r);
	w->leak.trend_bytes_per_min = r.slope_bytes_per_min;
	bool was_leak = w->leak.state == LEAK_FIRE;
	w->leak.state = r.verdict;
	if (was_leak && r.verdict != LEAK_FIRE)
		alert_condition_ended(a->alerts, w->pid, TRIGGER_LEAK);
	if (!a->cfg->leak || w->capture.running || w->watch.settle_at_ms)
		return;
	uint64_t rss = current_rss(a, w);
	if (r.verdict == LEAK_FIRE && (major || !was_leak)) {
		log_info("pid %d: leak: heap floor rising %.1f MB/min over %.0f s (%u major GCs)", w->pid,
			 r.slope_bytes_per_min / 1e6, r.span_s, r.gcs);
		engine_incident(&a->policy.trigger, &w->trig, TRIGGER_LEAK, rss, r.rise_bytes, heap_used_of(a, w),
				mono_ms(), &d);
		act(a, w, rss, &d);
		arm(a, w);
	} else if (r.verdict == LEAK_LEANING &&
		   ((a->policy.trigger.baseline_pct && !w->trig.baseline_requested) ||
		    (a->policy.trigger.profiler && !w->trig.profiler_requested))) {
		bool asked = a->policy.trigger.baseline_pct && !w->trig.baseline_requested;
		uint64_t heap = heap_used_of(a, w), growth = 0;
		bool far = leak_baseline_far_enough(&r, &a->policy.leak, heap, &growth);
		if (asked && !far)
			log_info("pid %d: no baseline snapshot: its heap (%.1f MB after GC) would grow only ~%.1f MB "
				 "by the leak verdict, too little to diff; the report will come from the incident "
				 "snapshot alone", w->pid, (double)heap / 1e6, (double)growth / 1e6);
		engine_leaning(&a->policy.trigger, &w->trig, far, &d);
		if (d.action == ENGINE_BASELINE)
			agent_request_capture(a, w, TRIGGER_BASELINE, rss, 0);
		if (d.start_profiler)
			request_profiler(a, w, &d);
	}
}

void agent_capture_finished(struct agent *a, const struct capture_outcome *o)
{
	struct watched *w = agent_find(a, o->pid);

	if (!w || w->start_time != o->start_time)
		return;
	if (o->profile_only) { /* not a capture: the profiler's start logged its outcome */
		if (!o->ok && !o->preempted)
			log_info("pid %d: profiler-only job: %s", o->pid, o->err);
		return;
	}
	if (!o->ok && !o->started && !o->refused && !o->preempted && o->err[0]) /* e.g. no capture route */
		log_warn("pid %d: no capture: %s", o->pid, o->err);
	if (o->ok && o->baseline) {
		snprintf(w->baseline_id, sizeof(w->baseline_id), "%s", o->snapshot_id);
		w->trig.baseline_app_rss = w->capture.baseline_app_rss;
		w->trig.baseline_heap = w->capture.baseline_heap;
	}
	if (w->capture.pending)
		w->capture.pending--;
	if (o->started)
		cost_capture_started(&w->cost, o->rss_at_start, o->started_mono_ms);
	if (!w->capture.pending) {
		w->capture.running = w->capture.baseline = false;
		cost_captures_ended(&w->cost, mono_ms());
	}
	arm(a, w);
	save(a, true);
}

/* The version of a Node whose executable holds none (Debian's launcher linked to
 * libnode.so), not read at exec: from the libnode the GC lookup reached (its maps
 * read once, by that lookup), else from the libnode in the maps. */
static void read_late_version(struct agent *a, struct watched *w)
{
	char via[PATH_MAX];

	if (w->info.node_version[0])
		return;
	if (!w->gc.attached || gc_tracker_binary(a->gc, w->pid, via, sizeof(via), NULL) != 0) {
		procs_version_from_maps(w->pid, &w->info);
		return;
	}
	if (strstr(via, "/map_files/")) /* else V8 is in the executable, already read */
		node_version_of_binary(via, w->info.node_version, sizeof(w->info.node_version));
}

/* The start-up of a just exec'ed process is over: its RSS now is the baseline. */
static void settle(struct agent *a, struct watched *w)
{
	struct hs_watch k;

	w->watch.settle_at_ms = 0;
	if (w->gc.retry_at_settle)
		attach_gc(a, w, true);
	read_late_version(a, w);
	if (probes_lookup(a->probes, w->pid, &k) != 0)
		return;
	trigger_init(&w->trig, k.rss_bytes);
	log_debug("pid %d: RSS first seen %.1f MB", w->pid, (double)k.rss_bytes / 1e6);
	evaluate(a, w, k.rss_bytes);
	save(a, false);
}

void agent_tick(struct agent *a)
{
	int64_t now = mono_ms();

	for (size_t i = 0; i < a->nprocs; i++) {
		struct watched *w = a->procs[i];
		struct hs_watch k;
		if (w->watch.settle_at_ms && w->watch.settle_at_ms <= now)
			settle(a, w);
		if (cost_ready(&w->cost, w->capture.running, w->gc.attached, &w->gc.majors, now))
			settle_cost(a, w);
		leak_sample_gcs(a, w);
		if (!w->watch.retry_at_ms || w->watch.retry_at_ms > now || w->capture.running)
			continue;
		w->watch.retry_at_ms = 0;
		if (probes_lookup(a->probes, w->pid, &k) == 0)
			evaluate(a, w, k.rss_bytes);
	}
	agent_flush_state(a, false);
	gc_tracker_tick(a->gc);
	alert_tick(a->alerts);
}

static json_t *watched_json(struct agent *a, struct watched *w)
{
	struct hs_watch k = { 0 };
	struct gc_stats st = { 0 };
	char route[1024];
	const char *route_reason;
	int64_t age_ms;
	bool unanswered = a->capturer && capturer_signal_unanswered(a->capturer, w->pid, w->start_time, &age_ms);

	describe_route(a, w, route, sizeof(route), &route_reason);

	probes_lookup(a->probes, w->pid, &k);
	if (w->gc.attached)
		gc_tracker_stats(a->gc, w->pid, &st);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:b, s:s}",
			 "pid", (json_int_t)w->pid, "node_version", w->info.node_version, "exe",
			 w->info.exe, "cmdline", w->info.cmdline, "rss_bytes", (json_int_t)k.rss_bytes,
			 "peak_rss_bytes", (json_int_t)k.peak_bytes, "baseline_rss_bytes",
			 (json_int_t)w->trig.rss_first_seen, "armed_bytes",
			 (json_int_t)(w->watch.armed_bytes == TRIGGER_NEVER ? 0 : w->watch.armed_bytes), "route",
			 route, "gc_probes", w->gc.probes, "captures", (json_int_t)w->trig.captures,
			 "capturing", w->capture.running, "cgroup", w->info.cgroup);
	json_t *gc = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:s}", "heap_used_bytes",
			       (json_int_t)st.heap_used_bytes, "gc_minor", (json_int_t)st.gc_minor,
			       "gc_major", (json_int_t)st.gc_major, "gc_pause_total_ms",
			       (double)st.pause_total_ns / 1e6, "gc_pause_max_ms",
			       (double)st.pause_max_ns / 1e6, "trend_mb_per_min",
			       w->leak.trend_bytes_per_min / 1e6, "leak", leak_verdict_name(w->leak.state));
	json_object_update_new(o, gc);
	json_object_set_new(o, "capture_offset_bytes", json_integer((json_int_t)w->trig.capture_offset));
	json_object_set_new(o, "app_rss_bytes", json_integer((json_int_t)trigger_app_rss(&w->trig, k.rss_bytes)));
	json_object_set_new(o, "route_reason", json_string(route_reason));
	if (unanswered)
		json_object_set_new(o, "signal_unanswered_s", json_integer((json_int_t)(age_ms / 1000)));
	return o;
}

char *agent_state_json(struct agent *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->nprocs; i++)
		json_array_append_new(arr, watched_json(a, a->procs[i]));
	char *text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

void agent_publish_metrics(struct agent *a, struct metrics *m)
{
	struct metrics_proc *p = calloc(a->nprocs ? a->nprocs : 1, sizeof(*p));

	if (!p)
		return;
	for (size_t i = 0; i < a->nprocs; i++) {
		const struct watched *w = a->procs[i];
		struct gc_stats st = { 0 };
		p[i].pid = w->pid;
		snprintf(p[i].app, sizeof(p[i].app), "%s", w->labels.app);
		snprintf(p[i].container, sizeof(p[i].container), "%s", w->labels.container);
		p[i].rss_bytes = current_rss(a, w);
		p[i].gc_known = w->gc.attached && gc_tracker_stats(a->gc, w->pid, &st) == 0;
		p[i].heap_used_bytes = st.heap_used_bytes;
		p[i].gc_minor = st.gc_minor;
		p[i].gc_major = st.gc_major;
	}
	metrics_publish_procs(m, p, a->nprocs);
	free(p);
}

void agent_free_procs(struct agent *a)
{
	agent_flush_state(a, true);
	persist_batch_free(&a->persist);
	forget_restored(a);
	for (size_t i = 0; i < a->nprocs; i++)
		free(a->procs[i]);
	free(a->procs);
	a->procs = NULL;
	a->nprocs = a->cap = 0;
}

static void on_kernel_event(void *ctx, const struct hs_event *ev)
{
	struct agent *a = ctx;

	switch (ev->kind) {
	case HS_EV_EXEC: exec_seen(a, (pid_t)ev->pid, ev->arm_bytes == TRIGGER_NEVER); break;
	case HS_EV_EXIT: agent_remove(a, (pid_t)ev->pid); break;
	case HS_EV_RSS_CROSSED: agent_rss_crossed(a, (pid_t)ev->pid, ev->rss_bytes); break;
	default: break;
	}
}

int agent_probes_fd(const struct agent *a)
{
	return probes_fd(a->probes);
}

int agent_probes_readable(struct agent *a)
{
	return probes_consume(a->probes);
}

int agent_gc_fd(const struct agent *a)
{
	return a->gc ? gc_tracker_fd(a->gc) : -1;
}

static void on_major_gc(void *ctx, const struct gc_major_event *ev)
{
	agent_major_gc(ctx, ev);
}

int agent_gc_readable(struct agent *a)
{
	return gc_tracker_consume(a->gc, on_major_gc, a);
}

int agent_captures_fd(const struct agent *a)
{
	return capturer_fd(a->capturer);
}

void agent_captures_readable(struct agent *a)
{
	struct capture_outcome o;

	while (capturer_take(a->capturer, &o) == 1)
		agent_capture_finished(a, &o);
}

struct alerter *agent_alerter(struct agent *a)
{
	return a->alerts;
}

size_t agent_count(const struct agent *a)
{
	return a->nprocs;
}

/* Before any capture can run: the inspector route needs it. Unavailable is not fatal:
 * the signal route and already open inspectors still work, and the operator may accept
 * unguarded inspectors. */
static void say_connect_guard(const struct agent *a)
{
	const char *why = connect_guard_why(a->cguard);

	if (connect_guard_available(a->cguard))
		log_info("inspector connect guard: ready (%s)", why);
	else if (a->cfg->inspector_unguarded)
		log_warn("inspector connect guard unavailable: %s; inspector_unguarded = on: inspectors the agent "
			 "opens are open to every local process during the capture", why);
	else
		log_warn("inspector connect guard unavailable: %s; the inspector route is refused for processes "
			 "whose inspector is not already open (no capture route: inspector unguarded) unless "
			 "[capture] inspector_unguarded = on", why);
}

/* Once at start: what the kernel offers and what the agent does without the rest. */
static void say_features(void)
{
	const struct features *f = features_get();
	char names[FEATURES_NAMES_LEN];

	log_info("kernel %s: %s", f->kernel, features_describe(f, names, sizeof(names)));
	if (!features_gc_task_storage(f))
		log_info("GC tracking: no task storage in uprobe programs on this kernel: per-thread GC "
			 "state in a hash keyed by thread id instead (same results, a little more per GC)");
	if (!f->uprobe_pmu && f->uprobe_tracefs)
		log_info("GC tracking: no perf uprobe PMU: uprobes attach through tracefs uprobe_events");
}

int agent_start(struct agent *a, struct store *store, char *err, size_t errlen)
{
	const struct config *cfg = a->cfg;

	say_features();
	a->execs.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->execs.timerfd < 0) {
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		return -errno;
	}
	a->probes = probes_start(cfg->node_names, cfg->node_name_count, on_kernel_event, a, err, errlen);
	if (!a->probes)
		return -EIO;
	char why[256];
	a->gc = gc_tracker_new(why, sizeof(why));
	if (!a->gc)
		log_warn("GC tracking unavailable (%s): leak heuristic off, triggers on RSS alone", why);
	/* After probes_start (it routes libbpf's messages to our log), before any capture. */
	a->cguard = connect_guard_new("/proc/self/mountinfo");
	if (!a->cguard) {
		snprintf(err, errlen, "connect guard: out of memory");
		return -ENOMEM;
	}
	say_connect_guard(a);
	a->capturer = capturer_new(cfg, store, a->alerts, a->cguard, err, errlen);
	if (a->capturer)
		capturer_set_heap_source(a->capturer, gc_tracker_stats_fd(a->gc));
	return a->capturer ? 0 : -EIO;
}

int agent_init(struct agent *a, const struct config *cfg)
{
	*a = (struct agent){ 0 };
	a->execs.timerfd = -1;
	agent_set_config(a, cfg);
	a->alerts = alerter_new(cfg);
	return a->alerts ? 0 : -ENOMEM;
}

void agent_destroy(struct agent *a)
{
	/* Captures first: they write into the store and emit alerts; the alerter last. */
	capturer_free(a->capturer);
	connect_guard_free(a->cguard);
	probes_stop(a->probes);
	gc_tracker_free(a->gc);
	agent_free_procs(a);
	free(a->execs.q);
	if (a->execs.timerfd >= 0)
		close(a->execs.timerfd);
	alerter_free(a->alerts);
	*a = (struct agent){ 0 };
	a->execs.timerfd = -1;
}
