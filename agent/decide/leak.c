// SPDX-License-Identifier: Apache-2.0
/* Leak heuristic: floors of post-major-GC heap, Theil–Sen trend, spread checks (leak.h).
 * No libm: the build links without -lm. */
#include "decide/leak.h"

#include "base/config.h"
#include "decide/trigger.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_GROUPS 9           /* floor points per scale */
#define LEAK_SCALES 4           /* k = 1, 2, 4, 8 */
#define LEAK_SMOOTH 3           /* a floor is the minimum over this many sub-windows */

struct point {
	double t_ms;
	double bytes;
};

/* What one evaluation at one scale requires; relaxed for the leaning verdict. */
struct requirements {
	double span_ms;
	unsigned gcs;
	double min_bytes;
	double min_pct;
	int min_floors;
	double window_ms;           /* the thresholds are per window_ms */
};

const char *leak_verdict_name(enum leak_verdict v)
{
	static const char *const names[LEAK_VERDICT_COUNT] = {
		[LEAK_NONE] = "none", [LEAK_LEANING] = "leaning", [LEAK_FIRE] = "leak",
	};

	return (unsigned)v < LEAK_VERDICT_COUNT ? names[v] : "unknown";
}

struct leak_params leak_params_from(const struct config *cfg)
{
	return (struct leak_params){
		.window_s = cfg->leak_window_s,
		.min_gcs = cfg->leak_min_gcs,
		.min_bytes = cfg->leak_min_bytes,
		.min_pct = cfg->leak_min_pct,
	};
}

void leak_series_init(struct leak_series *s, unsigned window_s)
{
	memset(s, 0, sizeof(*s));
	s->bucket_ms = window_s >= 8 ? (uint64_t)window_s * 1000 / 8 : 1000;
}

static const struct leak_bucket *bucket_at(const struct leak_series *s, unsigned i) /* 0 = oldest */
{
	return &s->b[(s->head + LEAK_BUCKETS - s->count + i) % LEAK_BUCKETS];
}

void leak_series_add(struct leak_series *s, uint64_t t_ms, uint64_t heap_used_bytes)
{
	leak_series_add_major(s, t_ms, 0, heap_used_bytes, 0);
}

static void remember(struct leak_series *s, struct leak_sample x)
{
	s->hist[s->hist_head] = x;
	s->hist_head = (s->hist_head + 1) % LEAK_HIST;
	if (s->nhist < LEAK_HIST)
		s->nhist++;
}

void leak_series_add_gc(struct leak_series *s, uint64_t t_ms, uint64_t heap_after_last_gc, uint64_t rss)
{
	if (!heap_after_last_gc || (s->nrecent && t_ms <= s->recent[(s->recent_head + LEAK_RECENT - 1) % LEAK_RECENT].t_ms))
		return; /* not newer than the last major GC: that one already says it */
	if (s->nlatest && t_ms <= s->latest[s->nlatest - 1].t_ms)
		return;
	if (s->nlatest == LEAK_LATEST) {
		/* keep the first (the continuation's start) and thin the rest by half */
		unsigned k = 1;
		for (unsigned i = 2; i < LEAK_LATEST; i += 2)
			s->latest[k++] = s->latest[i];
		s->nlatest = k;
	}
	s->latest[s->nlatest++] = (struct leak_sample){ t_ms, heap_after_last_gc, 0, rss };
	remember(s, s->latest[s->nlatest - 1]);
}

void leak_series_add_major(struct leak_series *s, uint64_t t_ms, uint64_t before, uint64_t heap_used_bytes, uint64_t rss)
{
	uint64_t index = t_ms / s->bucket_ms;
	struct leak_bucket *newest;

	remember(s, (struct leak_sample){ t_ms, heap_used_bytes, before, rss });
	s->nlatest = 0;
	s->recent[s->recent_head] = (struct leak_sample){ t_ms, heap_used_bytes, before, rss };
	s->recent_head = (s->recent_head + 1) % LEAK_RECENT;
	if (s->nrecent < LEAK_RECENT)
		s->nrecent++;

	if (s->count) {
		newest = &s->b[(s->head + LEAK_BUCKETS - 1) % LEAK_BUCKETS];
		if (index <= newest->index) {
			if (heap_used_bytes < newest->min_bytes) {
				newest->min_bytes = heap_used_bytes;
				newest->min_t_ms = t_ms;
			}
			if (t_ms > newest->last_t_ms)
				newest->last_t_ms = t_ms;
			newest->samples++;
			return;
		}
	}
	s->b[s->head] = (struct leak_bucket){
		.index = index, .min_t_ms = t_ms, .min_bytes = heap_used_bytes,
		.first_t_ms = t_ms, .last_t_ms = t_ms, .samples = 1,
	};
	s->head = (s->head + 1) % LEAK_BUCKETS;
	if (s->count < LEAK_BUCKETS)
		s->count++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n) /* sorts v */
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Theil–Sen: median of pairwise slopes (bytes/ms) and median intercept. */
static void theil_sen(const struct point *p, int n, double *slope, double *intercept)
{
	double v[LEAK_GROUPS * LEAK_GROUPS];
	int k = 0;

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (p[j].t_ms != p[i].t_ms)
				v[k++] = (p[j].bytes - p[i].bytes) / (p[j].t_ms - p[i].t_ms);
	*slope = median(v, k);
	for (int i = 0; i < n; i++)
		v[i] = p[i].bytes - *slope * p[i].t_ms;
	*intercept = median(v, n);
}

