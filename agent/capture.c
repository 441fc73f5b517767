/* Capture orchestration: the worker pool, route choice, store commit, alerts.
 * Threads, not the event loop, run captures: a route blocks for seconds to minutes
 * on one target, and the inspector route must setns() into the target's network
 * namespace, which moves only the calling thread. */
#include "capture.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "capture_route.h"
#include "fileio.h"
#include "guard.h"
#include "late_sweep.h"
#include "log.h"
#include "persist.h"
#include "loop.h"
#include "procs.h"
#include "snapshot/report.h"

#define QUEUE_MAX 64
#define MAX_WORKERS 16

struct capturer {
	const struct config *cfg;
	struct store *store;
	struct alerter *alerts;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t store_lock;    /* begin/commit pick ids and evict: one at a time */
	struct capture_job queue[QUEUE_MAX];
	unsigned q_head, q_len;
	struct capture_outcome done[QUEUE_MAX];
	unsigned d_head, d_len;
	unsigned running;
	volatile int cancel;
	bool stopping;
	int event_fd;
	pthread_t threads[MAX_WORKERS];
	unsigned nthreads;
	struct late_sweep *late;       /* signals whose snapshot may still come */
};

static json_t *event_base(const char *event, const struct capture_job *job)
{
	return json_pack("{s:s, s:I, s:s, s:I, s:I}", "event", event, "pid", (json_int_t)job->pid,
			 "reason", job->reason, "rss_bytes", (json_int_t)job->rss_bytes,
			 "threshold_bytes", (json_int_t)job->threshold_bytes);
}

static void emit_failed(struct capturer *c, const struct capture_job *job, const char *method,
			const char *why)
{
	json_t *ev = event_base("capture_failed", job);

	json_object_set_new(ev, "method", json_string(method));
	json_object_set_new(ev, "error", json_string(why));
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
	snprintf(m->reason, sizeof(m->reason), "%s", job->reason);
	snprintf(m->method, sizeof(m->method), "%s", method);
	m->rss_bytes = job->rss_bytes;
	m->threshold_bytes = job->threshold_bytes;
	m->triggered_at_ms = job->triggered_wall_ms;
	m->started_at_ms = wall_ms();
}

/* While a route runs, a journal lets the next run of the agent finish what this one
 * leaves if it is killed: the snapshot Node goes on writing, an inspector left open. */
static void journal_begin(struct capturer *c, const struct capture_job *job, const char *method)
{
	struct capture_journal j = {
		.pid = job->pid, .start_time = job->start_time, .rss_bytes = job->rss_bytes,
		.threshold_bytes = job->threshold_bytes, .triggered_wall_ms = job->triggered_wall_ms,
		.started_wall_ms = job->resume_after_ms ? job->resume_after_ms : wall_ms(),
		.baseline = job->baseline,
	};

	if (!c->cfg->state_file[0])
		return;
	snprintf(j.method, sizeof(j.method), "%s", method);
	snprintf(j.reason, sizeof(j.reason), "%s", job->reason);
	if (journal_write(c->cfg->state_file, &j) != 0)
		log_warn("pid %d: cannot journal the capture next to %s", job->pid, c->cfg->state_file);
}

/* One attempt through one route: 0 and meta filled, or -1 and err. *fallback tells
 * whether the other route may still be tried: only when this one failed before the
 * target produced any byte (a store failure or a dead target would fail it too,
 * and a second snapshot costs the target as much again). */
