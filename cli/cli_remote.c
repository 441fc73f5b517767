// SPDX-License-Identifier: Apache-2.0
/* heapsnap list/show/get/diff/summary --remote: the snapshots of every host, read
 * from the bucket of [upload] with the same keys and credentials the agents use. A
 * snapshot is listed only when its PREFIX/ID.json exists (the agents upload it last,
 * after the .gz was verified); downloads are streamed to a temporary file, checked
 * against the listed size, then decompressed and verified like a local snapshot.
 *
 * Which PREFIX/ID.json to read comes from the bucket index (upload/s3index.h): the
 * keys of one family (host, app or time, whichever the filters narrow most; --since
 * as start-after), plus, for prefixes the index does not cover yet (no completeness
 * marker: uploaded by older agents), every PREFIX/ID.json as before. The metadata
 * objects are then fetched by FETCH_THREADS connections at once. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "cli.h"
#include "cli_blob.h"
#include "cli_output.h"
#include "cli_remote.h"
#include "store/store.h"
#include "upload/creds.h"
#include "upload/s3.h"
#include "upload/s3index.h"

#define MB(x) ((double)(x) / (1024.0 * 1024.0))
#define META_MAX (16u << 20)
#define FETCH_THREADS 8
#define KEY_LEN 1024

struct remote {
	struct s3_creds creds;
	struct s3_conf sc;
	struct s3 *s3;
	uint64_t requests;             /* of the fetch threads' own connections */
	bool progress_shown;
};

static void progress(uint64_t now, uint64_t total, void *ctx)
{
	struct remote *r = ctx;
	static int64_t last;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (ms - last < 200 || total < (4u << 20))
		return;
	last = ms;
	fprintf(stderr, "\rheapsnap: downloading %.1f / %.1f MB", MB(now), MB(total));
	r->progress_shown = true;
}

static int remote_open(const struct cli *cli, const char *cmd, struct remote *r)
{
	const struct config *cfg = cli->cfg;
	char err[2048];
	int rc;

	memset(r, 0, sizeof(*r));
	if (!cfg->upload_endpoint[0]) {
		fprintf(stderr, "heapsnap: %s --remote: no [upload] endpoint in the config%s%s\n", cmd,
			cli->config_path ? " " : " (give one with -c CONFIG)", cli->config_path ? cli->config_path : "");
		return -EINVAL;
	}
	rc = creds_load(cfg->upload_credentials_file, cfg->upload_profile, &r->creds, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, err);
		return rc;
	}
	r->sc = (struct s3_conf){
		.endpoint = cfg->upload_endpoint, .bucket = cfg->upload_bucket, .region = cfg->upload_region,
		.path_style = cfg->upload_path_style, .ca_file = cfg->upload_ca_file, .creds = &r->creds,
		.progress = isatty(STDERR_FILENO) ? progress : NULL, .progress_ctx = r,
	};
	r->s3 = s3_new(&r->sc, err, sizeof(err));
	if (!r->s3) {
		fprintf(stderr, "heapsnap: %s\n", err);
		creds_wipe(&r->creds);
		return -EINVAL;
	}
	return 0;
}

static void remote_close(struct remote *r)
{
	s3_free(r->s3);
	creds_wipe(&r->creds);
}

/* "PREFIX/ID.json" -> ID (valid ids only). */
static bool key_id(const char *key, const char *suffix, char *id, size_t idlen)
{
	const char *base = strrchr(key, '/');
	size_t n, m = strlen(suffix);

	base = base ? base + 1 : key;
	n = strlen(base);
	if (n <= m || strcmp(base + n - m, suffix) != 0 || n - m >= idlen)
		return false;
	snprintf(id, idlen, "%.*s", (int)(n - m), base);
	return strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == strlen(id);
}

/* ---- which metadata objects to read ------------------------------------------------ */

struct keyset {
	char (*keys)[KEY_LEN];
	size_t n, cap;
};

