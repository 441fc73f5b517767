// SPDX-License-Identifier: Apache-2.0
/* The watched-process table and the meaning of each kernel event for it. */
#include "daemon/agent.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/sanitize.h"
#include "capture/capture_route.h"
#include "capture/connect_guard.h"
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

/* What ps shows of each route (the signal route's adds the signal's name; "none" its
 * reasons). */
static const char *const route_names[] = {
	[ROUTE_UNKNOWN] = "unknown",
	[ROUTE_SIGNAL] = "signal",
	[ROUTE_INSPECTOR_GUARDED] = "inspector (guarded)",
	[ROUTE_INSPECTOR_UNGUARDED] = "inspector (UNGUARDED: inspector_unguarded = on)",
	[ROUTE_INSPECTOR_OPERATORS] = "inspector (already open: not guarded, the operator's)",
	[ROUTE_NONE] = "none",
};

const char *route_kind_name(enum route_kind k)
{
	return (unsigned)k < sizeof(route_names) / sizeof(route_names[0]) ? route_names[k] : "unknown";
}

/* The inspector route, if usable now (a scan of the host's sockets, 10-20 ms: asked only
 * when ps asks, never at exec). An inspector open before the agent came is the
 * operator's: used as it is, without the connect guard, and ps says so (not the one
 * the agent opened for a capture running now). */
static enum route_kind inspector_route(struct agent *a, struct watched *w, char *why, size_t whylen)
{
	bool open;

	if (!capture_inspector_usable(&w->info, a->cfg, a->cguard, why, whylen, &open))
		return ROUTE_NONE;
	if (open && w->capture.running && !w->info.opts.inspect && w->route != ROUTE_INSPECTOR_OPERATORS)
		open = false; /* the agent's own, opened for this capture */
	if (open)
		return ROUTE_INSPECTOR_OPERATORS;
	return connect_guard_available(a->cguard) ? ROUTE_INSPECTOR_GUARDED : ROUTE_INSPECTOR_UNGUARDED;
}

/* The route a capture would take now, as ps shows it ("signal SIGUSR2", "inspector
 * (guarded)", "none: why; why"); w->route keeps its kind. */
static void describe_route(struct agent *a, struct watched *w, char *out, size_t outlen)
{
	char why_sig[256], why_insp[400] = "";
	bool sig = capture_signal_usable(&w->info, why_sig, sizeof(why_sig));
	enum route_kind k = sig ? ROUTE_SIGNAL : inspector_route(a, w, why_insp, sizeof(why_insp));

	w->route = k;
	if (k == ROUTE_SIGNAL)
		snprintf(out, outlen, "signal SIG%s", sigabbrev_np(w->info.opts.heapsnapshot_signal));
	else if (k != ROUTE_NONE)
		snprintf(out, outlen, "%s", route_kind_name(k));
	else if (strncmp(why_insp, "inspector unguarded", 19) == 0)
		snprintf(out, outlen, "none: %s; %s", why_insp, why_sig);
	else
		snprintf(out, outlen, "none: %s; %s", why_sig, why_insp);
}

/* The kernel also reports every PREDICT_STEP of growth, whatever `predictive` is set
 * to: that gives the growth rate without polling (for the predictive trigger, and for
 * whether a baseline can finish in time). */
#define PREDICT_STEP (8ULL << 20)
#define PREDICT_MAX_AGE_MS (5 * 60 * 1000)

static void arm(struct agent *a, struct watched *w)
{
	/* Disarmed while a capture runs or a cooldown holds a crossing back: the retry
	 * timer re-evaluates, so the kernel need not report every page fault meanwhile.
	 * A queued baseline keeps the incident level armed: an incident replaces it. */
	bool hold = (w->capture.running && !w->capture.baseline) || w->watch.retry_at_ms ||
		    w->watch.settle_at_ms || w->cost.settle_at_ms;
	uint64_t level = hold ? TRIGGER_NEVER : trigger_arm_level(&a->policy.trigger, &w->trig, mono_ms());

	/* Every PREDICT_STEP of growth is also reported: the growth rate, for the
	 * predictive trigger and for whether a baseline can finish in time. */
	if (!hold && w->watch.last_rss + PREDICT_STEP < level)
		level = w->watch.last_rss + PREDICT_STEP;

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
 * launcher linked to it) and when it may live 50 ms: settle() looks them up. */
