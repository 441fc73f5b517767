// SPDX-License-Identifier: Apache-2.0
/* The agent: the table of watched Node processes, each kernel event wired to the
 * engine's decision and the decision to a capture. Data flows one way: kernel event
 * (probes) → decision (decide/engine.h, pure) → capture job (capture) → store → alert.
 * heapsnapd.c wires it to the event loop through the functions below. */
#ifndef HS_AGENT_H
#define HS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "alert/alert.h"
#include "base/config.h"
#include "capture/capture.h"
#include "daemon/persist.h"
#include "decide/cost.h"
#include "decide/engine.h"
#include "decide/leak.h"
#include "decide/predict.h"
#include "decide/trigger.h"
#include "track/procs.h"

/* A process seen at exec has no meaningful RSS yet: Node's own start-up takes
 * ~40 MB. Its growth baseline is its RSS this long after exec. */
#define AGENT_SETTLE_MS 3000
/* A process seen at exec is set up (its /proc read, its GC probes attached, listed)
 * this long after its exec: one that exits sooner (npm scripts, CLIs, build jobs;
 * `node -e 0` lives ~100 ms here) costs the agent its two kernel events and nothing
 * read. Short beside AGENT_SETTLE_MS, before which nothing is armed. */
#define AGENT_DEFER_MS 250

struct probes;
struct connect_guard;
struct metrics;
struct gc_tracker;
struct gc_major_event;

/* One watched process, by concern. Identity and labels stay at the top; each part
 * below belongs to the functions of agent.c that share its name. */
struct watched {
	pid_t pid;
	uint64_t start_time;
	struct proc_info info;
	int64_t first_seen_wall_ms;
	struct alert_proc labels;      /* pid, app, container: for metrics and alerts */
	struct trigger_proc trig;      /* the trigger policy's state (persisted) */
	char baseline_id[SNAPSHOT_ID_LEN]; /* baseline snapshot for the next report (persisted) */
	struct {                       /* what the kernel is asked to report, and when to look again */
		uint64_t armed_bytes;
		uint64_t last_rss;     /* RSS at the last kernel report */
		int64_t retry_at_ms;   /* monotonic; 0 = none */
		int64_t settle_at_ms;  /* just exec'ed: the baseline is taken then (0 = taken) */
		enum engine_hold hold_said; /* the hold last logged: said again only when it changes */
	} watch;
	struct {                       /* captures of it */
		bool running;          /* a capture of it is queued or running */
		bool baseline;         /* ... and it is a baseline (an incident may replace it) */
		unsigned pending;      /* jobs submitted, outcome not seen yet */
		uint64_t baseline_app_rss; /* application RSS at the queued baseline's trigger */
		uint64_t baseline_heap;    /* ... and the heap after GC then (0 = unknown) */
	} capture;
	struct cost_watch cost;        /* the last capture's effect on its RSS, being measured */
	bool operators_inspector;      /* `heapsnap ps` last saw an inspector open before any capture */
	struct {                       /* GC probes and its latest major GCs (main isolate) */
		bool attached;
		bool retry_at_settle;  /* seen at exec, not attached: settle() tries again */
		char probes[192];      /* "attached", or why not */
		struct cost_majors majors;
	} gc;
	struct {                       /* the leak heuristic */
		struct leak_series heap_floor; /* heap used after each major GC (main isolate) */
		double trend_bytes_per_min;    /* slope of the post-GC floor */
		enum leak_verdict state;       /* its latest verdict (leak_verdict_name) */
	} leak;
	struct {                       /* the predictive trigger (and the growth rate) */
		struct predict_window window;  /* (time, application RSS) at each step crossed */
		bool too_late_logged;
	} predict;
};

