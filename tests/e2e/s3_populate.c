// SPDX-License-Identifier: Apache-2.0
/* Test driver: fill a bucket with the metadata of PER_HOST snapshots for each host
 * FIRST..LAST-1, fast (THREADS connections), the way agents upload it: PREFIX/ID.json,
 * and for hosts below OLD_FROM the bucket index entries and the prefix's completeness
 * marker (hosts from OLD_FROM on look like hosts whose agents predate the index). No
 * .gz: a listing never reads one.
 *   s3_populate ENDPOINT BUCKET CREDS_FILE FIRST LAST PER_HOST OLD_FROM
 * Host h: prefix host-HHH, host name host-HHH.example, app app-(h % 10); snapshot i of
 * host h starts at 2026-11-01T00:00:00Z + i hours + h seconds. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "upload/creds.h"
#include "upload/s3.h"
#include "upload/s3index.h"

#define THREADS 8
#define BASE_MS 1793491200000LL  /* 2026-11-01T00:00:00Z */

static struct s3_conf conf;
static int last, per_host, old_from;
static atomic_int next_host, failed;

static int put_host(struct s3 *s3, int h)
{
	char prefix[32], key[256], when[32];
	struct snapshot_meta *m = calloc(1, sizeof(*m));
	int rc = 0;

	snprintf(prefix, sizeof(prefix), "host-%03d", h);
	for (int i = 0; i < per_host && rc == 0 && m; i++) {
		memset(m, 0, sizeof(*m));
		m->started_at_ms = BASE_MS + (int64_t)i * 3600000 + h * 1000;
		m->triggered_at_ms = m->ended_at_ms = m->started_at_ms;
		time_t t = (time_t)(m->started_at_ms / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(m->id, sizeof(m->id), "%s-%d-%04x", when, 1000 + h, i);
		snprintf(m->host, sizeof(m->host), "host-%03d.example", h);
		snprintf(m->app, sizeof(m->app), "app-%d", h % 10);
		snprintf(m->reason, sizeof(m->reason), "rss");
		snprintf(m->method, sizeof(m->method), "signal");
		m->pid = 1000 + h;
		m->raw_bytes = 1000000;
		m->size_bytes = 100000;
		char *text = store_meta_to_json(m);
		snprintf(key, sizeof(key), "%s/%s.json", prefix, m->id);
		if (h < old_from)
			rc = s3index_put(s3, prefix, m->id, m->host, m->app);
		if (rc == 0)
			rc = text ? s3_put_mem(s3, key, text, strlen(text), "application/json", NULL, 0) : -1;
		free(text);
	}
	if (rc == 0 && h < old_from && s3index_complete_key(prefix, key, sizeof(key)) == 0)
		rc = s3_put_mem(s3, key, "", 0, "application/octet-stream", NULL, 0);
	if (rc < 0)
		fprintf(stderr, "s3_populate: %s\n", s3_error(s3));
	free(m);
	return rc;
}

static void *worker(void *arg)
{
	char err[256];
	struct s3 *s3 = s3_new(&conf, err, sizeof(err));
	int h;

	(void)arg;
	while (s3 && (h = atomic_fetch_add(&next_host, 1)) < last)
		if (put_host(s3, h) < 0)
			atomic_store(&failed, 1);
	if (!s3)
		atomic_store(&failed, 1);
	s3_free(s3);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct s3_creds creds;
	pthread_t th[THREADS];
	char err[512];

	if (argc != 8) {
		fprintf(stderr, "usage: s3_populate ENDPOINT BUCKET CREDS_FILE FIRST LAST PER_HOST OLD_FROM\n");
		return 2;
	}
	if (creds_load(argv[3], "default", &creds, err, sizeof(err)) < 0) {
		fprintf(stderr, "s3_populate: %s\n", err);
		return 1;
	}
	conf = (struct s3_conf){ .endpoint = argv[1], .bucket = argv[2], .region = "us-east-1", .path_style = true,
				 .creds = &creds };
	atomic_store(&next_host, atoi(argv[4]));
	last = atoi(argv[5]);
	per_host = atoi(argv[6]);
	old_from = atoi(argv[7]);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&failed) ? 1 : 0;
}
