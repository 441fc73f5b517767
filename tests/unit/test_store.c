// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the snapshot store (agent/store/store.c) and the store commands of the CLI
 * (cli/cli_store.c): permissions, atomicity and crash leftovers, verification before
 * listing, gzip round trip, quotas, id prefixes, min_free, metadata JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <jansson.h>
#include <sched.h>
#include <sys/mount.h>
#include <zlib.h>

#include "snapshot_fixture.h"
#include "cli.h"
#include "cli_store.h"
#include "store/store.h"

static struct blob tiny, node20;

struct fixture {
	char parent[64];
	char dir[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->parent, sizeof(f->parent), "/tmp/hs-store-test-XXXXXX");
	if (!mkdtemp(f->parent))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->parent);
	*state = f;
	return 0;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0)
			remove_tree(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	remove_tree(f->parent);
	free(f);
	return 0;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static struct store *open_ok(const char *dir, bool create)
{
	struct store *st = NULL;
	char err[512];

	if (store_open(dir, create, &st, err, sizeof(err)) < 0)
		fail_msg("store_open %s: %s", dir, err);
	return st;
}

static void sample_meta(struct snapshot_meta *m, int pid, int64_t started_ms)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->host, sizeof(m->host), "testhost");
	m->pid = pid;
	snprintf(m->exe, sizeof(m->exe), "/usr/bin/node");
	snprintf(m->node_version, sizeof(m->node_version), "v20.0.0");
	snprintf(m->cmdline, sizeof(m->cmdline), "node --heapsnapshot-signal=SIGUSR2 app.js \"q\"");
	snprintf(m->reason, sizeof(m->reason), "growth");
	snprintf(m->method, sizeof(m->method), "signal");
	m->rss_bytes = 300ull << 20;
	m->threshold_bytes = 200ull << 20;
	m->started_at_ms = started_ms;
	m->triggered_at_ms = started_ms ? started_ms - 5 : 0;
}

/* Store data in random pieces; returns commit's result, err filled. */
static int store_data(struct store *st, struct snapshot_meta *m, const unsigned char *data, size_t len,
		      char *err, size_t errlen)
{
	struct store_writer *w = store_writer_begin(st, m, 1, err, errlen);
	size_t off = 0;
	int rc;

	if (!w)
		return -1;
	srand((unsigned)len);
	while (off < len) {
		size_t n = 1 + (size_t)rand() % 100000;

		if (n > len - off)
			n = len - off;
		rc = store_writer_write(w, data + off, n);
		if (rc < 0) {
			snprintf(err, errlen, "%s", store_writer_error(w));
			store_writer_abort(w);
			return rc;
		}
		off += n;
	}
	return store_writer_commit(w, m, err, errlen);
}

static void store_ok(struct store *st, struct snapshot_meta *m, const struct blob *b)
{
	char err[512];

	if (store_data(st, m, b->data, b->len, err, sizeof(err)) < 0)
		fail_msg("store: %s", err);
}

static const struct blob *best_blob(void)
{
	return node20.data ? &node20 : &tiny;
}

/* ---- directory --------------------------------------------------------- */

static void test_open_creates_private_dir(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	char path[256];
	struct stat sb;

	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_string_equal(store_dir(st), f->dir);
	store_close(st);
	/* missing parents are created (private) too */
	snprintf(path, sizeof(path), "%s/a/b/store", f->parent);
	st = open_ok(path, true);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	store_close(st);
	snprintf(path, sizeof(path), "%s/a/b", f->parent);
	rmdir(path);
}