struct agent {
	const struct config *cfg;
	struct {                       /* the policies' params, built from cfg (agent_set_config) */
		struct trigger_params trigger;
		struct leak_params leak;
		struct predict_params predict;
	} policy;
	struct probes *probes;
	struct gc_tracker *gc;         /* NULL when GC tracking is unavailable */
	struct capturer *capturer;
	struct connect_guard *cguard;  /* the inspector's connect guard (may be unavailable) */
	struct alerter *alerts;
	struct watched **procs;
	size_t nprocs, cap;
	struct persisted *restored;    /* state saved by a previous run, used by agent_scan */
	size_t nrestored;
	struct persist_batch persist;  /* cfg->state_file: written in batches */
	struct {                       /* seen at exec, set up AGENT_DEFER_MS later (oldest first) */
		struct exec_seen {
			pid_t pid;
			int64_t at_ms;  /* monotonic */
		} *q;
		size_t n, cap;
		int timerfd;           /* fires when the oldest is due */
	} execs;
};

/* cfg (not owned, outlives the agent) and the alerter, which the daemon's sinks join
 * before agent_start. 0, or -ENOMEM. */
int agent_init(struct agent *a, const struct config *cfg);
/* After agent_init: the kernel side, in the order captures need it: BPF probes, GC
 * tracking (optional: said if unavailable), the inspector's connect guard, the capture
 * workers (writing into store). 0, or a negative errno with err. */
int agent_start(struct agent *a, struct store *store, char *err, size_t errlen);
/* Stops and frees every part the agent holds (NULL parts are skipped). */
void agent_destroy(struct agent *a);
/* Set a->cfg and the policies' params built from it (before any other call). */
void agent_set_config(struct agent *a, const struct config *cfg);
/* Load the state a previous run saved (cfg->state_file), for agent_scan. */
void agent_restore(struct agent *a);
/* Find every running Node process (a /proc scan) and watch it, with the state
 * agent_restore loaded (freed afterwards). */
void agent_scan(struct agent *a);
/* Finish what a previous run killed mid-capture left (its capture journals). */
void agent_resume_interrupted(struct agent *a);
/* Watch pid if its executable is one of the configured names. just_exec: seen at
 * exec, so its first-seen RSS is taken once Node has started (AGENT_SETTLE_MS). */
void agent_add(struct agent *a, pid_t pid, bool just_exec);
/* The kernel reported pid's exit (and dropped its own entry of it). */
void agent_remove(struct agent *a, pid_t pid);
/* The kernel saw pid's RSS reach its armed level. */
void agent_rss_crossed(struct agent *a, pid_t pid, uint64_t rss);
/* The leak heuristic (or another policy) asks for a capture of pid. */
void agent_request_capture(struct agent *a, struct watched *w, enum trigger_reason reason, uint64_t rss,
			   uint64_t threshold);
/* A major GC of a watched process ended (from the GC tracker). */
void agent_major_gc(struct agent *a, const struct gc_major_event *ev);
/* A capture finished. */
void agent_capture_finished(struct agent *a, const struct capture_outcome *o);
/* The event loop's part, after agent_start: the descriptors to watch, and what to call
 * when each is readable. The kernel events (0 or a negative errno); the GC tracker's
 * (agent_gc_fd is -1 when GC tracking is unavailable); finished captures. */
int agent_probes_fd(const struct agent *a);
int agent_probes_readable(struct agent *a);
int agent_gc_fd(const struct agent *a);
int agent_gc_readable(struct agent *a);
int agent_captures_fd(const struct agent *a);
/* Processes seen at exec whose set-up is due (a timerfd). */
int agent_execs_fd(const struct agent *a);
void agent_execs_due(struct agent *a);
void agent_captures_readable(struct agent *a);
/* The alert bus every sink joins (after agent_init). */
struct alerter *agent_alerter(struct agent *a);
/* How many processes are watched. */
size_t agent_count(const struct agent *a);
/* Write the persisted state if it changed: when due (force: now, e.g. at a clean stop). */
void agent_flush_state(struct agent *a, bool force);
/* Once a second: retries held back by cooldown, and the persisted state's flush. */
void agent_tick(struct agent *a);
struct watched *agent_find(struct agent *a, pid_t pid);
/* Live state of every watched process as a JSON array text (malloc'ed), for `heapsnap ps`. */
char *agent_state_json(struct agent *a);
/* Publish the per-process gauges (RSS, post-GC heap, GC counts) to m. */
void agent_publish_metrics(struct agent *a, struct metrics *m);
/* Saves what is not saved yet, then frees the table. */
void agent_free_procs(struct agent *a);

#endif