static double absolute(double x)
{
	return x < 0 ? -x : x;
}

/* Robust scatter of the floors around the fitted line (1.4826 x MAD: sigma for normal noise). */
static double scatter(const struct point *p, int n, double slope, double intercept)
{
	double r[LEAK_GROUPS];

	for (int i = 0; i < n; i++)
		r[i] = absolute(p[i].bytes - (slope * p[i].t_ms + intercept));
	return 1.4826 * median(r, n);
}

/* Floor points at scale k; also the span and GC count of the samples they cover. */
static int floors_at_scale(const struct leak_series *s, unsigned k, struct point *pts, double *span_ms,
			   unsigned *gcs)
{
	struct point group[LEAK_GROUPS];
	bool present[LEAK_GROUPS] = { false };
	int64_t newest = (int64_t)bucket_at(s, s->count - 1)->index;
	int64_t lo = newest - (int64_t)(LEAK_GROUPS * k) + 1;
	uint64_t first_t = 0, last_t = 0;
	int n = 0, ngroups = 0, smooth;

	*gcs = 0;
	for (unsigned i = 0; i < s->count; i++) {
		const struct leak_bucket *b = bucket_at(s, i);
		int g;

		if ((int64_t)b->index < lo)
			continue;
		g = (int)(((int64_t)b->index - lo) / (int64_t)k);
		if (!*gcs)
			first_t = b->first_t_ms;
		last_t = b->last_t_ms;
		*gcs += b->samples;
		if (!present[g] || (double)b->min_bytes < group[g].bytes)
			group[g] = (struct point){ (double)b->min_t_ms, (double)b->min_bytes };
		present[g] = true;
	}
	for (int g = 0; g < LEAK_GROUPS; g++)
		ngroups += present[g];
	/* Smooth only when sub-windows hold several GCs each: with sparse major GCs (a
	 * growing heap raises V8's limit, so they get rarer) every sample is a floor. */
	smooth = ngroups && *gcs >= 3u * (unsigned)ngroups ? LEAK_SMOOTH : 1;
	for (int g = 0; g < LEAK_GROUPS; g++) {
		if (!present[g])
			continue;
		pts[n] = group[g];
		for (int back = 1; back < smooth && g - back >= 0; back++)
			if (present[g - back] && group[g - back].bytes < pts[n].bytes)
				pts[n] = group[g - back]; /* sliding minimum */
		/* The same minimum seen from the next sub-window adds no information. */
		if (n == 0 || pts[n].t_ms != pts[n - 1].t_ms)
			n++;
	}
	*span_ms = *gcs ? (double)(last_t - first_t) : 0;
	return n;
}

static double max_of(const struct point *p, int from, int to)
{
	double m = p[from].bytes;

	for (int i = from + 1; i < to; i++)
		if (p[i].bytes > m)
			m = p[i].bytes;
	return m;
}

static double median_of(const struct point *p, int from, int to)
{
	double v[LEAK_GROUPS];

	for (int i = from; i < to; i++)
		v[i - from] = p[i].bytes;
	return median(v, to - from);
}

/* Mann–Kendall S statistic (concordant minus discordant pairs) in standard deviations
 * under "no trend": a trend test that ignores magnitudes, so one lucky floor cannot pass. */
static double kendall_z(const struct point *p, int n)
{
	double s = 0, var = n * (n - 1) * (2.0 * n + 5) / 18, sd = var;

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			s += (p[j].bytes > p[i].bytes) - (p[j].bytes < p[i].bytes);
	/* var > 0 for n >= 2; sqrt by Newton (no libm). */
	for (int it = 0; it < 30; it++)
		sd = (sd + var / sd) / 2;
	return (s - 1) / sd;
}

/* Both halves of the floors rise at >= 1/3 of the whole window's rate. */
static bool halves_agree(const struct point *p, int n, double rise)
{
	int h = (n + 1) / 2;
	double slope_whole = rise / (p[n - 1].t_ms - p[0].t_ms), s1, s2, intercept;

	theil_sen(p, h, &s1, &intercept);
	theil_sen(p + n - h, h, &s2, &intercept);
	return s1 * 3 >= slope_whole && s2 * 3 >= slope_whole;
}