static int keyset_add(struct keyset *k, const char *key)
{
	if (strlen(key) >= KEY_LEN)
		return 0;
	if (k->n == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 256;
		char (*g)[KEY_LEN] = realloc(k->keys, ncap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		k->keys = g;
		k->cap = ncap;
	}
	snprintf(k->keys[k->n++], KEY_LEN, "%s", key);
	return 0;
}

static bool keyset_has(const struct keyset *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i], key) == 0)
			return true;
	return false;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorted, each key once (a snapshot can be both indexed and read the old way). */
static void keyset_unique(struct keyset *k)
{
	size_t out = 0;

	qsort(k->keys, k->n, sizeof(*k->keys), compare_keys);
	for (size_t i = 0; i < k->n; i++)
		if (out == 0 || strcmp(k->keys[out - 1], k->keys[i]) != 0)
			memmove(k->keys[out++], k->keys[i], KEY_LEN);
	k->n = out;
}

/* What the listing narrows to before any metadata is read. */
struct want {
	enum s3index_family family;
	const char *value;             /* host or app of the family */
	const char *id_prefix;         /* show/get: the id or its start */
	char since_id[20];             /* "" or the UTC second ids must not sort before */
	struct keyset json;            /* PREFIX/ID.json keys to read */
	struct keyset complete;        /* prefixes the index covers */
	struct keyset tops;            /* the bucket's top-level "folders" */
	size_t index_keys;
	size_t old_prefixes;           /* top-level folders read the old way */
	bool only_old;                 /* read every folder the old way, skip the index */
};

static bool id_wanted(const struct want *w, const char *id)
{
	if (w->id_prefix && strncmp(id, w->id_prefix, strlen(w->id_prefix)) != 0)
		return false;
	/* ids start with their UTC time, "20261127T081502Z-": older ones are skipped unread */
	if (w->since_id[0] && strlen(id) > 16 && id[8] == 'T' && id[15] == 'Z' && strncmp(id, w->since_id, 16) < 0)
		return false;
	return true;
}

static void on_index_entry(const struct s3_object *o, void *ctx)
{
	struct want *w = ctx;
	char id[64], json[KEY_LEN];

	w->index_keys++;
	if (!o->common_prefix && s3index_parse_entry(o->key, id, sizeof(id), json, sizeof(json)) == 0 &&
	    id_wanted(w, id))
		keyset_add(&w->json, json);
}

static void on_complete(const struct s3_object *o, void *ctx)
{
	struct want *w = ctx;
	char prefix[KEY_LEN];

	if (!o->common_prefix && s3index_parse_complete(o->key, prefix, sizeof(prefix)) == 0)
		keyset_add(&w->complete, prefix);
}

static void on_top(const struct s3_object *o, void *ctx)
{
	struct want *w = ctx;

	if (o->common_prefix && strcmp(o->key, S3INDEX_ROOT) != 0)
		keyset_add(&w->tops, o->key);
}

/* A PREFIX/ID.json of the old layout, unless the index covers its prefix. */
static void on_old_object(const struct s3_object *o, void *ctx)
{
	struct want *w = ctx;
	const char *slash = strrchr(o->key, '/');
	char id[64], prefix[KEY_LEN];

	if (o->common_prefix || !slash || !key_id(o->key, ".json", id, sizeof(id)) || !id_wanted(w, id))
		return;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - o->key), o->key);
	if (!keyset_has(&w->complete, prefix))
		keyset_add(&w->json, o->key);
}

/* Fill w->json: the index family's matching entries, then the old layout under every
 * top-level folder the index does not cover. */
