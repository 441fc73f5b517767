// SPDX-License-Identifier: Apache-2.0
/* Test driver for the GC tracker (built by tests/e2e/NN_gc_versions.sh and
 * tests/bench/gc_overhead.sh, not part of the product).
 *
 *   gc_probe_check [-s SIGNUM] [-t TIMEOUT_S] [-l] PID
 *
 * -l feeds the main isolate's major GCs to the leak heuristic (defaults: 60 s, 5 GCs,
 * 10 MB, 5 %) and prints a line on stderr at each verdict change.
 *
 * Watches PID with gc_tracker, sends SIG to it once the probes are attached (the test
 * program waits for it before its workload), then waits for PID to exit (pidfd, bounded
 * by --timeout, default 60 s) while draining major GC events, and prints one JSON object
 * with the counters on stdout. If the watch fails: {"pid":..,"error":"why"}, exit 2. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "track/gc.h"
#include "decide/leak.h"

struct event_tally {
	uint64_t majors;
	uint64_t last_after;
	uint64_t max_pause_ns;
	int leak;                 /* -l */
	uint64_t first_ns;
	enum leak_verdict verdict;
	struct leak_series series;
};

static void feed_leak(struct event_tally *t, const struct gc_major_event *ev)
{
	static const struct leak_params params = { 60, 5, 10 << 20, 5 };
	struct leak_result r;

	if (ev->tid != ev->tgid)
		return;
	if (!t->first_ns)
		t->first_ns = ev->ktime_ns;
	leak_series_add(&t->series, ev->ktime_ns / 1000000, ev->heap_used_after);
	leak_evaluate(&t->series, &params, &r);
	fprintf(stderr, "leak: +%.0f s heap %.1f MB verdict %d slope %.1f MB/min scale %u (%s)\n",
		(ev->ktime_ns - t->first_ns) / 1e9, ev->heap_used_after / 1048576.0, r.verdict,
		r.slope_bytes_per_min / 1048576, r.scale, r.reason);
	t->verdict = r.verdict;
}

static void on_major(void *ctx, const struct gc_major_event *ev)
{
	struct event_tally *t = ctx;

	t->majors++;
	t->last_after = ev->heap_used_after;
	if (ev->pause_ns > t->max_pause_ns)
		t->max_pause_ns = ev->pause_ns;
	if (t->leak)
		feed_leak(t, ev);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the process behind pidfd to exit, consuming events; 0, or -1 on timeout. */
static int wait_exit(struct gc_tracker *tr, int pidfd, unsigned timeout_s, struct event_tally *t)
{
	uint64_t deadline = now_ms() + timeout_s * 1000ull;

	for (;;) {
		struct pollfd fds[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = gc_tracker_fd(tr), .events = POLLIN } };
		uint64_t now = now_ms();
		int rc;

		if (now >= deadline)
			return -1;
		rc = poll(fds, 2, (int)(deadline - now));
		if (rc < 0 && errno != EINTR)
			return -1;
		gc_tracker_consume(tr, on_major, t);
		if (fds[0].revents)
			return 0;
	}
}

static uint64_t watch_ms;

static void print_json(pid_t pid, struct gc_tracker *tr, const struct event_tally *t, const char *error)
{
	json_t *o = json_object();
	struct gc_stats st;
	char path[4096] = "";
	int nprobes = 0;

	json_object_set_new(o, "pid", json_integer(pid));
	if (error) {
		json_object_set_new(o, "error", json_string(error));
	} else {
		gc_tracker_stats(tr, pid, &st);
		gc_tracker_binary(tr, pid, path, sizeof(path), &nprobes);
		json_object_set_new(o, "binary", json_string(path));
		json_object_set_new(o, "probes", json_integer(nprobes));
		json_object_set_new(o, "watch_ms", json_integer((json_int_t)watch_ms));
		json_object_set_new(o, "gc_minor", json_integer((json_int_t)st.gc_minor));
		json_object_set_new(o, "gc_major", json_integer((json_int_t)st.gc_major));
		json_object_set_new(o, "gc_unclassified", json_integer((json_int_t)st.gc_unclassified));
		json_object_set_new(o, "pause_total_ns", json_integer((json_int_t)st.pause_total_ns));
		json_object_set_new(o, "pause_max_ns", json_integer((json_int_t)st.pause_max_ns));
		json_object_set_new(o, "heap_used_bytes", json_integer((json_int_t)st.heap_used_bytes));
		json_object_set_new(o, "heap_used_before_bytes", json_integer((json_int_t)st.heap_used_before_bytes));
		json_object_set_new(o, "major_events", json_integer((json_int_t)t->majors));
		json_object_set_new(o, "last_event_heap_used_after", json_integer((json_int_t)t->last_after));
	}
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

int main(int argc, char **argv)
{
	struct event_tally tally = { 0 };
	struct gc_tracker *tr;
	char err[512];
	unsigned timeout_s = 60;
	int sig = 0, pidfd, opt, rc = 1;
	pid_t pid;

	leak_series_init(&tally.series, 60);
	while ((opt = getopt(argc, argv, "s:t:l")) != -1) {
		if (opt == 'l')
			tally.leak = 1;
		else if (opt == 's')
			sig = atoi(optarg);
		else if (opt == 't')
			timeout_s = (unsigned)atoi(optarg);
		else
			return 64;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: gc_probe_check [-s SIGNUM] [-t TIMEOUT_S] [-l] PID\n");
		return 64;
	}
	pid = atoi(argv[optind]);
	tr = gc_tracker_new(err, sizeof(err));
	if (!tr) {
		fprintf(stderr, "gc_probe_check: %s\n", err);
		return 1;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		fprintf(stderr, "gc_probe_check: pidfd_open %d: %s\n", pid, strerror(errno));
		goto cleanup;
	}
	watch_ms = now_ms();
	rc = gc_tracker_watch(tr, pid, NULL, err, sizeof(err)); /* every check: the maps read */
	watch_ms = now_ms() - watch_ms;
	rc = rc < 0 ? 1 : 0;
	if (rc) {
		print_json(pid, tr, &tally, err);
		if (sig)
			kill(pid, sig);
		rc = 2;
		goto cleanup;
	}
	rc = 1;
	if (sig && kill(pid, sig) < 0) {
		fprintf(stderr, "gc_probe_check: kill %d: %s\n", pid, strerror(errno));
		goto cleanup;
	}
	if (wait_exit(tr, pidfd, timeout_s, &tally) < 0) {
		fprintf(stderr, "gc_probe_check: %d did not exit within %u s\n", pid, timeout_s);
		goto cleanup;
	}
	print_json(pid, tr, &tally, NULL);
	rc = 0;
cleanup:
	if (pidfd >= 0)
		close(pidfd);
	gc_tracker_free(tr);
	return rc;
}
