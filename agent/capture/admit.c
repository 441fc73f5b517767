// SPDX-License-Identifier: Apache-2.0
/* The memory guard's admission of one capture (see admit.h). */
#include "capture/admit.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "base/log.h"
#include "base/loop.h"
#include "capture/events.h"
#include "decide/guard.h"

/* The memory guard, host-wide: captures of different processes run at once while the
 * guard's estimates of all of them fit. What the running captures will still take is
 * their estimates (reserved), subtracted from the host's MemAvailable: a snapshot that
 * fits alone but not beside the running ones waits for one of them to end (re-checked
 * every second, as memory may come free meanwhile); one that does not fit alone is
 * refused. Each target's own cgroup limit is checked as before: two targets in one
 * cgroup are not counted together (their usage is, as their snapshots grow).
 * true: admitted, its estimate reserved in wk->reserved; *waited_ms: the wait. */
bool guard_admit(struct worker *wk, const struct capture_job *job, bool signal_first,
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
