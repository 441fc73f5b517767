// SPDX-License-Identifier: Apache-2.0
/* Metrics: counters fed by events, gauges published by the loop, text rendering. */
#include "export/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/event.h"
#include "base/sanitize.h"
#include "decide/trigger.h"

#ifndef HS_VERSION
#define HS_VERSION "unknown"
#endif

/* Counted by trigger reason (the enum's order), the last one "other": a reason the
 * agent does not name. A baseline is never a trigger event: it counts as other. */
#define N_CREASON (TRIGGER_REASON_COUNT + 1)
#define N_TRIG N_CREASON
static const char *const results[] = { "done", "failed", "refused" };
#define N_RESULT 3
static const char *const methods[] = { "signal", "inspector", "none" };
#define N_METHOD 3
static const char *const sinks[SINK_COUNT] = { "alertmanager", "webhook" };
/* Capture duration buckets (s): a small heap takes well under a second, 300 MB ~30 s. */
static const double buckets[] = { 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct metrics {
	pthread_mutex_t lock;
	unsigned max_procs;
	uint64_t triggers[N_TRIG];
	uint64_t captures[N_RESULT][N_METHOD][N_CREASON];
	uint64_t dur_bucket[N_BUCKETS]; /* non-cumulative; summed when rendered */
	uint64_t dur_count;
	double dur_sum;
	uint64_t sent[SINK_COUNT], failed[SINK_COUNT], dropped[SINK_COUNT];
	unsigned queue_len;
	struct metrics_proc *procs;
	size_t nprocs, procs_cap;
	uint64_t store_snapshots, store_bytes;
	int64_t heartbeat_ms;
	bool ready;
};

struct metrics *metrics_new(unsigned max_procs)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->max_procs = max_procs;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->procs);
	free(m);
}

static size_t index_of(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; v && i < n; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return n - 1; /* the last one is the catch-all ("other", "none") */
}

static const char *ev_str(const json_t *ev, const char *key)
{
	return json_string_value(json_object_get(ev, key));
}

static size_t reason_index(const json_t *ev)
{
	enum trigger_reason r;

	return trigger_reason_parse(ev_str(ev, "reason"), &r) == 0 ? (size_t)r : TRIGGER_REASON_COUNT;
}

static size_t trigger_index(const json_t *ev)
{
	size_t r = reason_index(ev);

	return r == TRIGGER_BASELINE ? TRIGGER_REASON_COUNT : r;
}

static const char *reason_label(size_t i)
{
	return i < TRIGGER_REASON_COUNT ? trigger_reason_name((enum trigger_reason)i) : "other";
}

static void count_capture(struct metrics *m, const json_t *ev, size_t result)
{
	size_t method = index_of(methods, N_METHOD, ev_str(ev, "method"));
	size_t reason = reason_index(ev);

	m->captures[result][method][reason]++;
	if (result != 0)
		return;
	double s = (double)json_integer_value(json_object_get(ev, "capture_ms")) / 1000.0;
	size_t b = 0;
	while (b < N_BUCKETS && s > buckets[b])
		b++;
	if (b < N_BUCKETS)
		m->dur_bucket[b]++;
	m->dur_count++;
	m->dur_sum += s;
}

void metrics_observe_event(struct metrics *m, const json_t *ev)
{
	enum event_kind kind;

	if (!m || event_kind_of(ev, &kind) != 0)
		return;
	pthread_mutex_lock(&m->lock);
	switch (kind) {
	case EVENT_TRIGGER:
		m->triggers[trigger_index(ev)]++;
		break;
	case EVENT_CAPTURE_DONE:
		count_capture(m, ev, 0);
		break;
	case EVENT_CAPTURE_FAILED:
		count_capture(m, ev, 1);
		break;
	case EVENT_CAPTURE_REFUSED:
		count_capture(m, ev, 2);
		break;
	case EVENT_CAPTURE_START:
	case EVENT_KINDS:
		break;
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_sink_result(struct metrics *m, enum metrics_sink s, bool ok)
{
	if (!m || s >= SINK_COUNT)
		return;
	pthread_mutex_lock(&m->lock);
	if (ok)
		m->sent[s]++;
	else
		m->failed[s]++;
	pthread_mutex_unlock(&m->lock);
}

void metrics_sink_dropped(struct metrics *m, enum metrics_sink s)
{
	if (!m || s >= SINK_COUNT)
		return;
	pthread_mutex_lock(&m->lock);
	m->dropped[s]++;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_queue_length(struct metrics *m, unsigned n)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->queue_len = n;
	pthread_mutex_unlock(&m->lock);
}

static int by_rss_desc(const void *a, const void *b)
{
	const struct metrics_proc *x = a, *y = b;

	return x->rss_bytes < y->rss_bytes ? 1 : x->rss_bytes > y->rss_bytes ? -1 : x->pid - y->pid;
}

int metrics_publish_procs(struct metrics *m, const struct metrics_proc *p, size_t n)
{
	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	if (n > m->procs_cap) {
		struct metrics_proc *grown = realloc(m->procs, n * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&m->lock);
			return -ENOMEM;
		}
		m->procs = grown;
		m->procs_cap = n;
	}
	if (n) {
		memcpy(m->procs, p, n * sizeof(*p));
		qsort(m->procs, n, sizeof(*m->procs), by_rss_desc);
	}
	m->nprocs = n;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void metrics_publish_store(struct metrics *m, uint64_t snapshots, uint64_t bytes)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->store_snapshots = snapshots;
	m->store_bytes = bytes;
	pthread_mutex_unlock(&m->lock);
}

void metrics_heartbeat(struct metrics *m, int64_t mono_ms)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->heartbeat_ms = mono_ms;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_ready(struct metrics *m, bool ready)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->ready = ready;
	pthread_mutex_unlock(&m->lock);
}