static int collect_keys(struct remote *r, struct want *w)
{
	char fam[KEY_LEN], after[KEY_LEN + 32];
	struct s3_list_opts lo = { .prefix = fam };
	int rc;

	if (s3index_family_prefix(w->family, w->value, fam, sizeof(fam)) < 0)
		return -ENAMETOOLONG;
	if (w->id_prefix) {
		size_t used = strlen(fam);
		snprintf(fam + used, sizeof(fam) - used, "%s", w->id_prefix);
	} else if (w->since_id[0]) {
		snprintf(after, sizeof(after), "%s%s", fam, w->since_id);
		lo.start_after = after;
	}
	if (!w->only_old && ((rc = s3_list_from(r->s3, &lo, on_index_entry, w)) < 0 ||
			     (rc = s3_list(r->s3, S3INDEX_V1 "complete/", on_complete, w)) < 0))
		return rc;
	struct s3_list_opts top = { .prefix = "", .delimiter = "/" };
	if ((rc = s3_list_from(r->s3, &top, on_top, w)) < 0)
		return rc;
	for (size_t i = 0; i < w->tops.n && rc == 0; i++) {
		char bare[KEY_LEN];

		snprintf(bare, sizeof(bare), "%.*s", (int)strlen(w->tops.keys[i]) - 1, w->tops.keys[i]);
		if (!keyset_has(&w->complete, bare)) {
			w->old_prefixes++;
			rc = s3_list(r->s3, w->tops.keys[i], on_old_object, w);
		}
	}
	keyset_unique(&w->json);
	return rc;
}

static void want_free(struct want *w)
{
	free(w->json.keys);
	free(w->complete.keys);
	free(w->tops.keys);
}

static int fetch_meta(struct s3 *s3, const char *key, struct snapshot_meta *m)
{
	char *text;
	size_t len;
	int rc = s3_get_mem(s3, key, META_MAX, &text, &len);

	if (rc < 0)
		return rc;
	rc = store_meta_parse(text, len, m);
	free(text);
	return rc;
}

/* ---- list ------------------------------------------------------------------------ */

struct filter {
	const char *host, *app, *container;
	int64_t since_ms;
	bool json;
	bool stats;                    /* --stats: requests and time on stderr */
};

/* ISO-8601 UTC (2026-12-01, 2026-12-01T20:00, 2026-12-01T20:00:00Z) or an age (90s,
 * 30m, 2h, 7d). */
static int parse_since(const char *s, int64_t *ms)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) || (end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) ||
	     (end = strptime(s, "%Y-%m-%d", &tm))) && (*end == '\0' || strcmp(end, "Z") == 0)) {
		*ms = (int64_t)timegm(&tm) * 1000;
		return 0;
	}
	errno = 0;
	long long n = strtoll(s, &end, 10);
	int64_t unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
	if (errno || n < 0 || end == s || !unit || end[1] != '\0')
		return -EINVAL;
	*ms = ((int64_t)time(NULL) - n * unit) * 1000;
	return 0;
}

static bool matches(const struct filter *f, const struct snapshot_meta *m)
{
	if (f->host && strcmp(m->host, f->host) != 0)
		return false;
	if (f->app && strcmp(m->app, f->app) != 0)
		return false;
	if (f->container && strncmp(m->container_id, f->container, strlen(f->container)) != 0 &&
	    strcmp(m->container_name, f->container) != 0)
		return false;
	return m->started_at_ms >= f->since_ms;
}