static void attach_gc(struct agent *a, struct watched *w, bool final)
{
	char why[160];
	char path[PATH_MAX];
	int nprobes = 0;

	leak_series_init(&w->leak.heap_floor, a->policy.leak.window_s);
	w->leak.state = LEAK_NONE;
	if (!a->gc) {
		snprintf(w->gc.probes, sizeof(w->gc.probes), "none: GC tracking unavailable on this host");
		return;
	}
	/* At exec the maps are not read (most short-lived Nodes exit within 100 ms, and a
	 * maps read and parse is most of what one costs): the probes come at settle, when
	 * the trigger is armed, so a process that later leaks has them before it counts. */
	if (!final) {
		snprintf(w->gc.probes, sizeof(w->gc.probes), "pending: looked up %d s after exec",
			 AGENT_SETTLE_MS / 1000);
		w->gc.retry_at_settle = true;
		return;
	}
	if (gc_tracker_watch(a->gc, w->pid, why, sizeof(why)) != 0) {
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

/* The application's RSS growth rate (bytes/s, >= 0) from the steps the kernel
 * reported: a fit over the window, at most one step over the time since the last. */
static double app_rate(const struct watched *w)
{
	const struct predict_window *g = &w->predict.window;

	if (g->n < 2)
		return 0;
	double rate = predict_growth_rate(g->s, g->n);
	double quiet_s = (double)((uint64_t)mono_ms() - g->s[g->n - 1].t_ms) / 1000.0;
	if (quiet_s > 0 && rate > (double)PREDICT_STEP / quiet_s)
		rate = (double)PREDICT_STEP / quiet_s;
	return rate > 0 ? rate : 0;
}

/* How long a capture of a heap this large would take: measured
 * 100-150 ms per heap MB for small-object heaps, far less for large arrays and
 * Buffers; the signal reaches V8 within milliseconds. The typical cost, not the worst
 * (the predictive trigger's margin): a baseline skipped for nothing loses the diff. */
#define CAPTURE_SECS_PER_HEAP_MB 0.15
#define CAPTURE_FIXED_SECS 1.0

static double capture_secs_estimate(uint64_t heap_used)
{
	return (double)heap_used / 1048576.0 * CAPTURE_SECS_PER_HEAP_MB + CAPTURE_FIXED_SECS;
}

void agent_add(struct agent *a, pid_t pid, bool just_exec)
{
	struct watched *w;

	if (agent_find(a, pid) || !table_reserve(a))
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	/* The name first: a process that is not a Node gets nothing read but its stat and
	 * exe link (its maps, environment and files are its owner's to make hostile). */
	if (procs_identify(pid, &w->info) != 0 ||
	    !procs_name_matches(&w->info, a->cfg->node_names, a->cfg->node_name_count) ||
	    procs_read_identified(pid, &w->info, a->cfg->require_env, just_exec) != 0) {
		free(w);
		return;
	}
	w->pid = pid;
	w->start_time = w->info.start_time;
	w->first_seen_wall_ms = wall_ms();
	uint64_t rss = procs_rss_bytes(pid);
	bool restored = !just_exec && restore(a, w);
	if (!restored)
		trigger_init(&w->trig, rss);
	w->watch.last_rss = rss;
	if (just_exec)
		w->watch.settle_at_ms = mono_ms() + AGENT_SETTLE_MS;
	w->watch.armed_bytes =
		just_exec ? TRIGGER_NEVER : trigger_arm_level(&a->policy.trigger, &w->trig, mono_ms());
	if (probes_watch(a->probes, pid, w->watch.armed_bytes, w->trig.baseline_rss) != 0) {
		log_warn("pid %d: cannot watch: kernel table full (%d processes)", pid, HS_MAX_WATCHED);
		free(w);
		return;
	}
	attach_gc(a, w, !just_exec);
	w->labels.pid = pid;
	metrics_app_name(w->info.cmdline, w->labels.app, sizeof(w->labels.app));
	metrics_container_id(w->info.cgroup, w->labels.container, sizeof(w->labels.container));
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
		 (double)w->trig.baseline_rss / 1e6, route);
	save(a, false);
}

void agent_remove(struct agent *a, pid_t pid)
{
	for (size_t i = 0; i < a->nprocs; i++) {
		if (a->procs[i]->pid != pid)
			continue;
		log_info("pid %d exited", pid);
		probes_unwatch(a->probes, pid);
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
		 resume_method_str(job->resume_method));
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

static void emit_trigger(struct agent *a, struct watched *w, enum trigger_reason reason, uint64_t rss,
			 uint64_t threshold)
{
	json_t *ev = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "event", "trigger", "pid",
			       (json_int_t)w->pid, "reason", trigger_reason_name(reason), "rss_bytes",
			       (json_int_t)rss,
			       "threshold_bytes", (json_int_t)threshold, "baseline_rss_bytes",
			       (json_int_t)w->trig.baseline_rss, "app_rss_bytes",
			       (json_int_t)trigger_app_rss(&w->trig, rss), "capture_offset_bytes",
			       (json_int_t)w->trig.capture_offset);
	/* The heap after the last major GC at the trigger (0 = not measured): the leak
	 * verdict's own measure, and how far a later capture is from it. */
	json_object_set_new(ev, "heap_used_bytes", json_integer((json_int_t)heap_used_of(a, w)));
	alert_emit(a->alerts, ev);
}

/* The capture about to be queued will cost the target memory: note where it starts
 * (an incident replacing a queued baseline keeps the earlier start). */
static void begin_cost(struct watched *w)
{
	w->cost.settle_at_ms = 0;
	w->cost.refine_until_ms = 0;
	if (w->cost.last.active && !w->cost.last.ended_ms && w->capture.running)
		return;
	w->cost.last = (struct capture_cost){ .active = true, .offset_before = w->trig.capture_offset,
					 .app_rate_bps = app_rate(w) };
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

void agent_request_capture(struct agent *a, struct watched *w, enum trigger_reason reason, uint64_t rss,
			   uint64_t threshold)
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
	begin_cost(w);
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

/* A baseline the process's growth would overtake before it is stored is not taken:
 * it would delay the incident and diff against almost the same heap. */
static bool baseline_in_time(struct agent *a, struct watched *w, uint64_t rss)
{
	uint64_t incident = trigger_incident_level(&a->policy.trigger, &w->trig);
	uint64_t app = trigger_app_rss(&w->trig, rss);
	uint64_t heap = heap_used_of(a, w);
	if (incident == TRIGGER_NEVER || incident <= app || !heap)
		return true; /* no major GC measured the heap yet: no ground to skip it on (RSS may be Buffers) */
	double rate = app_rate(w), secs = capture_secs_estimate(heap) * (1 + capturer_pending(a->capturer));
	if (trigger_baseline_in_time(incident - app, rate, secs))
		return true;
	log_info("pid %d: no baseline snapshot: growing %.1f MB/s, %.0f MB below its incident level, and "
		 "a baseline would take ~%.0f s", w->pid, rate / 1e6, (double)(incident - app) / 1e6, secs);
	return false;
}

static void act_on(struct agent *a, struct watched *w, uint64_t rss, const struct trigger_decision *d)
{
	w->watch.retry_at_ms = d->retry_at_ms;
	if (d->fire && d->baseline && !baseline_in_time(a, w, rss))
		return;
	if (d->fire) {
		if (!d->baseline)
			emit_trigger(a, w, d->reason, rss, d->threshold_bytes);
		agent_request_capture(a, w, d->reason, rss, d->threshold_bytes);
	} else if (d->held_back) {
		log_info("pid %d: %s trigger at RSS %.1f MB held back by %s", w->pid,
			 trigger_reason_name(d->reason), (double)rss / 1e6, d->held_back);
	}
}

/* predictive = on: capture now if, at the current growth rate, the snapshot would
 * soon stop fitting in memory. */
static void predict(struct agent *a, struct watched *w, uint64_t rss)
{
	struct guard_input in;
	struct predict_verdict v;
	struct trigger_decision d;

	if (guard_collect(w->pid, heap_used_of(a, w), NULL, NULL, &in) != 0)
		return;
	switch (predict_decide(&a->policy.predict, w->predict.window.s, w->predict.window.n, &in, &v)) {
	case PREDICT_CAPTURE:
		trigger_incident(&a->policy.trigger, &w->trig, TRIGGER_PREDICTIVE, rss, rss, mono_ms(), &d);
		if (d.fire)
			log_info("pid %d: predictive capture: %s", w->pid, v.reason);
		act_on(a, w, rss, &d);
		break;
	case PREDICT_TOO_LATE:
		if (!w->predict.too_late_logged)
			log_warn("pid %d: predictive: %s", w->pid, v.reason);
		w->predict.too_late_logged = true;
		break;
	default:
		break;
	}
}

static void evaluate(struct agent *a, struct watched *w, uint64_t rss)
{
	struct trigger_decision d;

	w->watch.last_rss = rss;
	predict_window_add(&w->predict.window, (uint64_t)mono_ms(), trigger_app_rss(&w->trig, rss),
			   PREDICT_MAX_AGE_MS);
	trigger_evaluate(&a->policy.trigger, &w->trig, rss, mono_ms(), &d);
	act_on(a, w, rss, &d);
	if (!d.fire && !w->capture.running && a->cfg->predictive)
		predict(a, w, rss);
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

static void note_major_gc(struct watched *w, uint64_t heap_after)
{
	size_t cap = sizeof(w->gc.majors) / sizeof(w->gc.majors[0]);
	if (w->gc.nmajors == cap)
		memmove(w->gc.majors, w->gc.majors + 1, (cap - 1) * sizeof(w->gc.majors[0]));
	else
		w->gc.nmajors++;
	w->gc.majors[w->gc.nmajors - 1].t_ms = mono_ms();
	w->gc.majors[w->gc.nmajors - 1].heap_after = heap_after;
}

/* Heap after the first major GC at or after t_ms (0 = none). V8 collects as a snapshot
 * starts, and the application is stopped while it is written: the first one after the
 * route started measures the heap the capture started from. */
static uint64_t heap_after_first_gc_since(const struct watched *w, int64_t t_ms)
{
	for (unsigned i = 0; i < w->gc.nmajors; i++)
		if (w->gc.majors[i].t_ms >= t_ms)
			return w->gc.majors[i].heap_after;
	return 0;
}

static bool heap_measured_since(const struct watched *w, int64_t t_ms)
{
	return w->gc.nmajors && w->gc.majors[w->gc.nmajors - 1].t_ms > t_ms;
}

/* Whether the capture's cost can be measured now: a major GC since it ended tells the
 * application's growth (without GC probes, or if none comes in time, its rate does). */
static bool cost_ready(const struct watched *w, int64_t now)
{
	if (!w->cost.settle_at_ms || now < w->cost.settle_at_ms || w->capture.running)
		return false;
	return !w->gc.attached || heap_measured_since(w, w->cost.last.ended_ms) ||
	       now >= w->cost.last.ended_ms + CAPTURE_SETTLE_MAX_MS;
}

/* The capture's memory has settled: what it left in the RSS is not growth. */
static void settle_cost(struct agent *a, struct watched *w)
{
	int64_t now = mono_ms();
	uint64_t rss = current_rss(a, w);
	struct capture_cost *c = &w->cost.last;

	c->heap_before = heap_after_first_gc_since(w, c->started_ms);
	bool heap_fresh = heap_measured_since(w, c->ended_ms);
	/* With GC probes but no major GC since the capture, the application's growth is
	 * unknown: none is assumed (its rate before, often a warm-up, would count the
	 * capture's memory as growth); the next major GC corrects it either way. */
	struct capture_cost est = *c;
	if (w->gc.attached && !heap_fresh)
		est.app_rate_bps = 0;
	uint64_t heap_now = heap_fresh ? w->gc.majors[w->gc.nmajors - 1].heap_after : 0;
	uint64_t offset = trigger_capture_offset(&est, rss, heap_fresh, heap_now, now);

	w->cost.settle_at_ms = 0;
	w->cost.refine_until_ms = now + CAPTURE_REFINE_MS;
	c->rss_settled = rss;
	char growth[96];
	if (heap_fresh && c->heap_before)
		snprintf(growth, sizeof(growth), "the heap's: %.1f -> %.1f MB", (double)c->heap_before / 1e6,
			 (double)heap_now / 1e6);
	else if (est.app_rate_bps > 0)
		snprintf(growth, sizeof(growth), "its rate before: %.2f MB/s", est.app_rate_bps / 1e6);
	else
		snprintf(growth, sizeof(growth), "none seen yet (no major GC since)");
	log_info("pid %d: capture settled: RSS %.1f -> %.1f MB, %.1f MB of it the capture's own, not growth "
		 "(the application's growth meanwhile: %s)", w->pid, (double)c->rss_before / 1e6,
		 (double)rss / 1e6, (double)(offset - c->offset_before) / 1e6, growth);
	w->trig.capture_offset = offset;
	w->predict.window.n = 0;
	evaluate(a, w, rss);
	save(a, true);
}

/* A major GC after the capture settled measures how much the application grew:
 * the capture's cost is refined by the heap (trigger_capture_refined). */
static void refine_cost(struct agent *a, struct watched *w, uint64_t heap_after)
{
	int64_t now = mono_ms();

	if (!w->cost.last.active || w->capture.running || w->cost.settle_at_ms || !w->cost.refine_until_ms)
		return;
	if (now > w->cost.refine_until_ms || !w->cost.last.heap_before) {
		w->cost.last.active = false;
		w->cost.refine_until_ms = 0;
		return;
	}
	uint64_t rss = current_rss(a, w);
	uint64_t offset = trigger_capture_refined(&w->cost.last, w->trig.capture_offset, rss, heap_after);
	if (offset == w->trig.capture_offset)
		return;
	log_debug("pid %d: capture cost refined by the heap (%.1f MB after GC, RSS %.1f MB): %.1f -> %.1f MB",
		  w->pid, (double)heap_after / 1e6, (double)rss / 1e6, (double)w->trig.capture_offset / 1e6,
		  (double)offset / 1e6);
	w->trig.capture_offset = offset;
	evaluate(a, w, rss);
}

/* The leak heuristic, on the post-GC heap floor: a leak is an incident like a
 * threshold crossing; a first lean that way is the moment for the baseline snapshot
 * the report will diff against. */
void agent_major_gc(struct agent *a, const struct gc_major_event *ev)
{
	struct watched *w = agent_find(a, (pid_t)ev->tgid);
	struct leak_result r;
	struct trigger_decision d;

	if (!w || ev->tid != ev->tgid)
		return; /* only the main isolate's heap makes the series */
	note_major_gc(w, ev->heap_used_after);
	if (cost_ready(w, mono_ms()))
		settle_cost(a, w);
	else
		refine_cost(a, w, ev->heap_used_after);
	leak_series_add(&w->leak.heap_floor, ev->ktime_ns / 1000000, ev->heap_used_after);
	leak_evaluate(&w->leak.heap_floor, &a->policy.leak, &r);
	w->leak.trend_bytes_per_min = r.slope_bytes_per_min;
	bool was_leak = w->leak.state == LEAK_FIRE;
	w->leak.state = r.verdict;
	if (was_leak && r.verdict != LEAK_FIRE)
		alert_condition_ended(a->alerts, w->pid, TRIGGER_LEAK);
	if (!a->cfg->leak || w->capture.running || w->watch.settle_at_ms)
		return;
	uint64_t rss = current_rss(a, w);
	if (r.verdict == LEAK_FIRE) {
		log_info("pid %d: leak: heap floor rising %.1f MB/min over %.0f s (%u major GCs)", w->pid,
			 r.slope_bytes_per_min / 1e6, r.span_s, r.gcs);
		trigger_incident(&a->policy.trigger, &w->trig, TRIGGER_LEAK, rss, r.rise_bytes, mono_ms(), &d);
		act_on(a, w, rss, &d);
		arm(a, w);
	} else if (r.verdict == LEAK_LEANING && a->policy.trigger.baseline_pct && !w->trig.baseline_requested) {
		w->trig.baseline_requested = true;
		agent_request_capture(a, w, TRIGGER_BASELINE, rss, 0);
	}
}

void agent_capture_finished(struct agent *a, const struct capture_outcome *o)
{
	struct watched *w = agent_find(a, o->pid);

	if (!w || w->start_time != o->start_time)
		return;
	if (!o->ok && !o->started && !o->refused && !o->preempted && o->err[0]) /* e.g. no capture route */
		log_warn("pid %d: no capture: %s", o->pid, o->err);
	if (o->ok && o->baseline) {
		snprintf(w->baseline_id, sizeof(w->baseline_id), "%s", o->snapshot_id);
		w->trig.baseline_app_rss = w->capture.baseline_app_rss;
		w->trig.baseline_heap = w->capture.baseline_heap;
	}
	if (w->capture.pending)
		w->capture.pending--;
	if (o->started && w->cost.last.active && !w->cost.last.started_ms) { /* the first of them to start */
		w->cost.last.rss_before = o->rss_at_start;
		w->cost.last.started_ms = o->started_mono_ms;
	}
	if (!w->capture.pending) {
		w->capture.running = w->capture.baseline = false;
		if (w->cost.last.active && w->cost.last.started_ms) {
			w->cost.last.ended_ms = mono_ms();
			w->cost.settle_at_ms = w->cost.last.ended_ms + CAPTURE_SETTLE_MS;
		} else {
			w->cost.last.active = false; /* nothing reached the target */
		}
	}
	arm(a, w);
	save(a, true);
}

/* The start-up of a just exec'ed process is over: its RSS now is the baseline. */
static void settle(struct agent *a, struct watched *w)
{
	struct hs_watch k;

	w->watch.settle_at_ms = 0;
	procs_version_from_maps(w->pid, &w->info);
	if (w->gc.retry_at_settle)
		attach_gc(a, w, true);
	if (probes_lookup(a->probes, w->pid, &k) != 0)
		return;
	trigger_init(&w->trig, k.rss_bytes);
	log_debug("pid %d: baseline RSS %.1f MB", w->pid, (double)k.rss_bytes / 1e6);
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
		if (cost_ready(w, now))
			settle_cost(a, w);
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
	char route[720];
	int64_t age_ms;
	bool unanswered = a->capturer && capturer_signal_unanswered(a->capturer, w->pid, w->start_time, &age_ms);

	if (unanswered) { /* the signal route is not used until it is answered */
		char why[400];
		snprintf(route, sizeof(route), "%s; signal unanswered for %lld s (event loop blocked?)",
			 route_kind_name(inspector_route(a, w, why, sizeof(why))), (long long)(age_ms / 1000));
	} else {
		describe_route(a, w, route, sizeof(route));
	}

	probes_lookup(a->probes, w->pid, &k);
	if (w->gc.attached)
		gc_tracker_stats(a->gc, w->pid, &st);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:b, s:s}",
			 "pid", (json_int_t)w->pid, "node_version", w->info.node_version, "exe",
			 w->info.exe, "cmdline", w->info.cmdline, "rss_bytes", (json_int_t)k.rss_bytes,
			 "peak_rss_bytes", (json_int_t)k.peak_bytes, "baseline_rss_bytes",
			 (json_int_t)w->trig.baseline_rss, "armed_bytes",
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
	case HS_EV_EXEC: agent_add(a, (pid_t)ev->pid, true); break;
	case HS_EV_EXIT: agent_remove(a, (pid_t)ev->pid); break;
	case HS_EV_RSS_CROSSED: agent_rss_crossed(a, (pid_t)ev->pid, ev->rss_bytes); break;
	default: break;
	}
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
	return a->capturer ? 0 : -EIO;
}

int agent_init(struct agent *a, const struct config *cfg)
{
	*a = (struct agent){ 0 };
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
	alerter_free(a->alerts);
	*a = (struct agent){ 0 };
}