bool metrics_healthy(struct metrics *m, int64_t now_mono_ms, int64_t max_age_ms)
{
	pthread_mutex_lock(&m->lock);
	bool ok = m->heartbeat_ms && now_mono_ms - m->heartbeat_ms <= max_age_ms;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

bool metrics_ready(struct metrics *m)
{
	pthread_mutex_lock(&m->lock);
	bool ok = m->ready;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* --- rendering -------------------------------------------------------------- */

/* A label value escaped as the text format wants (\\, \", \n), and valid UTF-8:
 * Prometheus refuses the whole scrape for one invalid byte (invalid bytes become
 * U+FFFD; the values come from watched processes' command lines and cgroups). */
static void put_label(FILE *f, const char *raw)
{
	char v[1024];

	sanitize(raw, SANITIZE_UTF8, v, sizeof(v));
	for (const char *p = v; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f), fputc(*p, f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_agent(struct metrics *m, FILE *f)
{
	header(f, "heapsnap_build_info", "gauge", "Build of the running agent (always 1).");
	fprintf(f, "heapsnap_build_info{version=\"%s\"} 1\n", HS_VERSION);
	header(f, "heapsnap_ready", "gauge", "1 once the BPF programs are attached and the /proc scan is done.");
	fprintf(f, "heapsnap_ready %d\n", m->ready ? 1 : 0);
	header(f, "heapsnap_watched_processes", "gauge", "Node.js processes the agent watches.");
	fprintf(f, "heapsnap_watched_processes %zu\n", m->nprocs);
	header(f, "heapsnap_triggers_total", "counter", "Capture triggers, by reason.");
	for (size_t i = 0; i < N_TRIG; i++)
		if (i != TRIGGER_BASELINE)
			fprintf(f, "heapsnap_triggers_total{reason=\"%s\"} %llu\n", reason_label(i),
				(unsigned long long)m->triggers[i]);
}

static void render_captures(struct metrics *m, FILE *f)
{
	header(f, "heapsnap_captures_total", "counter",
	       "Capture attempts by result (done, failed, refused), route and trigger reason.");
	for (size_t r = 0; r < N_RESULT; r++)
		for (size_t me = 0; me < N_METHOD; me++)
			for (size_t re = 0; re < N_CREASON; re++) {
				uint64_t v = m->captures[r][me][re];
				/* The common series always, the rest once they happened. */
				if (!v && !(r == 0 && me == 0 && re == TRIGGER_GROWTH))
					continue;
				fprintf(f, "heapsnap_captures_total{result=\"%s\",method=\"%s\",reason=\"%s\"} %llu\n",
					results[r], methods[me], reason_label(re), (unsigned long long)v);
			}
	header(f, "heapsnap_capture_duration_seconds", "histogram",
	       "Duration of successful captures, trigger to stored snapshot.");
	uint64_t cum = 0;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		cum += m->dur_bucket[b];
		fprintf(f, "heapsnap_capture_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
			(unsigned long long)cum);
	}
	fprintf(f, "heapsnap_capture_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)m->dur_count);
	fprintf(f, "heapsnap_capture_duration_seconds_sum %.3f\n", m->dur_sum);
	fprintf(f, "heapsnap_capture_duration_seconds_count %llu\n", (unsigned long long)m->dur_count);
}

static void render_sinks(struct metrics *m, FILE *f)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} rows[] = {
		{ "heapsnap_alerts_sent_total", "Alert deliveries accepted by the receiver, by sink.",
		  offsetof(struct metrics, sent) },
		{ "heapsnap_alerts_failed_total", "Alert delivery attempts that failed (retried), by sink.",
		  offsetof(struct metrics, failed) },
		{ "heapsnap_alerts_dropped_total",
		  "Alert deliveries given up (queue full or retries exhausted), by sink.",
		  offsetof(struct metrics, dropped) },
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const uint64_t *v = (const uint64_t *)((const char *)m + rows[r].off);
		header(f, rows[r].name, "counter", rows[r].help);
		for (size_t s = 0; s < SINK_COUNT; s++)
			fprintf(f, "%s{sink=\"%s\"} %llu\n", rows[r].name, sinks[s], (unsigned long long)v[s]);
	}
	header(f, "heapsnap_alert_queue_length", "gauge", "Alert deliveries waiting to be sent or retried.");
	fprintf(f, "heapsnap_alert_queue_length %u\n", m->queue_len);
}

static void render_store(struct metrics *m, FILE *f)
{
	header(f, "heapsnap_store_snapshots", "gauge", "Snapshots in the local store.");
	fprintf(f, "heapsnap_store_snapshots %llu\n", (unsigned long long)m->store_snapshots);
	header(f, "heapsnap_store_bytes", "gauge", "Bytes of the snapshots in the local store (compressed).");
	fprintf(f, "heapsnap_store_bytes %llu\n", (unsigned long long)m->store_bytes);
}

/* {pid="..",app="..",container=".."[,kind=".."]} */
static void proc_labels(FILE *f, const struct metrics_proc *p, const char *kind)
{
	fprintf(f, "{pid=\"%d\",app=\"", (int)p->pid);
	put_label(f, p->app);
	fputs("\",container=\"", f);
	put_label(f, p->container);
	if (kind)
		fprintf(f, "\",kind=\"%s", kind);
	fputs("\"}", f);
}

static void render_procs(struct metrics *m, FILE *f)
{
	size_t shown = m->nprocs < m->max_procs ? m->nprocs : m->max_procs;
	uint64_t rest_rss = 0, rest_heap = 0;

	header(f, "heapsnap_process_rss_bytes", "gauge", "Resident set size of a watched process.");
	for (size_t i = 0; i < shown; i++) {
		fputs("heapsnap_process_rss_bytes", f);
		proc_labels(f, &m->procs[i], NULL);
		fprintf(f, " %llu\n", (unsigned long long)m->procs[i].rss_bytes);
	}
	header(f, "heapsnap_process_heap_used_bytes", "gauge",
	       "V8 heap used after the last major GC of a watched process (with GC probes).");
	for (size_t i = 0; i < shown; i++) {
		if (!m->procs[i].gc_known || !m->procs[i].heap_used_bytes)
			continue;
		fputs("heapsnap_process_heap_used_bytes", f);
		proc_labels(f, &m->procs[i], NULL);
		fprintf(f, " %llu\n", (unsigned long long)m->procs[i].heap_used_bytes);
	}
	header(f, "heapsnap_process_gcs_total", "counter", "Garbage collections of a watched process, by kind.");
	for (size_t i = 0; i < shown; i++) {
		const struct metrics_proc *p = &m->procs[i];
		if (!p->gc_known)
			continue;
		for (int k = 0; k < 2; k++) {
			fputs("heapsnap_process_gcs_total", f);
			proc_labels(f, p, k ? "major" : "minor");
			fprintf(f, " %llu\n", (unsigned long long)(k ? p->gc_major : p->gc_minor));
		}
	}
	for (size_t i = shown; i < m->nprocs; i++) {
		rest_rss += m->procs[i].rss_bytes;
		rest_heap += m->procs[i].heap_used_bytes;
	}
	header(f, "heapsnap_omitted_processes", "gauge",
	       "Watched processes without per-process series ([metrics] max_processes reached).");
	fprintf(f, "heapsnap_omitted_processes %zu\n", m->nprocs - shown);
	header(f, "heapsnap_omitted_processes_rss_bytes", "gauge", "Summed RSS of the omitted processes.");
	fprintf(f, "heapsnap_omitted_processes_rss_bytes %llu\n", (unsigned long long)rest_rss);
	header(f, "heapsnap_omitted_processes_heap_used_bytes", "gauge",
	       "Summed post-GC heap used of the omitted processes.");
	fprintf(f, "heapsnap_omitted_processes_heap_used_bytes %llu\n", (unsigned long long)rest_heap);
}

int metrics_render(struct metrics *m, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	render_agent(m, f);
	render_captures(m, f);
	render_store(m, f);
	render_sinks(m, f);
	render_procs(m, f);
	pthread_mutex_unlock(&m->lock);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = n;
	return 0;
}