/* Check 5: the rise is spread over the thirds, and the last third holds a new high. */
static const char *spread_check(const struct point *p, int n, double rise, double sigma)
{
	int t = n / 3, nondecreasing = 0;
	double m1 = median_of(p, 0, t), m2 = median_of(p, t, n - t), m3 = median_of(p, n - t, n);
	double step = rise / 12 > sigma ? rise / 12 : sigma;

	if (m2 - m1 < step || m3 - m2 < step)
		return "rise not spread over the window (step or burst)";
	if (max_of(p, n - t, n) - max_of(p, 0, n - t) < (rise / 6 > sigma ? rise / 6 : sigma))
		return "no new high floor recently (plateau)";
	if (p[n - 1].bytes < p[0].bytes + rise / 2)
		return "latest floor back down (burst)";
	for (int i = 1; i < n; i++)
		nondecreasing += p[i].bytes >= p[i - 1].bytes - sigma;
	if (3 * nondecreasing < 2 * (n - 1))
		return "floor not monotone";
	if (!halves_agree(p, n, rise))
		return "rise confined to part of the window (burst, warm-up)";
	if (kendall_z(p, n) < 2.33)
		return "trend not significant (Mann-Kendall)";
	return NULL;
}

/* Floor points pts[0..n) over span_ms and gcs samples: true if every requirement
 * holds; out gets the numbers and the reason. */
static bool evaluate_points(const struct point *pts, int n, double span_ms,
			    const struct requirements *req, struct leak_result *out)
{
	double slope, intercept, sigma, start, rise;

	out->floors = (unsigned)n;
	out->span_s = span_ms / 1000;
	/* The trend is reported whenever there is one, even if the checks stop below. */
	theil_sen(pts, n, &slope, &intercept);
	start = slope * pts[0].t_ms + intercept;
	rise = slope * span_ms;
	out->slope_bytes_per_min = slope * 60000;
	out->floor_start_bytes = start > 0 ? (uint64_t)start : 0;
	out->rise_bytes = rise > 0 ? (uint64_t)rise : 0;
	if (span_ms < req->span_ms)
		return out->reason = "span shorter than the window", false;
	if (out->gcs < req->gcs)
		return out->reason = "too few major GCs", false;
	if (n < req->min_floors)
		return out->reason = "too few floors", false;
	if (slope <= 0)
		return out->reason = "floor not rising", false;
	/* Thresholds are rates: growth per window, whatever the span looked at. */
	if (slope * req->window_ms < req->min_bytes)
		return out->reason = "rise below leak_min_mb per window", false;
	if (slope * req->window_ms * 100 < req->min_pct * (start > 1 ? start : 1))
		return out->reason = "rise below leak_min_pct per window", false;
	sigma = scatter(pts, n, slope, intercept);
	if (rise < 3 * sigma)
		return out->reason = "rise within the noise", false;
	out->reason = spread_check(pts, n, rise, sigma);
	if (out->reason)
		return false;
	out->reason = "";
	return true;
}

/* One scale (see the top of leak.h). */
static bool evaluate_scale(const struct leak_series *s, unsigned k, const struct requirements *req,
			   struct leak_result *out)
{
	struct point pts[LEAK_GROUPS];
	double span_ms;
	int n = floors_at_scale(s, k, pts, &span_ms, &out->gcs);

	out->scale = k;
	return evaluate_points(pts, n, span_ms, req, out);
}

/* The largest fall of a floor below an earlier one. Each sparse point is one major GC,
 * not a minimum over several: a later GC that kept much less proves the earlier one's
 * heap held data that was going to be freed (a burst's plateau, a wave's crest), and a
 * leaking heap never gives back more than noise. */
static double drawdown(const struct point *p, int n)
{
	double peak = p[0].bytes, worst = 0;

	for (int i = 1; i < n; i++) {
		if (peak - p[i].bytes > worst)
			worst = peak - p[i].bytes;
		if (p[i].bytes > peak)
			peak = p[i].bytes;
	}
	return worst;
}

/* The newest floor rose from the one before by >= half of what the trend (bytes/ms)
 * gives their interval: a fill that reached its bound repeats its floor (simulated: a
 * warm-up that filled for 10-20 s, then one or two major GCs on its plateau, passed every
 * other check, at 96-392 s). */
static bool newest_step_rose(const struct point *p, int n, double slope)
{
	return (p[n - 1].bytes - p[n - 2].bytes) * 2 >= slope * (p[n - 1].t_ms - p[n - 2].t_ms);
}

/* Fewer than two major GCs a bucket over the newest LEAK_GROUPS buckets. */
static bool series_sparse(const struct leak_series *s)
{
	unsigned n = s->count < LEAK_GROUPS ? s->count : LEAK_GROUPS, gcs = 0;
	for (unsigned i = 0; i < n; i++)
		gcs += bucket_at(s, s->count - n + i)->samples;
	return n >= 2 && gcs < 2 * n;
}

/* Sparse major GCs (fewer than two a bucket on average): every bucket's minimum is one
 * GC's floor, and the newest LEAK_GROUPS of them are the trend, whatever time they
 * span. The time scales above need k * window_s of history holding enough floors,
 * which with a major GC every 40 s takes 7-8 of them; these need the 6 floors any
 * verdict needs (Mann–Kendall at p ~ 0.01), over at least window_s.
 * Returns false (and leaves out alone) when the series is not sparse. */
