// SPDX-License-Identifier: Apache-2.0
/* The capture pool: worker threads, the job queue (incidents ahead of baselines),
 * preemption of a running baseline, the outcomes the agent's loop takes. One job's
 * capture is run.c's, the leak report's thread incident_report.c's.
 * Threads, not the event loop, run captures: a route blocks for seconds to minutes
 * on one target, and the inspector route must setns() into the target's network
 * namespace, which moves only the calling thread. */
#include "capture/capture.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "capture/capturer.h"
#include "capture/incident_report.h"
#include "capture/late_sweep.h"
#include "capture/run.h"

/* The signal route is not used again while Node has not answered the last signal:
 * it would write a second snapshot right after the first once its event loop frees
 * up, twice the cost on a process already in trouble. */
bool capturer_signal_unanswered(struct capturer *c, pid_t pid, uint64_t start_time, int64_t *age_ms)
{
	return late_sweep_pending(c->late, pid, start_time, age_ms);
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

static void enqueue(struct capturer *c, const struct capture_job *job);

/* A profiler-only job cancelled for an incident follows it: queued again, behind the
 * incidents. With c->lock held; false when the queue is full or the pool stops. */
static bool requeue(struct capturer *c, const struct capture_job *job)
{
	if (c->stopping || c->q_len >= QUEUE_MAX)
		return false;
	enqueue(c, job);
	return true;
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
					       .baseline = job.baseline, .profile_only = job.profile_only };
		out.ok = capture_one(wk, &job, &out) == 0;
		pthread_mutex_lock(&c->lock);
		wk->busy = false;
		c->reserved -= wk->reserved;
		wk->reserved = 0;
		out.preempted = wk->preempted_by != 0;
		if (!c->stopping)
			cancel_token_reset(&wk->cancel);
		pid_t by = wk->preempted_by;
		bool again = !out.ok && by && job.profile_only && requeue(c, &job);
		pthread_mutex_unlock(&c->lock);
		if (again)
			log_info("pid %d: profiler-only job cancelled for the incident capture of pid %d: it follows it",
				 job.pid, (int)by);
		post_outcome(c, &out);
	}
}

void capturer_set_heap_source(struct capturer *c, int gc_stats_fd)
{
	c->gc_stats_fd = gc_stats_fd;
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
	c->gc_stats_fd = -1;
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
 * an incident is no baseline): dropped, with an outcome so the agent knows. The
 * sampling profiler it would have started still serves the process's next incident:
 * it stays queued as a profiler-only job, which the incident goes ahead of. Returns
 * how many. */
static unsigned drop_queued_baselines(struct capturer *c, pid_t pid)
{
	unsigned kept = 0, dropped = 0;
	for (unsigned i = 0; i < c->q_len; i++) {
		struct capture_job *j = queued(c, i);
		if (j->baseline && j->pid == pid && j->resume_method == ROUTE_NONE && outcome_room(c, 1)) {
			struct capture_outcome o = { .pid = j->pid, .start_time = j->start_time,
						     .baseline = true, .preempted = true };
			snprintf(o.err, sizeof(o.err), "queued baseline dropped: the incident came first");
			push_outcome(c, &o);
			dropped++;
			j->baseline = false;
			j->profile_only = true;
		}
		if (kept != i)
			*queued(c, kept) = *j;
		kept++;
	}
	c->q_len = kept;
	return dropped;
}

static bool yields(const struct capture_job *job)
{
	return job->baseline || job->profile_only;
}

/* Incidents go ahead of every queued baseline and profiler-only job, in arrival order
 * among themselves. */
static void enqueue(struct capturer *c, const struct capture_job *job)
{
	unsigned at = c->q_len;
	if (!yields(job))
		for (unsigned i = 0; i < c->q_len; i++)
			if (yields(queued(c, i))) {
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
	return wk->busy && yields(&wk->job) && wk->job.resume_method == ROUTE_NONE && !wk->preempted_by;
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
	log_info("pid %d: %s cancelled: the incident capture of pid %d is waiting", victim->job.pid,
		 victim->job.profile_only ? "profiler-only job" : "baseline capture", incident->pid);
}

int capturer_submit(struct capturer *c, const struct capture_job *job)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	bool dropped = !yields(job) && drop_queued_baselines(c, job->pid);
	if (dropped)
		log_info("pid %d: queued baseline dropped: its incident came first", job->pid);
	if (c->q_len >= QUEUE_MAX) {
		rc = -EBUSY;
	} else {
		enqueue(c, job);
		if (!yields(job))
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
