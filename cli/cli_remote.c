// SPDX-License-Identifier: Apache-2.0
/* heapsnap list/show/get/diff/summary --remote: the snapshots of every host, read
 * from the bucket of [upload] with the same keys and credentials the agents use. A
 * snapshot is listed only when its PREFIX/ID.json exists (the agents upload it last,
 * after the .gz was verified); downloads are streamed to a temporary file, checked
 * against the listed size, then decompressed and verified like a local snapshot. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "cli.h"
#include "store/store.h"
#include "upload/creds.h"
#include "upload/s3.h"

#define MB(x) ((double)(x) / (1024.0 * 1024.0))
#define META_MAX (16u << 20)

struct remote {
	struct s3_creds creds;
	struct s3 *s3;
	bool progress_shown;
};

struct found {
	struct s3_object *objs;
	size_t n, cap;
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
	struct s3_conf sc = {
		.endpoint = cfg->upload_endpoint, .bucket = cfg->upload_bucket, .region = cfg->upload_region,
		.path_style = cfg->upload_path_style, .ca_file = cfg->upload_ca_file, .creds = &r->creds,
		.progress = isatty(STDERR_FILENO) ? progress : NULL, .progress_ctx = r,
	};
	r->s3 = s3_new(&sc, err, sizeof(err));
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

static void on_object(const struct s3_object *o, void *ctx)
{
	struct found *f = ctx;
	char id[64];

	if (!key_id(o->key, ".json", id, sizeof(id)))
		return;
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct s3_object *g = realloc(f->objs, ncap * sizeof(*g));

		if (!g)
			return;
		f->objs = g;
		f->cap = ncap;
	}
	f->objs[f->n++] = *o;
}

static int list_json_keys(struct remote *r, const char *cmd, struct found *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	rc = s3_list(r->s3, "", on_object, f);
	if (rc < 0) {
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, s3_error(r->s3));
		free(f->objs);
	}
	return rc;
}

static int fetch_meta(struct remote *r, const char *key, struct snapshot_meta *m)
{
	char *text;
	size_t len;
	int rc = s3_get_mem(r->s3, key, META_MAX, &text, &len);

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
		printf("%-28s %-20s %-16s %-19s %7d %-10s %8.1f %8.1f\n", m->id, m->host, m->app[0] ? m->app : "-",
		       when, m->pid, m->reason, MB(m->raw_bytes), MB(m->size_bytes));
	}
}

int cmd_list_remote(const struct cli *cli, int argc, char **argv)
{
	struct filter f;
	struct remote r;
	struct found found;
	struct snapshot_meta *list;
	char (*keys)[1024];
	const struct snapshot_meta **order = NULL;
	size_t n = 0;
	int rc = parse_list_args(argc, argv, &f);

	if (rc)
		return rc;
	if (remote_open(cli, "list", &r) < 0)
		return 1;
	if (list_json_keys(&r, "list", &found) < 0) {
		remote_close(&r);
		return 1;
	}
	list = calloc(found.n + 1, sizeof(*list));
	keys = calloc(found.n + 1, sizeof(*keys));
	rc = list && keys ? 0 : 1;
	for (size_t i = 0; rc == 0 && i < found.n; i++) {
		int mrc = fetch_meta(&r, found.objs[i].key, &list[n]);

		if (mrc == -EACCES || mrc == -EIO || mrc == -ETIMEDOUT) {
			fprintf(stderr, "heapsnap: list --remote: %s\n", s3_error(r.s3));
			rc = 1;
		} else if (mrc < 0) {
			fprintf(stderr, "heapsnap: list --remote: skipping %s: %s\n", found.objs[i].key,
				mrc == -EINVAL ? "not snapshot metadata" : s3_error(r.s3));
		} else if (!matches(&f, &list[n])) {
			store_meta_free(&list[n]);
		} else {
			snprintf(keys[n], sizeof(keys[n]), "%s", found.objs[i].key);
			n++;
		}
	}
	if (rc == 0) {
		/* oldest first: sort the entries' order, not the (large) entries */
		order = calloc(n + 1, sizeof(*order));
		rc = order ? 0 : 1;
		for (size_t i = 0; order && i < n; i++)
			order[i] = &list[i];
		if (order)
			qsort(order, n, sizeof(*order), compare_started);
	}
	if (rc == 0) {
		print_remote(list, order, n, f.json, keys);
	}
	free(order);
	store_list_free(list, n);
	free(keys);
	free(found.objs);
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
	struct found f;
	size_t matches = 0, plen = strlen(id);
	char exact[1024] = "";
	int rc = list_json_keys(r, cmd, &f);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < f.n; i++) {
		char oid[64];

		if (!key_id(f.objs[i].key, ".json", oid, sizeof(oid)) || strncmp(oid, id, plen) != 0)
			continue;
		if (strcmp(oid, id) == 0)
			snprintf(exact, sizeof(exact), "%s", f.objs[i].key);
		if (matches++ == 0)
			snprintf(key, keylen, "%s", f.objs[i].key);
	}
	free(f.objs);
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
	if (fetch_meta(&r, key, &m) < 0) {
		fprintf(stderr, "heapsnap: show --remote: %s\n", s3_error(r.s3)[0] ? s3_error(r.s3) : "bad metadata");
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
		printf("id:            %s\n", m.id);
		printf("object:        %s/%s/%.*s.heapsnapshot.gz\n", cli->cfg->upload_endpoint, cli->cfg->upload_bucket,
		       (int)(strlen(key) - 5), key);
		printf("started:       %s UTC\n", when);
		printf("host:          %s\n", m.host);
		printf("app:           %s\n", m.app);
		printf("pid:           %d\n", m.pid);
		printf("cmdline:       %s\n", m.cmdline);
		printf("container:     %s\n", m.container_id);
		printf("pod:           %s/%s (uid %s) container %s\n", m.pod_namespace, m.pod_name, m.pod_uid,
		       m.container_name);
		printf("reason:        %s (rss %.1f MB, threshold %.1f MB)\n", m.reason, MB(m.rss_bytes),
		       MB(m.threshold_bytes));
		printf("method:        %s\n", m.method);
		printf("size:          %.1f MB raw, %.1f MB gzip\n", MB(m.raw_bytes), MB(m.size_bytes));
		if (m.extra_json)
			printf("extra:         %s\n", m.extra_json);
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
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, s3_error(r->s3));
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
		fprintf(stderr, "heapsnap: %s --remote: %s: got %llu bytes, the bucket lists %llu\n", cmd, gz_key,
			(unsigned long long)got, (unsigned long long)size);
		rc = -EIO;
	} else if (rc < 0) {
		fprintf(stderr, "heapsnap: %s --remote: %s\n", cmd, s3_error(r->s3));
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