static bool evaluate_recent(const struct leak_series *s, const struct requirements *req,
			    struct leak_result *out)
{
	struct point pts[LEAK_GROUPS];
	unsigned n = s->count < LEAK_GROUPS ? s->count : LEAK_GROUPS, gcs = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct leak_bucket *b = bucket_at(s, s->count - n + i);
		pts[i] = (struct point){ (double)b->min_t_ms, (double)b->min_bytes };
		gcs += b->samples;
	}
	if (!series_sparse(s))
		return false;
	struct leak_result r = { .gcs = gcs, .scale = 0 };
	double span_ms = (double)(bucket_at(s, s->count - 1)->last_t_ms - bucket_at(s, s->count - n)->first_t_ms);
	if (!evaluate_points(pts, (int)n, span_ms, req, &r) || drawdown(pts, (int)n) * 3 > (double)r.rise_bytes ||
	    !newest_step_rose(pts, (int)n, r.slope_bytes_per_min / 60000))
		return false;
	*out = r;
	return true;
}

/* A fast leak: V8 raises the old generation's limit as the heap grows, so a leak of
 * 10-30 MB/s makes few major GCs, and the checks above, which need six floors over
 * window_s or more, conclude only after the heap has grown by gigabytes. Here the points
 * are the newest major GCs themselves (s->recent), and the run of them that rose at every
 * step: what each major GC kept above the previous one never came back. Fires when
 *   - the run holds >= LEAK_FAST_POINTS floors, and its rising ones (all but the first,
 *     the floor it rose from) span >= 5/12 of window_s: a load burst that ramps for 20 s
 *     and then holds, or a cache filling to its bound, has stopped rising by then;
 *     or, the early span, for floors rising at >= LEAK_EARLY_MIN_RATE x leak_min_mb per
 *     10 s: the heap, GC by GC, has risen at its pace for >= LEAK_EARLY_SPAN x window_s
 *     (22 s by default) since the rise began (rise_start_ms), and rose up to the newest
 *     major GC (rose_to_the_end). A fill or a burst that rises as fast for up to ~20 s
 *     has stopped by then, and the last seconds show it;
 *   - every step rose at >= 1/2 of the run's mean rate, and the last one at >= 2/3 of it
 *     (one warm-up step, or a ramp that reached its plateau between two major GCs, has a
 *     slow step);
 *   - the rise is >= LEAK_FAST_MIN_WINDOWS x leak_min_mb and >= the first floor (the heap
 *     at least doubled: slower leaks are the time scales' work, and a slow sawtooth that
 *     ramps for longer than the span does not double its floor);
 *   - leak_min_mb and leak_min_pct per window hold, as for every verdict.
 * No leaning from this path: a baseline that close to a fast leak's incident would diff
 * against almost the same heap. */
#define LEAK_FAST_POINTS 4
#define LEAK_FAST_MIN_WINDOWS 8
#define LEAK_FAST_NOISE_BYTES (1024.0 * 1024.0)

/* The newest run of major GCs whose heap after rose at every step, oldest first, in run
 * (at most LEAK_RECENT). Returns its length. */
static int rising_run(const struct leak_series *s, struct leak_sample *run)
{
	struct leak_sample rev[LEAK_RECENT];
	int n = 0;

	for (unsigned i = 0; i < s->nrecent; i++) {
		const struct leak_sample *m = &s->recent[(s->recent_head + LEAK_RECENT - 1 - i) % LEAK_RECENT];
		if (n && ((double)m->bytes + LEAK_FAST_NOISE_BYTES > (double)rev[n - 1].bytes || m->t_ms >= rev[n - 1].t_ms))
			break;
		rev[n++] = *m;
	}
	for (int i = 0; i < n; i++)
		run[i] = rev[n - 1 - i];
	return n;
}

static void to_points(const struct leak_sample *run, int n, struct point *pts)
{
	for (int i = 0; i < n; i++)
		pts[i] = (struct point){ (double)run[i].t_ms, (double)run[i].bytes };
}

/* Every step at >= 1/2 of the mean rate, the last at >= 2/3 of it. */
static bool steps_even(const struct point *pts, int n, double rate)
{
	for (int i = 1; i < n; i++) {
		double step = (pts[i].bytes - pts[i - 1].bytes) / (pts[i].t_ms - pts[i - 1].t_ms);
		if (step * 2 < rate || (i == n - 1 && step * 3 < rate * 2))
			return false;
	}
	return true;
}

/* The numbers every fast verdict shows, from the run's floors. */
static void describe_run(const struct point *pts, int n, double span, struct leak_result *out)
{
	double rise = pts[n - 1].bytes - pts[0].bytes;
	double rate = pts[n - 1].t_ms > pts[0].t_ms ? rise / (pts[n - 1].t_ms - pts[0].t_ms) : 0;

	out->floors = (unsigned)n;
	out->span_s = span / 1000;
	out->floor_start_bytes = (uint64_t)pts[0].bytes;
	out->rise_bytes = rise > 0 ? (uint64_t)rise : 0;
	out->slope_bytes_per_min = rate * 60000;
}

/* The rise of the floors is large enough to tell from a burst (min_windows x leak_min_mb
 * and of_start x the first floor), and above the thresholds. extra: what the heap gained
 * since the newest floor that a major GC would keep at the run's retention (0 = none
 * counted); it may make up at most half of min_windows x leak_min_mb. */