static void test_open_refuses_loose_permissions(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char err[512], want[512];

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(store_open(f->dir, true, &st, err, sizeof(err)), -EPERM);
	assert_null(st);
	snprintf(want, sizeof(want), "store %s: permissions 0755 are too open: group and other must "
		 "have no access (chmod 700 %s)", f->dir, f->dir);
	assert_string_equal(err, want);
	assert_int_equal(store_open(f->dir, false, &st, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(f->dir, 0710), 0);
	assert_int_equal(store_open(f->dir, true, &st, err, sizeof(err)), -EPERM);
}

static void test_open_refuses_foreign_owner(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char err[512];

	if (geteuid() != 0)
		skip();  /* needs chown */
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chown(f->dir, 65534, 65534), 0);
	assert_int_equal(store_open(f->dir, true, &st, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "owned by uid 65534"));
	/* root may read (not write) another user's store */
	assert_int_equal(store_open(f->dir, false, &st, err, sizeof(err)), 0);
	store_close(st);
}

static void test_open_missing_without_create(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char err[512];

	assert_int_equal(store_open(f->dir, false, &st, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(access(f->dir, F_OK), -1);
}

/* A second writer is refused, naming the holder; readers are not; the lock goes
 * with store_close. */
static void test_open_one_writer(void **state)
{
	struct fixture *f = *state;
	struct store *first = open_ok(f->dir, true), *second = NULL, *reader = NULL;
	char err[512], want[PATH_MAX + 128];

	assert_int_equal(store_open(f->dir, true, &second, err, sizeof(err)), -EBUSY);
	assert_null(second);
	snprintf(want, sizeof(want), "store %s is in use by another heapsnapd (pid %d): one agent per store",
		 f->dir, (int)getpid());
	assert_string_equal(err, want);
	assert_int_equal(store_open(f->dir, false, &reader, err, sizeof(err)), 0);
	store_close(reader);
	store_close(first);
	second = open_ok(f->dir, true);
	store_close(second);
}

/* ---- writing -------------------------------------------------------------- */

static void gunzip_file(const char *path, struct blob *out)
{
	gzFile gz = gzopen(path, "rbe");
	size_t cap = 1 << 20;
	int n;

	assert_non_null(gz);
	out->data = malloc(cap);
	out->len = 0;
	for (;;) {
		if (out->len + 65536 > cap)
			out->data = realloc(out->data, cap *= 2);
		assert_non_null(out->data);
		n = gzread(gz, out->data + out->len, 65536);
		assert_true(n >= 0);
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	gzclose(gz);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	const struct blob *b = best_blob();
	struct store *st = open_ok(f->dir, true);
	struct snapshot_meta m, got;
	char path[4096];
	struct blob back;
	struct stat sb;

	sample_meta(&m, 4242, 0);
	store_ok(st, &m, b);
	assert_true(strstr(m.id, "-4242-") != NULL);
	assert_int_equal(strlen(m.id), strlen("20261127T081502Z-4242-a1b2"));
	assert_int_equal(m.raw_bytes, b->len);
	assert_true(m.size_bytes > 0 && m.size_bytes < b->len);
	assert_true(m.node_count > 0);
	assert_true(m.started_at_ms > 0 && m.ended_at_ms >= m.started_at_ms);

	store_blob_path(st, m.id, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal((uint64_t)sb.st_size, m.size_bytes);
	gunzip_file(path, &back);
	assert_int_equal(back.len, b->len);
	assert_memory_equal(back.data, b->data, b->len);
	free(back.data);

	snprintf(path, sizeof(path), "%s/%s.json", f->dir, m.id);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(count_entries(f->dir), 2);

	assert_int_equal(store_get(st, m.id, &got), 0);
	assert_string_equal(got.id, m.id);
	assert_string_equal(got.cmdline, m.cmdline);
	assert_string_equal(got.reason, "growth");
	assert_int_equal(got.pid, 4242);
	assert_int_equal(got.rss_bytes, m.rss_bytes);
	assert_int_equal(got.raw_bytes, m.raw_bytes);
	assert_int_equal(got.size_bytes, m.size_bytes);
	assert_int_equal(got.edge_count, m.edge_count);
	assert_int_equal(got.capture_ms, m.capture_ms);
	assert_null(got.extra_json);
	store_meta_free(&got);
	store_close(st);
}

static void test_metadata_json_fields(void **state)
{
	static const char *const fields[] = {
		"id", "host", "pid", "exe", "node_version", "cmdline", "cgroup", "reason", "rss_bytes",
		"threshold_bytes", "method", "triggered_at_ms", "started_at_ms", "ended_at_ms",
		"capture_ms", "raw_bytes", "size_bytes", "node_count", "edge_count", "started_at",
		"top_growth",
	};
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	struct snapshot_meta m, got;
	char path[4096];
	json_t *o;

	sample_meta(&m, 7, 1795767302000);  /* 2026-11-27T08:15:02Z */
	m.extra_json = strdup("{\"top_growth\":[{\"class\":\"Foo\",\"delta\":3}],\"pid\":99}");
	store_ok(st, &m, &tiny);
	assert_int_equal(strncmp(m.id, "20261127T081502Z-7-", 19), 0);
	snprintf(path, sizeof(path), "%s/%s.json", f->dir, m.id);
	o = json_load_file(path, 0, NULL);
	assert_non_null(o);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!json_object_get(o, fields[i]))
			fail_msg("ID.json lacks \"%s\"", fields[i]);
	}
	assert_string_equal(json_string_value(json_object_get(o, "started_at")), "2026-11-27T08:15:02Z");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), 7);  /* extra never overrides */
	json_decref(o);

	assert_int_equal(store_get(st, m.id, &got), 0);
	assert_non_null(got.extra_json);
	assert_non_null(strstr(got.extra_json, "top_growth"));
	store_meta_free(&got);
	assert_int_equal(store_set_extra(st, m.id, "{\"note\":\"x\"}"), 0);
	assert_int_equal(store_get(st, m.id, &got), 0);
	assert_string_equal(got.extra_json, "{\"note\":\"x\"}");
	assert_int_equal(got.raw_bytes, tiny.len);
	store_meta_free(&got);
	assert_int_equal(store_set_extra(st, m.id, "[1]"), -EINVAL);
	assert_int_equal(count_entries(f->dir), 2);
	store_meta_free(&m);
	store_close(st);
}