static int parse_list_args(int argc, char **argv, struct filter *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--remote") == 0)
			continue;
		if (strcmp(argv[i], "--json") == 0) {
			f->json = true;
			continue;
		}
		if (strcmp(argv[i], "--stats") == 0) {
			f->stats = true;
			continue;
		}
		if (strcmp(argv[i], "--host") == 0)
			slot = &f->host;
		else if (strcmp(argv[i], "--app") == 0)
			slot = &f->app;
		else if (strcmp(argv[i], "--container") == 0)
			slot = &f->container;
		else if (strcmp(argv[i], "--since") != 0) {
			fprintf(stderr, "heapsnap: list: unknown argument '%s'\n", argv[i]);
			return 2;
		}
		if (++i >= argc) {
			fprintf(stderr, "heapsnap: list: %s needs a value\n", argv[i - 1]);
			return 2;
		}
		if (slot) {
			*slot = argv[i];
		} else if (parse_since(argv[i], &f->since_ms) < 0) {
			fprintf(stderr, "heapsnap: list: bad --since '%s' (ISO-8601 UTC like 2026-12-01T20:00:00Z, "
				"or an age like 30m, 2h, 7d)\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

static int compare_started(const void *a, const void *b)
{
	const struct snapshot_meta *x = *(const struct snapshot_meta *const *)a;
	const struct snapshot_meta *y = *(const struct snapshot_meta *const *)b;

	if (x->started_at_ms != y->started_at_ms)
		return x->started_at_ms < y->started_at_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* order[i] points into list; keys[j] belongs to list[j]. */
static void print_remote(const struct snapshot_meta *list, const struct snapshot_meta **order, size_t n,
			 bool json, char (*keys)[1024])
{
	if (json) {
		fputs("[", stdout);
		for (size_t i = 0; i < n; i++) {
			char *text = store_meta_to_json(order[i]);
			json_t *o = text ? json_loads(text, 0, NULL) : NULL;

			free(text);
			text = NULL;
			if (o) {
				json_object_set_new(o, "key", json_string(keys[order[i] - list]));
				text = json_dumps(o, JSON_INDENT(2));
				json_decref(o);
			}
			printf("%s%s", i ? ",\n" : "\n", text ? text : "{}");
			free(text);
		}
		fputs(n ? "\n]\n" : "]\n", stdout);
		return;
	}
	printf("%-28s %-20s %-16s %-19s %7s %-10s %8s %8s\n", "ID", "HOST", "APP", "TIME (UTC)", "PID", "REASON",
	       "RAW MB", "GZ MB");
	for (size_t i = 0; i < n; i++) {
		const struct snapshot_meta *m = order[i];
		char when[32];
		time_t t = (time_t)(m->started_at_ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%-28s %-20s %-16s %-19s %7d %-10s %8.1f %8.1f\n", cli_safe(m->id), cli_safe(m->host),
		       m->app[0] ? cli_safe(m->app) : "-", when, m->pid, cli_safe(m->reason), MB(m->raw_bytes), MB(m->size_bytes));
	}
}

/* ---- reading the metadata, FETCH_THREADS at once ------------------------------------- */

struct fetch {
	struct remote *r;
	const struct keyset *ks;
	struct snapshot_meta *list;    /* list[i] of ks->keys[i] ... */
	int *status;                   /* ... when status[i] is 0 (else fetch_meta's errno) */
	atomic_size_t next;
	pthread_mutex_t lock;
	char error[2048];              /* the first failure that stops the listing */
};

static bool fatal(int rc)
{
	return rc == -EACCES || rc == -EIO || rc == -ETIMEDOUT || rc == -ENOMEM;
}

static void *fetch_main(void *arg)
{
	struct fetch *f = arg;
	char err[256];
	struct s3 *s3 = s3_new(&f->r->sc, err, sizeof(err));
	size_t i;

	while (s3 && (i = atomic_fetch_add(&f->next, 1)) < f->ks->n) {
		f->status[i] = fetch_meta(s3, f->ks->keys[i], &f->list[i]);
		if (f->status[i] == -ENOENT)
			continue;  /* an index entry whose metadata is not (or no more) there */
		if (f->status[i] < 0 && (fatal(f->status[i]) || f->status[i] != -EINVAL)) {
			pthread_mutex_lock(&f->lock);
			if (fatal(f->status[i]) && !f->error[0])
				snprintf(f->error, sizeof(f->error), "%s", s3_error(s3));
			else if (!fatal(f->status[i]))
				fprintf(stderr, "heapsnap: list --remote: skipping %s: %s\n", cli_safe(f->ks->keys[i]),
					cli_safe(s3_error(s3)));
			pthread_mutex_unlock(&f->lock);
		} else if (f->status[i] == -EINVAL) {
			pthread_mutex_lock(&f->lock);  /* cli_safe's buffers are shared */
			fprintf(stderr, "heapsnap: list --remote: skipping %s: not snapshot metadata\n",
				cli_safe(f->ks->keys[i]));
			pthread_mutex_unlock(&f->lock);
		}
	}
	pthread_mutex_lock(&f->lock);
	if (!s3 && !f->error[0])
		snprintf(f->error, sizeof(f->error), "%s", err);
	if (s3)
		f->r->requests += s3_requests(s3);
	pthread_mutex_unlock(&f->lock);
	s3_free(s3);
	return NULL;
}

/* list[i] for every ks key (status[i] 0 where it was read). 0, or -EIO after printing. */
static int fetch_all(struct remote *r, const struct keyset *ks, struct snapshot_meta *list, int *status)
{
	struct fetch f = { .r = r, .ks = ks, .list = list, .status = status };
	pthread_t th[FETCH_THREADS];
	unsigned n = ks->n < FETCH_THREADS ? (unsigned)ks->n : FETCH_THREADS, started = 0;

	pthread_mutex_init(&f.lock, NULL);
	for (size_t i = 0; i < ks->n; i++)
		status[i] = -ENOENT;
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, fetch_main, &f) == 0)
			started++;
	if (n > 0 && started == 0)
		fetch_main(&f);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&f.lock);
	if (f.error[0]) {
		fprintf(stderr, "heapsnap: list --remote: %s\n", cli_safe(f.error));
		return -EIO;
	}
	return 0;
}

static double mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The index family that narrows the listing most: host, else app, else time. */
static void want_from_filter(const struct filter *f, struct want *w)
{
	memset(w, 0, sizeof(*w));
	w->family = f->host ? S3INDEX_HOST : f->app ? S3INDEX_APP : S3INDEX_TIME;
	w->value = f->host ? f->host : f->app;
	if (f->since_ms > 0) {
		time_t t = (time_t)(f->since_ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(w->since_id, sizeof(w->since_id), "%Y%m%dT%H%M%SZ", &tm);
	}
}

int cmd_list_remote(const struct cli *cli, int argc, char **argv)
{
	struct filter f;
	struct remote r;
	struct want w;
	struct snapshot_meta *all = NULL, *list = NULL;
	int *status = NULL;
	char (*keys)[1024] = NULL;
	const struct snapshot_meta **order = NULL;
	size_t n = 0;
	int rc = parse_list_args(argc, argv, &f);
	double t0 = mono_now_ms();

	if (rc)
		return rc;
	if (remote_open(cli, "list", &r) < 0)
		return 1;
	want_from_filter(&f, &w);
	if (collect_keys(&r, &w) < 0) {
		fprintf(stderr, "heapsnap: list --remote: %s\n", cli_safe(s3_error(r.s3)));
		rc = 1;
		goto cleanup;
	}
	all = calloc(w.json.n + 1, sizeof(*all));
	status = calloc(w.json.n + 1, sizeof(*status));
	list = calloc(w.json.n + 1, sizeof(*list));
	keys = calloc(w.json.n + 1, sizeof(*keys));
	if (!all || !status || !list || !keys || fetch_all(&r, &w.json, all, status) < 0) {
		rc = 1;
		goto cleanup;
	}
	for (size_t i = 0; i < w.json.n; i++) {
		if (status[i] < 0)
			continue;
		if (!matches(&f, &all[i])) {
			store_meta_free(&all[i]);
			continue;
		}
		list[n] = all[i];
		snprintf(keys[n++], sizeof(keys[0]), "%s", w.json.keys[i]);
	}
	/* oldest first: sort the entries' order, not the (large) entries */
	order = calloc(n + 1, sizeof(*order));
	rc = order ? 0 : 1;
	for (size_t i = 0; order && i < n; i++)
		order[i] = &list[i];
	if (order) {
		qsort(order, n, sizeof(*order), compare_started);
		print_remote(list, order, n, f.json, keys);
	}
	if (f.stats)
		fprintf(stderr, "heapsnap: list --remote: %zu listed, %llu requests (%zu index keys, %zu metadata objects "
			"read, %zu prefixes read the old way), %.0f ms\n", n,
			(unsigned long long)(s3_requests(r.s3) + r.requests), w.index_keys, w.json.n,
			w.old_prefixes, mono_now_ms() - t0);
cleanup:
	free(order);
	store_list_free(list, n);
	free(all);
	free(status);
	free(keys);
	want_free(&w);
	remote_close(&r);
	return rc || fflush(stdout) != 0 ? 1 : 0;
}

/* ---- one snapshot ------------------------------------------------------------------- */

/* The .json key of the snapshot ID or unique id prefix. 0, or a negative errno (-ENOENT,
 * -EINVAL: ambiguous) after printing why. */
static int find_key(struct remote *r, const struct config *cfg, const char *cmd, const char *id, char *key,
		    size_t keylen)
{
	const char *bucket = cfg->upload_bucket, *endpoint = cfg->upload_endpoint;
	struct want w = { .family = S3INDEX_TIME, .id_prefix = id };
	size_t matches = 0, plen = strlen(id);
	char exact[1024] = "", last[64] = "";
	int rc = collect_keys(r, &w);

	/* Not in the index: look at every PREFIX/ID.json, also under indexed prefixes (an
	 * object put there by hand, or by an older agent after a newer one). */
	if (rc == 0 && w.json.n == 0) {
		want_free(&w);
		w = (struct want){ .family = S3INDEX_TIME, .id_prefix = id, .only_old = true };
		rc = collect_keys(r, &w);
	}
	if (rc < 0) {
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, cli_safe(s3_error(r->s3)));
		want_free(&w);
		return rc;
	}
	for (size_t i = 0; i < w.json.n; i++) {
		char oid[64];

		if (!key_id(w.json.keys[i], ".json", oid, sizeof(oid)) || strncmp(oid, id, plen) != 0)
			continue;
		if (strcmp(oid, id) == 0)
			snprintf(exact, sizeof(exact), "%s", w.json.keys[i]);
		if (strcmp(oid, last) != 0 && matches++ == 0)
			snprintf(key, keylen, "%s", w.json.keys[i]);
		snprintf(last, sizeof(last), "%s", oid);
	}
	want_free(&w);
	if (exact[0]) {
		snprintf(key, keylen, "%s", exact);
		return 0;
	}
	if (matches == 1)
		return 0;
	if (matches == 0)
		fprintf(stderr, "heapsnap: %s: no snapshot '%s' in bucket %s at %s\n", cmd, id, bucket, endpoint);
	else
		fprintf(stderr, "heapsnap: %s: '%s' matches more than one snapshot in the bucket: give more of the id\n",
			cmd, id);
	return matches == 0 ? -ENOENT : -EINVAL;
}

int cmd_show_remote(const struct cli *cli, const char *id, bool json)
{
	struct snapshot_meta m;
	struct remote r;
	char key[1024];
	int rc = 1;

	if (remote_open(cli, "show", &r) < 0)
		return 1;
	if (find_key(&r, cli->cfg, "show", id, key, sizeof(key)) < 0)
		goto cleanup;
	if (fetch_meta(r.s3, key, &m) < 0) {
		fprintf(stderr, "heapsnap: show --remote: %s\n", s3_error(r.s3)[0] ? cli_safe(s3_error(r.s3)) : "bad metadata");
		goto cleanup;
	}
	char *text = store_meta_to_json(&m);
	if (json && text) {
		printf("%s\n", text);
	} else if (text) {
		char when[32];
		time_t t = (time_t)(m.started_at_ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("id:            %s\n", cli_safe(m.id));
		key[strlen(key) - 5] = '\0';
		printf("object:        %s/%s/%s.heapsnapshot.gz\n", cli->cfg->upload_endpoint, cli->cfg->upload_bucket,
		       cli_safe(key));
		printf("started:       %s UTC\n", when);
		printf("host:          %s\n", cli_safe(m.host));
		printf("app:           %s\n", cli_safe(m.app));
		printf("pid:           %d\n", m.pid);
		printf("cmdline:       %s\n", cli_safe(m.cmdline));
		printf("container:     %s\n", cli_safe(m.container_id));
		printf("pod:           %s/%s (uid %s) container %s\n", cli_safe(m.pod_namespace), cli_safe(m.pod_name),
		       cli_safe(m.pod_uid), cli_safe(m.container_name));
		printf("reason:        %s (rss %.1f MB, threshold %.1f MB)\n", cli_safe(m.reason), MB(m.rss_bytes),
		       MB(m.threshold_bytes));
		printf("method:        %s\n", cli_safe(m.method));
		printf("size:          %.1f MB raw, %.1f MB gzip\n", MB(m.raw_bytes), MB(m.size_bytes));
		if (m.extra_json)
			cli_print_safe("extra:         ", m.extra_json);
	}
	rc = text ? 0 : 1;
	free(text);
	store_meta_free(&m);
cleanup:
	remote_close(&r);
	return rc || fflush(stdout) != 0 ? 1 : 0;
}

/* ---- downloads --------------------------------------------------------------------- */

static char fetched[4][PATH_MAX];
static int nfetched;

static void remove_fetched(void)
{
	for (int i = 0; i < nfetched; i++)
		unlink(fetched[i]);
}

/* The .gz of the snapshot whose .json key is KEY into a temp file; size checked. */
static int download_blob(struct remote *r, const char *cmd, const char *key, char *path, size_t len)
{
	char gz_key[1100];
	const char *tmpdir = getenv("TMPDIR");
	uint64_t size = 0, got = 0;
	char etag[80];
	int fd, rc;

	snprintf(gz_key, sizeof(gz_key), "%.*s.heapsnapshot.gz", (int)(strlen(key) - 5), key);
	rc = s3_head(r->s3, gz_key, &size, etag, sizeof(etag));
	if (rc < 0) {
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, cli_safe(s3_error(r->s3)));
		return rc;
	}
	char id[64] = "";
	key_id(key, ".json", id, sizeof(id));
	/* the id in the name: messages about the download name the snapshot */
	snprintf(path, len, "%s/heapsnap-remote-%s.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp", id);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0 || nfetched == 4) {
		/* errno is mkostemp's only when it failed */
		rc = fd < 0 ? -errno : -EMFILE;
		fprintf(stderr, "heapsnap: %s --remote: cannot create a temporary file in %s: %s\n", cmd,
			tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(-rc));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return rc;
	}
	if (nfetched == 0)
		atexit(remove_fetched);
	snprintf(fetched[nfetched++], sizeof(fetched[0]), "%s", path);
	rc = s3_get_fd(r->s3, gz_key, fd, &got);
	if (r->progress_shown)
		fputc('\n', stderr);
	if (rc == 0 && got != size) {
		fprintf(stderr, "heapsnap: %s --remote: %s: got %llu bytes, the bucket lists %llu\n", cmd, cli_safe(gz_key),
			(unsigned long long)got, (unsigned long long)size);
		rc = -EIO;
	} else if (rc < 0) {
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, cli_safe(s3_error(r->s3)));
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		fprintf(stderr, "heapsnap: %s --remote: write %s: %s\n", cmd, path, strerror(-rc));
	}
	return rc;
}

int cli_remote_fetch(const struct cli *cli, const char *id, char *path, size_t len)
{
	struct remote r;
	char key[1024];
	int rc = 1;

	if (remote_open(cli, "fetch", &r) < 0)
		return 1;
	if (find_key(&r, cli->cfg, "fetch", id, key, sizeof(key)) == 0 && download_blob(&r, "fetch", key, path, len) == 0)
		rc = 0;
	remote_close(&r);
	return rc;
}

int cmd_get_remote(const struct cli *cli, const char *id, const char *output)
{
	struct remote r;
	char key[1024], path[PATH_MAX];
	int rc = 1;

	if (remote_open(cli, "get", &r) < 0)
		return 1;
	if (find_key(&r, cli->cfg, "get", id, key, sizeof(key)) < 0 || download_blob(&r, "get", key, path, sizeof(path)) < 0)
		goto cleanup;
	if (output && strcmp(output, "-") != 0)
		rc = cli_get_to_file(path, output);
	else
		rc = cli_decompress_to(path, STDOUT_FILENO, "stdout") < 0 ? 1 : 0;
cleanup:
	remote_close(&r);
	return rc;
}