static const char *fast_rise_check(const struct point *pts, int n, const struct requirements *req,
				   double of_start, double min_windows, double extra)
{
	double rise = pts[n - 1].bytes - pts[0].bytes, rate = rise / (pts[n - 1].t_ms - pts[0].t_ms);
	double need = min_windows * req->min_bytes;

	if (rise * 2 < need || rise + extra < need || rise + extra < pts[0].bytes * of_start)
		return "fast: rise too small to tell from a burst";
	if (rate * req->window_ms < req->min_bytes ||
	    rate * req->window_ms * 100 < req->min_pct * (pts[0].bytes > 1 ? pts[0].bytes : 1))
		return "fast: below leak_min_mb / leak_min_pct per window";
	return NULL;
}

/* Of what the heap gained between two major GCs (before the second minus the floor
 * of the first: what scavenges promoted), the share the second one kept. -1 = unknown. */
static double retention(const struct leak_sample *from, const struct leak_sample *to)
{
	if (!to->before || to->before <= from->bytes)
		return -1;
	return ((double)to->bytes - (double)from->bytes) / ((double)to->before - (double)from->bytes);
}

/* The heap's rate between two samples, bytes/ms. */
static double rate_between(const struct leak_sample *a, const struct leak_sample *b)
{
	return b->t_ms > a->t_ms ? ((double)b->bytes - (double)a->bytes) / (double)(b->t_ms - a->t_ms) : 0;
}

#define LEAK_EARLY_SPAN (11.0 / 30)
#define LEAK_RECENT_MS 2000.0
#define LEAK_PACE 0.75
#define LEAK_UNSEEN_MAX_MS 4000.0
#define LEAK_EARLY_MIN_RATE 6.0

/* The heap's path over the interval between two consecutive major GCs, oldest first:
 * the floor it rose from, the heap after each GC in it that s->hist still holds, the heap
 * before the major GC that ended it. Returns the number of points (<= LEAK_HIST + 2). */
static int interval_path(const struct leak_series *s, const struct leak_sample *from, const struct leak_sample *to,
			 struct leak_sample *path)
{
	int k = 0;

	path[k++] = *from;
	for (unsigned i = 0; i < s->nhist; i++) {
		const struct leak_sample *h = &s->hist[(s->hist_head + LEAK_HIST - s->nhist + i) % LEAK_HIST];
		if (h->t_ms > from->t_ms && h->t_ms < to->t_ms)
			path[k++] = *h;
	}
	path[k++] = (struct leak_sample){ to->t_ms, to->before, 0, 0 };
	return k;
}

/* The oldest point of path[0..k) from which the heap rose at >= pace all the way: each
 * point's rate to the first point >= LEAK_RECENT_MS after it is >= pace (a point nearer
 * the end than that: its rate to the end, if >= LEAK_RECENT_MS / 2 away, else the older
 * points' longer segments judge it; the first point, the floor: always, to the end), and
 * no gap between two points is longer than LEAK_UNSEEN_MAX_MS (what happened unseen is
 * not evidence). Returns its index (k - 1: none). */
static int paced_from(const struct leak_sample *path, int k, double pace)
{
	int from = k - 1;

	for (int i = k - 2; i >= 0; i--) {
		int ref = k - 1;
		for (int j = i + 1; j < k; j++)
			if ((double)path[j].t_ms >= (double)path[i].t_ms + LEAK_RECENT_MS) {
				ref = j;
				break;
			}
		bool judged = i == 0 || (double)(path[ref].t_ms - path[i].t_ms) >= LEAK_RECENT_MS / 2;
		if ((double)(path[i + 1].t_ms - path[i].t_ms) > LEAK_UNSEEN_MAX_MS ||
		    (judged && rate_between(&path[i], &path[ref]) < pace))
			break;
		from = i;
	}
	return from;
}

/* Since when the heap has risen at pace (bytes/ms; the heap's rate, promoted garbage
 * included, as pace is): back through the run's intervals, newest first, GC by GC
 * (paced_from), to the first risen floor's own floor at most. A burst or a fill that
 * began within an interval shows where it began: before it the heap rose by its promoted
 * garbage alone. Measured from here, not from the first risen floor: a fast leak's first
 * major GCs come seconds after its start (e2e/22: the first risen floor 1.8 s after it). */
static double rise_start_ms(const struct leak_series *s, const struct leak_sample *run, int n, double pace)
{
	struct leak_sample path[LEAK_HIST + 2];
	int i = n - 1;

	if (pace <= 0)
		return (double)run[i].t_ms;
	for (; i > 0 && run[i].before; i--) {
		int at = paced_from(path, interval_path(s, &run[i - 1], &run[i], path), pace);
		if (at > 0)
			return (double)path[at].t_ms;
	}
	return (double)run[i].t_ms;
}

/* The rise has lasted long enough for the early verdict: the floors rise at >=
 * LEAK_EARLY_MIN_RATE x leak_min_mb per 10 s (a fast leak; a slower rise waits for the
 * span from the first risen floor, as before), and the heap has risen at its present
 * pace for >= LEAK_EARLY_SPAN x window_s up to now_ms. */