/* A truncated snapshot is never stored, and nothing is left behind. */
static void test_truncated_not_stored(void **state)
{
	struct fixture *f = *state;
	const struct blob *b = best_blob();
	struct store *st = open_ok(f->dir, true);
	size_t cuts[] = { 0, 1, b->len / 3, b->len / 2, b->len - 2 };
	struct snapshot_meta m, *list;
	size_t count;
	char err[512];

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		sample_meta(&m, 10, 0);
		assert_int_equal(store_data(st, &m, b->data, cuts[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "rejected"));
		assert_int_equal(count_entries(f->dir), 0);
	}
	assert_non_null(strstr(err, "truncated"));
	sample_meta(&m, 10, 0);
	assert_int_equal(store_data(st, &m, b->data, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty snapshot (0 bytes)"));
	assert_int_equal(store_list(st, &list, &count), 0);
	assert_int_equal(count, 0);
	store_list_free(list, count);
	store_close(st);
}

static void test_malformed_fails_early(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	struct snapshot_meta m;
	struct store_writer *w;
	char err[512];

	sample_meta(&m, 11, 0);
	w = store_writer_begin(st, &m, 6, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(count_entries(f->dir), 1);  /* the .tmp */
	assert_int_equal(store_writer_write(w, "<html>", 6), -EINVAL);
	assert_non_null(strstr(store_writer_error(w), "not a valid heap snapshot"));
	assert_int_equal(store_writer_write(w, "{}", 2), -EINVAL);
	assert_int_equal(store_writer_commit(w, &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(count_entries(f->dir), 0);

	w = store_writer_begin(st, &m, 6, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(store_writer_write(w, tiny.data, 10), 0);
	assert_int_equal(store_writer_raw_bytes(w), 10);
	store_writer_abort(w);
	store_writer_abort(NULL);
	assert_int_equal(count_entries(f->dir), 0);
	store_close(st);
}

static void touch(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

/* A crash leaves *.tmp files and a .gz without .json: never listed, cleaned at open. */
static void test_crash_leftovers_cleaned(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	struct snapshot_meta m, *list, got;
	char path[4096];
	size_t count;

	sample_meta(&m, 12, 0);
	store_ok(st, &m, &tiny);
	store_close(st);
	touch(f->dir, "20261127T000000Z-1-aaaa.heapsnapshot.gz.tmp");
	touch(f->dir, "20261127T000000Z-2-bbbb.json.tmp");
	touch(f->dir, "20261127T000000Z-3-cccc.heapsnapshot.gz");   /* orphan */
	assert_int_equal(count_entries(f->dir), 5);

	st = open_ok(f->dir, false);  /* readers see only the complete one, change nothing */
	assert_int_equal(store_list(st, &list, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(list[0].id, m.id);
	store_list_free(list, count);
	assert_int_equal(store_get(st, "20261127T000000Z-3", &got), -ENOENT);
	store_close(st);
	assert_int_equal(count_entries(f->dir), 5);

	st = open_ok(f->dir, true);
	assert_int_equal(count_entries(f->dir), 2);
	snprintf(path, sizeof(path), "%s/%s.heapsnapshot.gz", f->dir, m.id);
	assert_int_equal(access(path, F_OK), 0);
	store_close(st);
}

/* ---- quotas --------------------------------------------------------------- */

static void store_n(struct store *st, int n, int64_t first_ms, char ids[][64])
{
	for (int i = 0; i < n; i++) {
		struct snapshot_meta m;

		sample_meta(&m, 100 + i, first_ms + i * 1000);
		store_ok(st, &m, &tiny);
		snprintf(ids[i], 64, "%s", m.id);
	}
}

static void assert_listed(struct store *st, int n, char ids[][64], const int *expect)
{
	struct snapshot_meta *list;
	size_t count;

	assert_int_equal(store_list(st, &list, &count), 0);
	assert_int_equal(count, (size_t)n);
	for (int i = 0; i < n; i++)
		assert_string_equal(list[i].id, ids[expect[i]]);
	store_list_free(list, count);
}

static void test_quota_max_count_evicts_oldest(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	int64_t now = (int64_t)time(NULL) * 1000;
	char ids[5][64];
	const int expect[] = { 3, 4 };

	store_set_quota(st, 0, 2, 0, 0);
	store_n(st, 5, now - 100000, ids);
	assert_listed(st, 2, ids, expect);
	assert_int_equal(count_entries(f->dir), 4);
	store_close(st);
}

static void test_quota_total_bytes_keeps_newest(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	int64_t now = (int64_t)time(NULL) * 1000;
	char ids[3][64];
	const int expect_two[] = { 1, 2 }, expect_one[] = { 2 };
	struct snapshot_meta *list;
	size_t count;
	uint64_t one;

	store_n(st, 1, now - 50000, ids);
	assert_int_equal(store_list(st, &list, &count), 0);
	one = list[0].size_bytes;
	store_list_free(list, count);

	store_set_quota(st, 2 * one, 0, 0, 0);
	store_n(st, 3, now - 40000, ids);
	assert_listed(st, 2, ids, expect_two);
	/* a quota smaller than one snapshot never evicts the one just committed */
	store_set_quota(st, 1, 0, 0, 0);
	store_n(st, 1, now - 1000, ids + 2);
	assert_listed(st, 1, ids, expect_one);
	store_close(st);
}

static void test_quota_max_age(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	int64_t now = (int64_t)time(NULL) * 1000, day = 86400000;
	char ids[3][64];
	const int expect[] = { 1, 2 };
	struct snapshot_meta m;

	sample_meta(&m, 1, now - 10 * day);
	m.ended_at_ms = now - 10 * day + 500;
	store_ok(st, &m, &tiny);
	snprintf(ids[0], 64, "%s", m.id);
	sample_meta(&m, 2, now - day / 2);
	m.ended_at_ms = now - day / 2;
	store_ok(st, &m, &tiny);
	snprintf(ids[1], 64, "%s", m.id);
	store_set_quota(st, 0, 0, 1, 0);
	store_n(st, 1, now, ids + 2);
	assert_listed(st, 2, ids, expect);
	store_close(st);
}

static void test_min_free_refuses(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	struct snapshot_meta m;
	char err[512];

	store_set_quota(st, 0, 0, 0, UINT64_MAX / 2);
	sample_meta(&m, 13, 0);
	assert_null(store_writer_begin(st, &m, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "store: free space below min_free_mb"));
	assert_int_equal(count_entries(f->dir), 0);
	store_close(st);
}


/* ---- disk full (root: a small tmpfs in a private mount namespace) --------- */

/* A valid snapshot whose one string is LEN random letters: barely compressible. */
static void make_incompressible(struct blob *b, size_t len)
{
	static const char head[] = "{\"snapshot\":{\"meta\":{\"node_fields\":[\"a\"],\"edge_fields\":"
				   "[\"b\"]},\"node_count\":0,\"edge_count\":0},\"nodes\":[],"
				   "\"edges\":[],\"strings\":[\"";
	static const char tail[] = "\"]}";
	size_t hl = strlen(head);

	b->len = hl + len + strlen(tail);
	b->data = malloc(b->len);
	assert_non_null(b->data);
	memcpy(b->data, head, hl);
	srand(7);
	for (size_t i = 0; i < len; i++)
		b->data[hl + i] = (unsigned char)('A' + rand() % 58);
	for (size_t i = 0; i < len; i++)
		if (b->data[hl + i] == '\\' || b->data[hl + i] == '"')
			b->data[hl + i] = 'x';
	memcpy(b->data + hl + len, tail, strlen(tail));
}

static bool mount_small_tmpfs(const char *where, const char *size)
{
	char opts[64];

	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return false;
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	return mount("hs-test", where, "tmpfs", 0, opts) == 0;
}

/* Feed b in 64 KB slices until the writer fails; its result. */
static int write_in_slices(struct store_writer *w, const struct blob *b)
{
	int rc = 0;

	for (size_t off = 0; off < b->len && rc == 0; off += 65536)
		rc = store_writer_write(w, b->data + off, b->len - off < 65536 ? b->len - off : 65536);
	return rc;
}

static void test_disk_full_reported(void **state)
{
	struct fixture *f = *state;
	struct snapshot_meta m, *list;
	struct store_writer *w;
	struct store *st;
	struct blob big;
	size_t count;
	int rc = 0;
	char err[512];

	if (!mount_small_tmpfs(f->parent, "1m"))
		skip();  /* needs root (mount namespace + tmpfs) */
	make_incompressible(&big, 4u << 20);
	st = open_ok(f->dir, true);
	sample_meta(&m, 51, 0);
	w = store_writer_begin(st, &m, 1, err, sizeof(err));
	assert_non_null(w);
	rc = write_in_slices(w, &big);
	if (rc == 0)
		rc = store_writer_commit(w, &m, err, sizeof(err));
	else {
		snprintf(err, sizeof(err), "%s", store_writer_error(w));
		store_writer_abort(w);
	}
	assert_int_equal(rc, -ENOSPC);
	if (!strstr(err, "No space left on device"))
		fail_msg("unexpected error: %s", err);
	assert_int_equal(count_entries(f->dir), 0);
	assert_int_equal(store_list(st, &list, &count), 0);
	assert_int_equal(count, 0);
	store_list_free(list, count);
	store_close(st);
	free(big.data);
	umount2(f->parent, MNT_DETACH);
}

static void test_min_free_checked_while_writing(void **state)
{
	struct fixture *f = *state;
	struct snapshot_meta m;
	struct store_writer *w;
	struct store *st;
	struct blob big;
	int rc = 0;
	char err[512];

	if (!mount_small_tmpfs(f->parent, "12m"))
		skip();
	make_incompressible(&big, 10u << 20);
	st = open_ok(f->dir, true);
	store_set_quota(st, 0, 0, 0, 8u << 20);  /* 12 MB free at the start, floor 8 MB */
	sample_meta(&m, 52, 0);
	w = store_writer_begin(st, &m, 1, err, sizeof(err));
	assert_non_null(w);
	rc = write_in_slices(w, &big);
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(store_writer_error(w), "store: free space below min_free_mb"));
	assert_int_equal(store_writer_commit(w, &m, err, sizeof(err)), -ENOSPC);
	assert_int_equal(count_entries(f->dir), 0);
	store_close(st);
	free(big.data);
	umount2(f->parent, MNT_DETACH);
}

/* ---- ids ------------------------------------------------------------------ */

static void test_id_prefix_lookup(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	int64_t when = 1795767302000;
	struct snapshot_meta a, b, got;
	char prefix[64];

	sample_meta(&a, 5551, when);
	store_ok(st, &a, &tiny);
	sample_meta(&b, 5552, when);
	store_ok(st, &b, &tiny);
	assert_int_equal(store_get(st, "20261127T081502Z-555", &got), -EINVAL);
	assert_int_equal(store_get(st, "20261127T081502Z-5552", &got), 0);
	assert_string_equal(got.id, b.id);
	store_meta_free(&got);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(a.id) - 1, a.id);
	assert_int_equal(store_get(st, prefix, &got), 0);
	assert_string_equal(got.id, a.id);
	store_meta_free(&got);
	assert_int_equal(store_get(st, a.id, &got), 0);
	store_meta_free(&got);
	assert_int_equal(store_get(st, "20991231", &got), -ENOENT);
	assert_int_equal(store_get(st, "../etc", &got), -ENOENT);
	assert_int_equal(store_get(st, "", &got), -ENOENT);
	assert_int_equal(store_remove(st, a.id), 0);
	assert_int_equal(store_get(st, a.id, &got), -ENOENT);
	assert_int_equal(count_entries(f->dir), 2);
	store_close(st);
}

/* ---- CLI ------------------------------------------------------------------ */

/* Run a command with stdout to a file; returns its exit code, output in out. */
static int run_cli(const char *store, const char *const *args, int argc, char *out, size_t outlen)
{
	struct cli cli = { .store_dir = store };
	char *argv[8], path[] = "/tmp/hs-cli-out-XXXXXX";
	int fd = mkstemp(path), saved, rc;
	ssize_t n;

	assert_true(fd >= 0 && argc < 8);
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!strcmp(args[0], "list"))
		rc = cmd_list(&cli, argc, argv);
	else if (!strcmp(args[0], "show"))
		rc = cmd_show(&cli, argc, argv);
	else if (!strcmp(args[0], "get"))
		rc = cmd_get(&cli, argc, argv);
	else
		rc = cmd_rm(&cli, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

static void test_cli_list_show(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->dir, true);
	static char out[1 << 16];
	struct snapshot_meta a, b;
	json_t *arr;

	sample_meta(&a, 31, 1795767302000);
	store_ok(st, &a, &tiny);
	sample_meta(&b, 32, 1795767303000);
	store_ok(st, &b, &tiny);
	store_close(st);

	assert_int_equal(run_cli(f->dir, (const char *[]){ "list" }, 1, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "CAPTURE ms"));
	assert_non_null(strstr(out, a.id));
	assert_true(strstr(out, a.id) < strstr(out, b.id));
	assert_non_null(strstr(out, "2026-11-27 08:15:02"));

	assert_int_equal(run_cli(f->dir, (const char *[]){ "list", "--json" }, 2, out, sizeof(out)), 0);
	arr = json_loads(out, 0, NULL);
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "id")), b.id);
	assert_non_null(json_object_get(json_array_get(arr, 0), "started_at"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "raw_bytes")), tiny.len);
	json_decref(arr);

	assert_int_equal(run_cli(f->dir, (const char *[]){ "show", "20261127T081502Z-31" }, 2, out,
				 sizeof(out)), 0);
	assert_non_null(strstr(out, a.id));
	assert_non_null(strstr(out, "growth"));
	assert_int_equal(run_cli(f->dir, (const char *[]){ "show", a.id, "--json" }, 3, out, sizeof(out)), 0);
	arr = json_loads(out, 0, NULL);
	assert_true(json_is_object(arr));
	json_decref(arr);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "show", "20261127T08150" }, 2, out, sizeof(out)), 1);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "show", "nope" }, 2, out, sizeof(out)), 1);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "show" }, 1, out, sizeof(out)), 2);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "list", "--bogus" }, 2, out, sizeof(out)), 2);

	assert_int_equal(run_cli(f->dir, (const char *[]){ "rm", a.id }, 2, out, sizeof(out)), 0);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "rm", a.id }, 2, out, sizeof(out)), 1);
	assert_int_equal(count_entries(f->dir), 2);
	assert_int_equal(run_cli("/nonexistent/store", (const char *[]){ "list" }, 1, out, sizeof(out)), 1);
}