static int run_route(struct capturer *c, const struct capture_job *job, const struct proc_info *p,
		     bool inspector, struct snapshot_meta *meta, bool *fallback, char *err, size_t errlen)
{
	struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &c->cancel, .late = c->late };
	const char *method = inspector ? "inspector" : "signal";
	int rc;

	*fallback = false;
	ctx.resume_after_ms = job->resume_after_ms;
	fill_meta(meta, job, p, method);
	pthread_mutex_lock(&c->store_lock);
	ctx.w = store_writer_begin(c->store, meta, c->cfg->compress_level, err, errlen);
	pthread_mutex_unlock(&c->store_lock);
	if (!ctx.w)
		return -1;

	journal_begin(c, job, method);
	rc = inspector ? capture_via_inspector(&ctx) : capture_via_signal(&ctx);
	if (c->cfg->state_file[0])
		journal_remove(c->cfg->state_file, job->pid); /* an unanswered signal's was renamed */
	if (rc) {
		snprintf(err, errlen, "%s", ctx.err);
		*fallback = store_writer_raw_bytes(ctx.w) == 0 && !store_writer_error(ctx.w)[0] && !c->cancel;
		store_writer_abort(ctx.w);
		return -1;
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

/* The routes to try, in order (true = inspector). Returns how many, 0 with why. */
static int pick_routes(struct capturer *c, const struct proc_info *p, bool order[2], char *why,
		       size_t whylen)
{
	const struct config *cfg = c->cfg;
	char why_sig[200], why_insp[200];
	bool sig = capture_signal_usable(p, why_sig, sizeof(why_sig)) &&
		   signal_answered(c, p, why_sig, sizeof(why_sig));
	bool insp = capture_inspector_usable(p, why_insp, sizeof(why_insp));
	int n = 0;

	/* The process's own signal comes first (V8 writes at native speed and no port
	 * is opened) unless method = inspector; either way the other route, when it
	 * exists, is the fallback. method = signal never opens the inspector. */
	if (cfg->method == CAPTURE_INSPECTOR && insp)
		order[n++] = true;
	if (sig)
		order[n++] = false;
	if (insp && cfg->method != CAPTURE_INSPECTOR && cfg->method != CAPTURE_SIGNAL)
		order[n++] = true;
	if (n == 0) {
		if (cfg->method == CAPTURE_SIGNAL)
			snprintf(why, whylen, "no capture route: %s (method = signal)", why_sig);
		else
			snprintf(why, whylen, "no capture route: %s; %s", why_sig, why_insp);
	}
	return n;
}

/* Diff the new snapshot against the process's baseline, store the report in its
 * metadata (top_growth, retainer_path) and return the brief for the alert line
 * (NULL when there is none). Runs here, off the agent's loop: it parses both
 * snapshots (seconds and ~1.5x the snapshot size in memory for large ones). */
static json_t *attach_report(struct capturer *c, const struct capture_job *job, const char *id,
			     const char *path)
{
	char base_path[PATH_MAX], err[512];
	struct snapshot_meta base;

	if (store_get(c->store, job->baseline_id, &base) != 0) {
		log_warn("pid %d: baseline snapshot %s is gone, no leak report", job->pid, job->baseline_id);
		return NULL;
	}
	store_blob_path(c->store, base.id, base_path, sizeof(base_path));
	store_meta_free(&base);

	json_t *report = hs_report_build(base_path, path, err, sizeof(err));
	if (!report) {
		log_warn("pid %d: leak report against %s failed: %s", job->pid, job->baseline_id, err);
		return NULL;
	}
	json_object_set_new(report, "baseline_id", json_string(job->baseline_id));
	char *text = json_dumps(report, JSON_COMPACT);
	pthread_mutex_lock(&c->store_lock);
	if (!text || store_set_extra(c->store, id, text) != 0)
		log_warn("pid %d: cannot save the leak report of %s", job->pid, id);
	pthread_mutex_unlock(&c->store_lock);
	free(text);
	json_t *brief = hs_report_brief(report, 3);
	json_decref(report);
	return brief;
}

/* The memory guard: false (and a capture_refused event) when the snapshot would
 * not fit in the process's memory cgroup or the host's available memory. */
static bool guard_allows(struct capturer *c, const struct capture_job *job, bool signal_first,
			 struct capture_outcome *out)
{
	struct guard_input in;
	struct guard_verdict v;
	char cwd[64];

	if (guard_collect(job->pid, job->heap_used_bytes, NULL, NULL, &in) != 0)
		return true; /* the process is gone: the route will say so */
	snprintf(cwd, sizeof(cwd), "/proc/%d/cwd", job->pid);
	in.file_in_memory = signal_first && guard_path_in_memory(cwd) == 1;
	if (guard_check(c->cfg, &in, &v))
		return true;
	json_t *ev = event_base("capture_refused", job);
	json_object_set_new(ev, "error", json_string(v.reason));
	json_object_set_new(ev, "limit", json_string(v.limit));
	json_object_set_new(ev, "needed_bytes", json_integer((json_int_t)v.needed_bytes));
	json_object_set_new(ev, "headroom_bytes", json_integer((json_int_t)v.headroom_bytes));
	json_object_set_new(ev, "heap_used_bytes", json_integer((json_int_t)in.heap_used_bytes));
	json_object_set_new(ev, "heap_estimated", json_boolean(v.heap_estimated));
	alert_emit(c->alerts, ev);
	snprintf(out->err, sizeof(out->err), "%s", v.reason);
	out->refused = true;
	return false;
}

static int finish_done(struct capturer *c, const struct capture_job *job, struct snapshot_meta *meta,
		       struct capture_outcome *out);

/* A previous run was killed in the middle of this capture: pick up the snapshot Node
 * went on writing (signal), or close the inspector it opened (inspector). */
static int resume(struct capturer *c, const struct capture_job *job, const struct proc_info *p,
		  struct capture_outcome *out)
{
	struct snapshot_meta meta;
	bool fallback;

	if (strcmp(job->resume_method, "inspector") == 0) {
		struct capture_ctx ctx = { .proc = p, .cfg = c->cfg, .cancel = &c->cancel };
		int rc = capture_inspector_close_leftover(&ctx);
		if (rc == 1)
			log_info("pid %d: closed the inspector the previous run opened and left open", job->pid);
		else if (rc < 0)
			log_warn("pid %d: inspector left open by the previous run: %s", job->pid, ctx.err);
		snprintf(out->err, sizeof(out->err), "interrupted inspector capture not resumed");
		return -1;
	}
	if (run_route(c, job, p, false, &meta, &fallback, out->err, sizeof(out->err)) != 0) {
		emit_failed(c, job, "signal", out->err);
		return -1;
	}
	log_info("pid %d: resumed the capture the previous run was stopped in", job->pid);
	return finish_done(c, job, &meta, out);
}

static int capture_one(struct capturer *c, const struct capture_job *job, struct capture_outcome *out)
{
	struct proc_info p;
	struct snapshot_meta meta;
	bool order[2];
	int rc = procs_read(job->pid, &p);

	if (rc || p.start_time != job->start_time) {
		snprintf(out->err, sizeof(out->err), "process exited before the capture started");
		emit_failed(c, job, "none", out->err);
		return -1;
	}
	if (job->resume_method[0])
		return resume(c, job, &p, out);
	int routes = pick_routes(c, &p, order, out->err, sizeof(out->err));
	if (routes == 0) {
		emit_failed(c, job, "none", out->err);
		return -1;
	}
	if (!guard_allows(c, job, !order[0], out))
		return -1;
	rc = -1;
	bool fallback = true;
	for (int i = 0; i < routes && rc != 0 && fallback && !c->cancel; i++) {
		const char *method = order[i] ? "inspector" : "signal";
		json_t *ev = event_base("capture_start", job);
		json_object_set_new(ev, "method", json_string(method));
		alert_emit(c->alerts, ev);

		rc = run_route(c, job, &p, order[i], &meta, &fallback, out->err, sizeof(out->err));
		if (rc)
			emit_failed(c, job, method, out->err);
	}
	if (rc)
		return -1;
	return finish_done(c, job, &meta, out);
}

/* A stored snapshot: its report, the capture_done alert, the outcome. */
static int finish_done(struct capturer *c, const struct capture_job *job, struct snapshot_meta *meta,
		       struct capture_outcome *out)
{
	char path[PATH_MAX];
	store_blob_path(c->store, meta->id, path, sizeof(path));
	json_t *brief = job->baseline_id[0] ? attach_report(c, job, meta->id, path) : NULL;
	json_t *ev = event_base("capture_done", job);
	if (brief)
		json_object_update_new(ev, brief);
	json_object_set_new(ev, "method", json_string(meta->method));
	json_object_set_new(ev, "snapshot_id", json_string(meta->id));
	json_object_set_new(ev, "path", json_string(path));
	json_object_set_new(ev, "raw_bytes", json_integer((json_int_t)meta->raw_bytes));
	json_object_set_new(ev, "size_bytes", json_integer((json_int_t)meta->size_bytes));
	json_object_set_new(ev, "capture_ms", json_integer((json_int_t)meta->capture_ms));
	json_object_set_new(ev, "baseline", json_boolean(job->baseline));
	alert_emit(c->alerts, ev);
	snprintf(out->snapshot_id, sizeof(out->snapshot_id), "%s", meta->id);
	store_meta_free(meta);
	return 0;
}

static void post_outcome(struct capturer *c, const struct capture_outcome *o)
{
	uint64_t one = 1;

	pthread_mutex_lock(&c->lock);
	if (c->d_len < QUEUE_MAX) {
		c->done[(c->d_head + c->d_len) % QUEUE_MAX] = *o;
		c->d_len++;
	}
	c->running--;
	pthread_mutex_unlock(&c->lock);
	if (write(c->event_fd, &one, sizeof(one)) < 0)
		log_warn("capture: cannot wake the agent loop: %s", strerror(errno));
}

static void *worker_main(void *arg)
{
	struct capturer *c = arg;

	for (;;) {
		struct capture_job job;
		pthread_mutex_lock(&c->lock);
		while (!c->stopping && c->q_len == 0)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		job = c->queue[c->q_head];
		c->q_head = (c->q_head + 1) % QUEUE_MAX;
		c->q_len--;
		c->running++;
		pthread_mutex_unlock(&c->lock);

		struct capture_outcome out = { .pid = job.pid, .start_time = job.start_time,
					       .baseline = job.baseline };
		out.ok = capture_one(c, &job, &out) == 0;
		post_outcome(c, &out);
	}
}

struct capturer *capturer_new(const struct config *cfg, struct store *st, struct alerter *al,
			      char *err, size_t errlen)
{
	struct capturer *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->store = st;
	c->alerts = al;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->store_lock, NULL);
	pthread_cond_init(&c->wake, NULL);
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
	unsigned want = cfg->max_concurrent ? cfg->max_concurrent : 1;
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	for (; c->nthreads < want; c->nthreads++) {
		int rc = pthread_create(&c->threads[c->nthreads], NULL, worker_main, c);
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
	c->cancel = 1;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	late_sweep_free(c->late);
	close(c->event_fd);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->store_lock);
	free(c);
}

int capturer_submit(struct capturer *c, const struct capture_job *job)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (c->q_len >= QUEUE_MAX) {
		rc = -EBUSY;
	} else {
		c->queue[(c->q_head + c->q_len) % QUEUE_MAX] = *job;
		c->q_len++;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
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
		c->d_head = (c->d_head + 1) % QUEUE_MAX;
		c->d_len--;
		got = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return got;
}

unsigned capturer_pending(struct capturer *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = c->q_len + c->running;
	pthread_mutex_unlock(&c->lock);
	return n;
}