static bool early_span_holds(const struct leak_series *s, const struct leak_sample *run, int n, double pace,
			     double now_ms, const struct requirements *req)
{
	return rate_between(&run[0], &run[n - 1]) * 10000 >= LEAK_EARLY_MIN_RATE * req->min_bytes &&
	       now_ms - rise_start_ms(s, run, n, pace) >= req->window_ms * LEAK_EARLY_SPAN;
}

/* The share of the heap's rate (promoted garbage included) that a heap still rising as
 * before keeps: LEAK_PACE, or more where the last major GC freed much of what was
 * promoted (a fill that stopped leaves its garbage alone, (1 - retention) of the rate:
 * the midpoint, 1 - retention / 2, tells them apart). */
static double pace_share(const struct leak_sample *run, int n)
{
	double kept = retention(&run[n - 2], &run[n - 1]);

	return kept >= 0 && 1 - kept / 2 > LEAK_PACE ? 1 - kept / 2 : LEAK_PACE;
}

/* The share of the heap's rate that still counts as the rise when looking back for its
 * start: the garbage's share (1 - retention) and a third of the rest, at least
 * LEAK_WALK_MIN. Lower than pace_share: a leak's rate varies with its load (e2e/22: 2 s
 * of 8.8 MB/s in a 12 MB/s leak stopped the walk at 3/4, and the verdict came at 29 s),
 * and what the walk must not take for the rise is a heap rising by its promoted garbage
 * alone (the simulated fills still find their start). */
#define LEAK_WALK_MIN 0.4
static double walk_share(const struct leak_sample *run, int n)
{
	double kept = retention(&run[n - 2], &run[n - 1]);

	if (kept < 0)
		return LEAK_PACE;
	return 1 - kept * 2 / 3 > LEAK_WALK_MIN ? 1 - kept * 2 / 3 : LEAK_WALK_MIN;
}

/* The heap's rate over the interval that ended at the newest major GC (from the floor
 * before it to the heap before that GC); 0 if that heap is unknown. */
static double interval_rate(const struct leak_sample *run, int n)
{
	struct leak_sample top = { run[n - 1].t_ms, run[n - 1].before, 0, 0 };

	return run[n - 1].before ? rate_between(&run[n - 2], &top) : 0;
}

static bool fast_run_holds(const struct leak_series *s, const struct leak_sample *run, const struct point *pts, int n,
			   const struct requirements *req, struct leak_result *out)
{
	double rate = (pts[n - 1].bytes - pts[0].bytes) / (pts[n - 1].t_ms - pts[0].t_ms);

	describe_run(pts, n, pts[n - 1].t_ms - pts[0].t_ms, out);
	if (n < LEAK_FAST_POINTS || (pts[n - 1].t_ms - pts[1].t_ms < req->window_ms * 5 / 12 &&
				     !early_span_holds(s, run, n, walk_share(run, n) * interval_rate(run, n), pts[n - 1].t_ms, req)))
		return out->reason = "fast: too few rising floors", false;
	if (!steps_even(pts, n, rate))
		return out->reason = "fast: rise uneven (step, burst or plateau)", false;
	out->reason = fast_rise_check(pts, n, req, 1, LEAK_FAST_MIN_WINDOWS, 0);
	if (out->reason)
		return false;
	out->reason = "";
	return true;
}

/* The continued run: the newest major GCs rose (>= LEAK_CONT_POINTS floors) and since the
 * last of them the heap after every GC keeps rising as it did before the last one. Each
 * step kept >= 1/4 of what it promoted (retention); the heap's rate since the last major
 * GC, over the whole continuation and over its newer half, is >= (1 - retention/2) of its
 * rate between the last two (a leak keeps that rate; a burst that stopped, a cache at its
 * bound or a warm-up that ended leaves only the promoted garbage, (1 - retention) of it);
 * the continuation lasts >= 3 s and >= 1/6 of the last interval, and from the first
 * risen floor to now >= 5/12 of window_s; or the early span (as above: fast floors,
 * rising at pace GC by GC for >= LEAK_EARLY_SPAN x window_s since the rise began) with
 * the heap's rate over the last LEAK_RECENT_MS >= want and >= pace_share of its rate
 * before them (a fill that stopped shows within ~2 s: the time the early span leaves);
 * the floors' rise may count what the heap gained since the last major GC at the run's
 * retention, up to half of the LEAK_FAST_MIN_WINDOWS x leak_min_mb (with V8 raising its
 * limit x4, a 10 MB/s leak's second floor is only ~70 MB above its first at 22 s);
 * the floors' rise is as for the run of majors alone, but >= half the first floor (not
 * all of it: the continuation is the further evidence), and the RSS rose by >= half of it
 * (a witness: a heap that grows must map memory). */
#define LEAK_CONT_POINTS 2
#define LEAK_CONT_MIN_MS 3000.0
#define LEAK_CONT_MIN_RETENTION 0.25
#define LEAK_CONT_OF_START 0.5 /* the floors' rise, of the first floor (the majors alone: 1) */
/* A slow leak with sparse major GCs (V8 raised its limit x2-x4: a major every 30-50 s at
 * ~1 MB/s): its floors rise by less than LEAK_FAST_MIN_WINDOWS x leak_min_mb for
 * minutes. When the rise, from the run's first floor to the newest GC, spans >= window_s
 * (a burst, a warm-up or a cache filling to its bound has stopped rising by then, and a
 * traffic wave has turned, which the continuation's rate check sees),
 * LEAK_SLOW_MIN_WINDOWS x leak_min_mb of rise is enough, with every other check. */