static void test_cli_get_round_trip(void **state)
{
	struct fixture *f = *state;
	const struct blob *b = best_blob();
	struct store *st = open_ok(f->dir, true);
	static char out[1 << 12];
	char file[256], blob_path[4096];
	struct snapshot_meta m;
	struct blob back;
	struct stat sb;

	sample_meta(&m, 41, 0);
	store_ok(st, &m, b);
	store_blob_path(st, m.id, blob_path, sizeof(blob_path));
	store_close(st);

	snprintf(file, sizeof(file), "%s/out.heapsnapshot", f->parent);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "get", m.id, "-o", file }, 4, out, sizeof(out)), 0);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(fixture_read_file(file, &back), 0);
	assert_int_equal(back.len, b->len);
	assert_memory_equal(back.data, b->data, b->len);
	free(back.data);
	unlink(file);

	/* a damaged .gz: get fails and leaves no file */
	assert_int_equal(truncate(blob_path, (off_t)(m.size_bytes / 2)), 0);
	assert_int_equal(run_cli(f->dir, (const char *[]){ "get", m.id, "-o", file }, 4, out, sizeof(out)), 1);
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(count_entries(f->parent), 1);  /* only the store dir: no temp file */
}

static int group_setup(void **state)
{
	(void)state;
	if (fixture_tiny(&tiny) < 0) {
		fprintf(stderr, "cannot read tests/fixtures/tiny.heapsnapshot (set HEAPSNAP_ROOT)\n");
		return -1;
	}
	fixture_snapshot_blob(fixture_node20(), &node20);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(tiny.data);
	free(node20.data);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_private_dir),
		T(test_open_refuses_loose_permissions),
		T(test_open_refuses_foreign_owner),
		T(test_open_missing_without_create),
	T(test_open_one_writer),
		T(test_round_trip),
		T(test_metadata_json_fields),
		T(test_truncated_not_stored),
		T(test_malformed_fails_early),
		T(test_crash_leftovers_cleaned),
		T(test_quota_max_count_evicts_oldest),
		T(test_quota_total_bytes_keeps_newest),
		T(test_quota_max_age),
		T(test_min_free_refuses),
		T(test_disk_full_reported),
		T(test_min_free_checked_while_writing),
		T(test_id_prefix_lookup),
		T(test_cli_list_show),
		T(test_cli_get_round_trip),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