#define LEAK_SLOW_MIN_WINDOWS 2

static const char *retention_check(const struct leak_sample *run, int n, double *mean)
{
	int known = 0;

	*mean = 0;
	for (int i = 1; i < n; i++) {
		double r = retention(&run[i - 1], &run[i]);
		if (r < 0)
			continue;
		if (r < LEAK_CONT_MIN_RETENTION)
			return "fast: a major GC freed most of what was promoted";
		*mean += r > 1 ? 1 : r;
		known++;
	}
	if (!known)
		return "fast: heap before the major GCs unknown";
	*mean /= known;
	return NULL;
}

/* The newest sample at or before t_ms among s->latest (the first if none). */
static const struct leak_sample *latest_at(const struct leak_series *s, double t_ms)
{
	const struct leak_sample *best = &s->latest[0];

	for (unsigned i = 1; i < s->nlatest; i++)
		if ((double)s->latest[i].t_ms <= t_ms)
			best = &s->latest[i];
	return best;
}

static const char *continuation_check(const struct leak_series *s, const struct leak_sample *run, int n,
				      double kept, const struct requirements *req)
{
	const struct leak_sample *last = &run[n - 1], *prev = &run[n - 2], *now = &s->latest[s->nlatest - 1];
	double cont_ms = (double)(now->t_ms - last->t_ms), before_ms = (double)(last->t_ms - prev->t_ms);
	struct leak_sample promoted_to = { last->t_ms, last->before, 0, 0 };
	double was = rate_between(prev, &promoted_to), want = (1 - kept / 2) * was;
	const struct leak_sample *mid = latest_at(s, (double)last->t_ms + cont_ms / 2);
	const struct leak_sample *recent = latest_at(s, (double)now->t_ms - LEAK_RECENT_MS);

	if (cont_ms < LEAK_CONT_MIN_MS || cont_ms * 6 < before_ms)
		return "fast: too little seen since the last major GC";
	if ((double)(now->t_ms - run[1].t_ms) < req->window_ms * 5 / 12) {
		if (!early_span_holds(s, run, n, walk_share(run, n) * rate_between(last, now), (double)now->t_ms, req))
			return "fast: too few rising floors";
		if (recent != now && (rate_between(recent, now) < want ||
				      rate_between(recent, now) < pace_share(run, n) * rate_between(last, recent)))
			return "fast: the heap stopped growing as before in the last seconds";
	}
	if (rate_between(last, now) < want || (mid != now && rate_between(mid, now) < want))
		return "fast: the heap stopped growing as before since the last major GC";
	double rise = (double)last->bytes - (double)run[0].bytes;
	if (run[0].rss && now->rss && (double)now->rss < (double)run[0].rss + rise / 2)
		return "fast: RSS did not follow the heap";
	return NULL;
}

static bool continued_run_holds(const struct leak_series *s, const struct leak_sample *run, int n,
				const struct requirements *req, struct leak_result *out)
{
	struct point pts[LEAK_RECENT];
	double kept;

	to_points(run, n, pts);
	describe_run(pts, n, (double)(s->latest[s->nlatest - 1].t_ms - run[0].t_ms), out);
	if (n < LEAK_CONT_POINTS)
		return out->reason = "fast: too few rising floors", false;
	if (n > 2 && !steps_even(pts, n, (pts[n - 1].bytes - pts[0].bytes) / (pts[n - 1].t_ms - pts[0].t_ms)))
		return out->reason = "fast: rise uneven (step, burst or plateau)", false;
	const struct leak_sample *now = &s->latest[s->nlatest - 1];
	bool long_run = (double)now->t_ms - pts[0].t_ms >= req->window_ms;
	out->reason = retention_check(run, n, &kept);
	if (!out->reason) {
		double since = (double)now->bytes - (double)run[n - 1].bytes;
		out->reason = fast_rise_check(pts, n, req, LEAK_CONT_OF_START,
					      long_run ? LEAK_SLOW_MIN_WINDOWS : LEAK_FAST_MIN_WINDOWS,
					      long_run || since < 0 ? 0 : since * kept);
	}
	if (!out->reason)
		out->reason = continuation_check(s, run, n, kept, req);
	if (out->reason)
		return false;
	out->reason = "";
	return true;
}

/* The majors alone see the heap at their floors only: a fill that stopped long before
 * the newest major GC still looks like an even step (simulated: a 20 s fill, a major GC
 * 25 s after it ended, a verdict). The heap after each GC in the last interval says
 * whether it rose up to that major GC: from each point of its newer half and of its last
 * LEAK_RECENT_MS to the end at >= pace_share of its rate (no GC seen in it: no evidence either
 * way, the floors decide as before); and since that GC too, once seen for
 * LEAK_CONT_MIN_MS. */
static bool rose_to_the_end(const struct leak_series *s, const struct leak_sample *run, int n,
			    struct leak_result *out)
{
	struct leak_sample path[LEAK_HIST + 2];
	int k = interval_path(s, &run[n - 2], &run[n - 1], path);
	const struct leak_sample *end = &path[k - 1];
	double pace = pace_share(run, n) * interval_rate(run, n);
	double mid_t = ((double)path[0].t_ms + (double)end->t_ms) / 2;
	double recent_t = (double)end->t_ms - LEAK_RECENT_MS;

	if (!run[n - 1].before)
		return true;
	if (s->nlatest) {
		const struct leak_sample *now = &s->latest[s->nlatest - 1];
		if ((double)(now->t_ms - run[n - 1].t_ms) >= LEAK_CONT_MIN_MS && rate_between(&run[n - 1], now) < pace) {
			out->reason = "fast: the heap stopped rising since the last major GC";
			return false;
		}
	}
	for (int i = k - 2; i > 0; i--) {
		if ((double)path[i].t_ms > recent_t && (double)path[i].t_ms > mid_t)
			continue;
		if (rate_between(&path[i], end) < pace) {
			out->reason = "fast: the heap stopped rising before the last major GC";
			return false;
		}
		if ((double)path[i].t_ms <= mid_t)
			break;
	}
	return true;
}

static bool evaluate_fast(const struct leak_series *s, const struct requirements *req, struct leak_result *out)
{
	struct leak_sample run[LEAK_RECENT];
	struct point pts[LEAK_RECENT];
	int n = rising_run(s, run);
	struct leak_result r = { .scale = 0, .gcs = (unsigned)n };

	if (n < 2)
		return false;
	to_points(run, n, pts);
	if (!(fast_run_holds(s, run, pts, n, req, &r) && rose_to_the_end(s, run, n, &r)) &&
	    (!s->nlatest || !continued_run_holds(s, run, n, req, &r)))
		return false;
	*out = r;
	return true;
}

void leak_evaluate(const struct leak_series *s, const struct leak_params *p, struct leak_result *out)
{
	struct requirements full = {
		.span_ms = p->window_s * 1000.0, .gcs = p->min_gcs,
		.min_bytes = (double)p->min_bytes, .min_pct = p->min_pct, .min_floors = 6,
		.window_ms = p->window_s * 1000.0,
	};
	/* Leaning: the same checks on less evidence (span, GCs, floors). */
	struct requirements lean = {
		.gcs = (p->min_gcs + 1) / 2, .window_ms = full.window_ms,
		.min_bytes = full.min_bytes, .min_pct = full.min_pct, .min_floors = 5,
	};
	struct leak_result best;

	memset(out, 0, sizeof(*out));
	out->reason = "no samples";
	if (!s->count)
		return;
	/* Sparse major GCs: a time scale's groups would hold one or two samples each, and
	 * the minimum of two samples of a varying live heap is a biased floor that can
	 * trend by chance (a sawtooth sampled every 20 s fired at scale 4): the newest
	 * floors, one per GC, decide alone. */
	bool sparse = series_sparse(s);
	for (unsigned i = 0, k = 1; i < LEAK_SCALES; i++, k *= 2) {
		/* Scale k only counts once history covers it (a half-filled long scale has
		 * too few floors to tell a plateau from a leak). */
		full.span_ms = p->window_s * 1000.0 * k;
		if (!sparse && evaluate_scale(s, k, &full, out)) {
			out->verdict = LEAK_FIRE;
			return;
		}
		if (sparse)
			evaluate_scale(s, k, &full, out); /* for the trend shown */
		/* Otherwise report the scale with the most floors (the longer on a tie): its
		 * slope is the steadiest trend to show. */
		if (i == 0 || out->floors >= best.floors)
			best = *out;
	}
	full.span_ms = p->window_s * 1000.0;
	if (sparse && evaluate_recent(s, &full, out)) {
		out->verdict = LEAK_FIRE;
		return;
	}
	if (evaluate_fast(s, &full, out)) {
		out->verdict = LEAK_FIRE;
		return;
	}
	lean.span_ms = p->window_s * 750.0;
	if (sparse && evaluate_recent(s, &lean, out)) {
		out->verdict = LEAK_LEANING;
		return;
	}
	for (unsigned k = 1; !sparse && k < (1u << (LEAK_SCALES - 1)); k *= 2) {
		lean.span_ms = p->window_s * 750.0 * k;
		if (evaluate_scale(s, k, &lean, out)) {
			out->verdict = LEAK_LEANING;
			return;
		}
	}
	*out = best;
}

bool leak_baseline_far_enough(const struct leak_result *r, const struct leak_params *p, uint64_t heap_now,
			      uint64_t *expected_growth)
{
	double span_needed = (double)p->window_s * (r->scale ? r->scale : 1);
	double rest_s = span_needed > r->span_s ? span_needed - r->span_s : 0;
	double growth = r->slope_bytes_per_min > 0 ? r->slope_bytes_per_min / 60 * rest_s : 0;
	struct trigger_proc then = { .baseline_heap = heap_now };

	*expected_growth = (uint64_t)growth;
	return heap_now && trigger_baseline_usable_heap(&then, heap_now + *expected_growth);
}
