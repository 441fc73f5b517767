// SPDX-License-Identifier: Apache-2.0
/* The snapshot store (see store.h): a private directory of ID.heapsnapshot.gz +
 * ID.json pairs, written atomically, verified before they become visible, kept
 * within quotas. All file access is relative to the directory fd (openat/renameat),
 * so a store path swapped after open cannot redirect writes. Snapshots are streamed:
 * the writer never holds more than one compression buffer. */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/flock.h"
#include "base/log.h"
#include "base/loop.h"
#include "snapshot/verify.h"
#include "store/pgz.h"

#define GZ_SUFFIX ".heapsnapshot.gz"
#define JSON_SUFFIX ".json"
#define TMP_SUFFIX ".tmp"
#define SIDE_SUFFIX ".upload"        /* side files (store_side_*): the uploader's record */
#define PROFILE_SUFFIX ".heapprofile" /* and the sampling heap profile of an incident */
/* Compression: blocks of this much input deflated in parallel by up to this many threads
 * (pgz.h). 128 KiB is what pigz uses; measured on a 133 MB snapshot at level 6, larger
 * blocks gave no smaller file. */
#define COMPRESS_BLOCK (128 * 1024)
#define COMPRESS_THREADS_MAX 2
#define FREE_CHECK_EVERY (4ull << 20)   /* raw bytes between statvfs checks */

struct store {
	char dir[PATH_MAX];
	int dirfd;
	uint64_t max_total_bytes, min_free_bytes;
	unsigned max_count, max_age_days;
	void (*evict_hook)(const char *id, void *ctx);
	void *evict_ctx;
};

struct store_writer {
	struct store *st;
	char id[SNAPSHOT_ID_LEN];
	char tmp_name[128];
	int fd;
	struct pgz *gz;
	struct snap_verify *verify;
	uint64_t raw_bytes, size_bytes, next_free_check;
	char error[PATH_MAX + 512];
	int failed;                     /* 0, or the first failure's negative errno */
};

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Ids are [A-Za-z0-9-]: they end up in file names. */
static bool id_is_safe(const char *id)
{
	if (!*id || strlen(id) >= sizeof(((struct snapshot_meta *)0)->id))
		return false;
	for (const char *p = id; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      *p == '-'))
			return false;
	}
	return true;
}

/* ---- opening ------------------------------------------------------------ */

static int check_dir_safety(const char *dir, int fd, bool writer, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "store %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "store %s: not a directory", dir);
		return -ENOTDIR;
	}
	/* Readers may be root looking at someone else's store; writers must own it. */
	if (sb.st_uid != geteuid() && (writer || geteuid() != 0)) {
		snprintf(err, errlen, "store %s: owned by uid %u, not by this user (uid %u): refusing it",
			 dir, (unsigned)sb.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (sb.st_mode & 077) {
		snprintf(err, errlen,
			 "store %s: permissions %04o are too open: group and other must have no access "
			 "(chmod 700 %s)", dir, (unsigned)(sb.st_mode & 07777), dir);
		return -EPERM;
	}
	return 0;
}

/* mkdir -p: missing parents are made 0700 too (only the owner needs them). */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int open_dir(const char *dir, bool create, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		int rc = make_dirs(dir);

		if (rc < 0) {
			snprintf(err, errlen, "store %s: cannot create: %s", dir, strerror(-rc));
			return rc;
		}
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;
		struct stat sb;

		if (e == EACCES && stat(dir, &sb) == 0)
			snprintf(err, errlen, "store %s: permission denied (owned by uid %u, mode %04o: "
				 "snapshots are private; run as that user or root)", dir,
				 (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
		else if (e == EACCES)
			snprintf(err, errlen, "store %s: permission denied", dir);
		else
			snprintf(err, errlen, "store %s: %s", dir, strerror(e));
		return -e;
	}
	return fd;
}

/* Remove what a crash left: *.tmp files and .gz files whose .json never came. */
static void clean_leftovers(struct store *st)
{
	int fd = dup(st->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char json[NAME_MAX + 1];
		size_t n = strlen(de->d_name);

		if (has_suffix(de->d_name, TMP_SUFFIX)) {
			unlinkat(st->dirfd, de->d_name, 0);
		} else if (has_suffix(de->d_name, GZ_SUFFIX) || has_suffix(de->d_name, SIDE_SUFFIX) ||
			   has_suffix(de->d_name, PROFILE_SUFFIX)) {
			n -= strlen(has_suffix(de->d_name, GZ_SUFFIX) ? GZ_SUFFIX :
				    has_suffix(de->d_name, SIDE_SUFFIX) ? SIDE_SUFFIX : PROFILE_SUFFIX);
			snprintf(json, sizeof(json), "%.*s" JSON_SUFFIX, (int)n, de->d_name);
			if (faccessat(st->dirfd, json, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
				unlinkat(st->dirfd, de->d_name, 0);
		}
	}
	closedir(d);
}

/* One writer per store: a second agent would remove the first one's *.tmp files
 * mid-capture and race it on quotas. The lock lives as long as the directory fd. */
static int lock_writer(const char *dir, int fd, char *err, size_t errlen)
{
	pid_t holder;
	int rc = flock_exclusive(fd, &holder);

	if (rc == -EBUSY && holder > 0)
		snprintf(err, errlen, "store %s is in use by another heapsnapd (pid %d): one agent per "
			 "store", dir, (int)holder);
	else if (rc == -EBUSY)
		snprintf(err, errlen, "store %s is in use by another heapsnapd: one agent per store", dir);
	else if (rc < 0)
		snprintf(err, errlen, "store %s: cannot lock: %s", dir, strerror(-rc));
	return rc;
}

int store_open(const char *dir, bool create, struct store **out, char *err, size_t errlen)
{
	struct store *st;
	int fd, rc;

	*out = NULL;
	if (strlen(dir) >= sizeof(st->dir)) {
		snprintf(err, errlen, "store %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	fd = open_dir(dir, create, err, errlen);
	if (fd < 0)
		return fd;
	rc = check_dir_safety(dir, fd, create, err, errlen);
	if (rc == 0 && create)
		rc = lock_writer(dir, fd, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		close(fd);
		snprintf(err, errlen, "store %s: out of memory", dir);
		return -ENOMEM;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	st->dirfd = fd;
	if (create)
		clean_leftovers(st);
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	close(st->dirfd);
	free(st);
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

void store_set_quota(struct store *st, uint64_t max_total_bytes, unsigned max_count,
		     unsigned max_age_days, uint64_t min_free_bytes)
{
	st->max_total_bytes = max_total_bytes;
	st->max_count = max_count;
	st->max_age_days = max_age_days;
	st->min_free_bytes = min_free_bytes;
}

void store_blob_path(const struct store *st, const char *id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s" GZ_SUFFIX, st->dir, id);
}

/* ---- small file helpers -------------------------------------------------- */

static int free_space_ok(struct store *st, char *err, size_t errlen)
{
	struct statvfs vfs;
	uint64_t avail;

	if (st->min_free_bytes == 0)
		return 0;
	if (fstatvfs(st->dirfd, &vfs) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "store: statvfs %s: %s", st->dir, strerror(-rc));
		return rc;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < st->min_free_bytes) {
		snprintf(err, errlen, "store: free space below min_free_mb (%llu MiB free on %s, floor %llu MiB)",
			 (unsigned long long)(avail >> 20), st->dir,
			 (unsigned long long)(st->min_free_bytes >> 20));
		return -ENOSPC;
	}
	return 0;
}

/* Write data to NAME atomically: NAME.tmp, fsync, rename, fsync dir. */
static int write_file_atomic(struct store *st, const char *name, const char *data, size_t len,
			     char *err, size_t errlen)
{
	char tmp[NAME_MAX + 1 + sizeof(TMP_SUFFIX)];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, name);
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "store: create %s/%s: %s", st->dir, tmp, strerror(-rc));
		return rc;
	}
	rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(st->dirfd, tmp, st->dirfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "store: write %s/%s: %s", st->dir, name, strerror(-rc));
		unlinkat(st->dirfd, tmp, 0);
		return rc;
	}
	fsync(st->dirfd);
	return 0;
}

/* ---- metadata JSON -------------------------------------------------------- */

/* Every member of ID.json that struct snapshot_meta holds, in the order list/show
 * --json print them. "started_at" is derived from started_at_ms (never read back);
 * "inspector_window_ms" is present only when the inspector route opened it. */
enum meta_kind { META_STR, META_I64, META_U64, META_INT, META_ISO_TIME, META_WINDOW };

#define META_FIELD(kind, name) { #name, kind, offsetof(struct snapshot_meta, name), \
				 sizeof(((struct snapshot_meta *)0)->name) }

static const struct meta_field {
	const char *name;
	enum meta_kind kind;
	size_t off, size;
} meta_fields[] = {
	META_FIELD(META_STR, id), META_FIELD(META_STR, host), META_FIELD(META_INT, pid),
	META_FIELD(META_STR, exe), META_FIELD(META_STR, node_version), META_FIELD(META_STR, cmdline),
	META_FIELD(META_STR, cgroup), META_FIELD(META_STR, reason), META_FIELD(META_U64, rss_bytes),
	META_FIELD(META_U64, heap_used_bytes), META_FIELD(META_U64, heap_at_trigger_bytes),
	META_FIELD(META_U64, rss_at_start_bytes),
	META_FIELD(META_U64, heap_at_start_bytes),
	META_FIELD(META_I64, wait_ms), META_FIELD(META_I64, memory_wait_ms),
	META_FIELD(META_U64, threshold_bytes), META_FIELD(META_STR, method),
	META_FIELD(META_I64, triggered_at_ms), META_FIELD(META_I64, started_at_ms),
	{ "started_at", META_ISO_TIME, offsetof(struct snapshot_meta, started_at_ms), 0 },
	META_FIELD(META_I64, ended_at_ms), META_FIELD(META_U64, capture_ms),
	META_FIELD(META_U64, raw_bytes), META_FIELD(META_U64, size_bytes),
	META_FIELD(META_U64, compress_blocks), META_FIELD(META_U64, compress_fast_blocks),
	META_FIELD(META_U64, node_count), META_FIELD(META_U64, edge_count),
	META_FIELD(META_WINDOW, inspector_window_ms), META_FIELD(META_STR, app),
	META_FIELD(META_STR, machine_id), META_FIELD(META_STR, container_id),
	META_FIELD(META_STR, pod_uid), META_FIELD(META_STR, pod_name),
	META_FIELD(META_STR, pod_namespace), META_FIELD(META_STR, container_name),
};

#define N_META_FIELDS (sizeof(meta_fields) / sizeof(meta_fields[0]))

static bool is_known_key(const char *key)
{
	for (size_t i = 0; i < N_META_FIELDS; i++) {
		if (strcmp(key, meta_fields[i].name) == 0)
			return true;
	}
	return false;
}

void store_time_utc(int64_t ms, bool iso, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm);
}

static json_t *field_to_json(const struct snapshot_meta *m, const struct meta_field *f)
{
	const char *p = (const char *)m + f->off;
	char when[32];

	switch (f->kind) {
	case META_STR:
		return json_string(p);
	case META_INT:
		return json_integer(*(const int *)p);
	case META_U64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case META_ISO_TIME:
		store_time_utc(*(const int64_t *)p, true, when, sizeof(when));
		return json_string(when);
	case META_WINDOW:
		if (!m->inspector_opened)
			return NULL;
		/* fall through */
	case META_I64:
		return json_integer(*(const int64_t *)p);
	}
	return NULL;
}

static json_t *meta_to_object(const struct snapshot_meta *m)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < N_META_FIELDS; i++) {
		json_t *v = field_to_json(m, &meta_fields[i]);

		if (v)
			json_object_set_new(o, meta_fields[i].name, v);
	}
	if (m->extra_json) {
		json_t *extra = json_loads(m->extra_json, 0, NULL);

		/* Known names stay ours: extra members never overwrite them. */
		if (json_is_object(extra))
			json_object_update_missing(o, extra);
		json_decref(extra);
	}
	return o;
}

char *store_meta_to_json(const struct snapshot_meta *m)
{
	json_t *o = meta_to_object(m);
	char *text;

	if (!o)
		return NULL;
	text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	return text;
}

static void field_from_json(json_t *o, const struct meta_field *f, struct snapshot_meta *m)
{
	json_t *v = json_object_get(o, f->name);
	char *p = (char *)m + f->off;
	const char *s;

	switch (f->kind) {
	case META_STR:
		s = json_string_value(v);
		snprintf(p, f->size, "%s", s ? s : "");
		break;
	case META_INT:
		*(int *)p = (int)json_integer_value(v);
		break;
	case META_U64:
		*(uint64_t *)p = (uint64_t)json_integer_value(v);
		break;
	case META_WINDOW:
		m->inspector_opened = v != NULL;
		/* fall through */
	case META_I64:
		*(int64_t *)p = (int64_t)json_integer_value(v);
		break;
	case META_ISO_TIME:
		break;
	}
}

static void meta_from_object(json_t *o, struct snapshot_meta *m)
{
	json_t *extra = json_object(), *value;
	const char *key;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < N_META_FIELDS; i++)
		field_from_json(o, &meta_fields[i], m);
	if (!extra)
		return;
	json_object_foreach(o, key, value) {
		if (!is_known_key(key))
			json_object_set(extra, key, value);
	}
	if (json_object_size(extra) > 0)
		m->extra_json = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
}

int store_meta_parse(const char *text, size_t len, struct snapshot_meta *m)
{
	json_t *o = json_loadb(text, len, 0, NULL);

	memset(m, 0, sizeof(*m));
	if (!json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	meta_from_object(o, m);
	json_decref(o);
	return id_is_safe(m->id) ? 0 : -EINVAL;
}

/* Read NAME (an ID.json) into m. */
static int read_meta(struct store *st, const char *name, struct snapshot_meta *m)
{
	int fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	json_t *o;

	if (fd < 0)
		return -errno;
	o = json_loadfd(fd, 0, NULL);
	close(fd);
	if (!json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	meta_from_object(o, m);
	json_decref(o);
	return 0;
}

static int write_meta(struct store *st, const struct snapshot_meta *m, char *err, size_t errlen)
{
	char name[NAME_MAX + 1];
	char *text = store_meta_to_json(m);
	int rc;

	if (!text) {
		snprintf(err, errlen, "store: out of memory");
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "%s" JSON_SUFFIX, m->id);
	rc = write_file_atomic(st, name, text, strlen(text), err, errlen);
	free(text);
	return rc;
}

void store_meta_free(struct snapshot_meta *m)
{
	if (!m)
		return;
	free(m->extra_json);
	m->extra_json = NULL;
}

/* ---- listing -------------------------------------------------------------- */

static int compare_oldest_first(const void *a, const void *b)
{
	const struct snapshot_meta *x = a, *y = b;

	if (x->started_at_ms != y->started_at_ms)
		return x->started_at_ms < y->started_at_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

static bool is_meta_name(const char *name)
{
	char id[NAME_MAX + 1];
	size_t n = strlen(name);

	if (!has_suffix(name, JSON_SUFFIX) || n - strlen(JSON_SUFFIX) >= sizeof(id))
		return false;
	snprintf(id, sizeof(id), "%.*s", (int)(n - strlen(JSON_SUFFIX)), name);
	return id_is_safe(id);
}

static DIR *reopen_dir(struct store *st)
{
	int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0)
		close(fd);
	return d;
}

int store_list(struct store *st, struct snapshot_meta **out, size_t *count)
{
	struct snapshot_meta *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = reopen_dir(st);

	*out = NULL;
	*count = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!is_meta_name(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct snapshot_meta *grown = realloc(list, ncap * sizeof(*list));

			if (!grown) {
				closedir(d);
				store_list_free(list, n);
				return -ENOMEM;
			}
			list = grown;
			cap = ncap;
		}
		if (read_meta(st, de->d_name, &list[n]) == 0)
			n++;  /* an unreadable ID.json is skipped, not fatal to the listing */
	}
	closedir(d);
	if (n > 0)
		qsort(list, n, sizeof(*list), compare_oldest_first);
	*out = list;
	*count = n;
	return 0;
}

void store_list_free(struct snapshot_meta *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		store_meta_free(&list[i]);
	free(list);
}

/* The full id for an id or a unique prefix of one. */
static int resolve_id(struct store *st, const char *prefix, char *id, size_t idlen)
{
	size_t plen = strlen(prefix), matches = 0;
	struct dirent *de;
	DIR *d;

	if (!id_is_safe(prefix))
		return -ENOENT;
	d = reopen_dir(st);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (!is_meta_name(de->d_name) || strncmp(de->d_name, prefix, plen) != 0)
			continue;
		n -= strlen(JSON_SUFFIX);
		if (n == plen) {  /* an exact id wins over longer ids it prefixes */
			snprintf(id, idlen, "%s", prefix);
			matches = 1;
			break;
		}
		if (matches++ == 0)
			snprintf(id, idlen, "%.*s", (int)n, de->d_name);
	}
	closedir(d);
	if (matches == 0)
		return -ENOENT;
	return matches == 1 ? 0 : -EINVAL;
}

int store_get(struct store *st, const char *id, struct snapshot_meta *out)
{
	char full[64], name[NAME_MAX + 1];
	int rc = resolve_id(st, id, full, sizeof(full));

	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return rc;
	snprintf(name, sizeof(name), "%s" JSON_SUFFIX, full);
	rc = read_meta(st, name, out);
	if (rc == 0 && strcmp(out->id, full) != 0)
		snprintf(out->id, sizeof(out->id), "%s", full);  /* the file name is the truth */
	return rc;
}

int store_remove(struct store *st, const char *id)
{
	char name[NAME_MAX + 1];
	int rc = 0;

	if (!id_is_safe(id))
		return -EINVAL;
	/* .json first: the snapshot disappears from listings before its data goes. */
	snprintf(name, sizeof(name), "%s" JSON_SUFFIX, id);
	if (unlinkat(st->dirfd, name, 0) < 0)
		rc = -errno;
	snprintf(name, sizeof(name), "%s" GZ_SUFFIX, id);
	if (unlinkat(st->dirfd, name, 0) < 0 && rc == 0 && errno != ENOENT)
		rc = -errno;
	snprintf(name, sizeof(name), "%s" SIDE_SUFFIX, id);
	unlinkat(st->dirfd, name, 0);
	snprintf(name, sizeof(name), "%s" PROFILE_SUFFIX, id);
	unlinkat(st->dirfd, name, 0);
	fsync(st->dirfd);
	return rc;
}

/* ---- side files and raw access ---------------------------------------------------- */

static int side_name(const char *id, const char *suffix, char *name, size_t len)
{
	if (!id_is_safe(id) || (strcmp(suffix, SIDE_SUFFIX) != 0 && strcmp(suffix, PROFILE_SUFFIX) != 0))
		return -EINVAL;
	snprintf(name, len, "%s%s", id, suffix);
	return 0;
}

int store_side_write(struct store *st, const char *id, const char *suffix, const char *text)
{
	char name[NAME_MAX + 1], err[PATH_MAX + 128];
	int rc = side_name(id, suffix, name, sizeof(name));

	if (rc < 0)
		return rc;
	rc = write_file_atomic(st, name, text, strlen(text), err, sizeof(err));
	if (rc < 0)
		log_warn("%s", err);
	return rc;
}

static int read_whole(int dirfd, const char *name, size_t max, char **text, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	char *buf = NULL;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
		rc = -EINVAL;
		goto cleanup;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto cleanup;
	}
	ssize_t n = read_full(fd, buf, (size_t)sb.st_size);
	if (n < 0) {
		rc = (int)n;
		goto cleanup;
	}
	buf[n] = '\0';
	*text = buf;
	if (len)
		*len = (size_t)n;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

int store_side_read(struct store *st, const char *id, const char *suffix, char **text)
{
	char name[NAME_MAX + 1];
	int rc = side_name(id, suffix, name, sizeof(name));

	return rc < 0 ? rc : read_whole(st->dirfd, name, 16 << 20, text, NULL);
}

int store_read_meta_text(struct store *st, const char *id, char **text, size_t *len)
{
	char name[NAME_MAX + 1];

	if (!id_is_safe(id))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s" JSON_SUFFIX, id);
	return read_whole(st->dirfd, name, 64 << 20, text, len);
}

int store_open_blob(struct store *st, const char *id)
{
	char name[NAME_MAX + 1];
	int fd;

	if (!id_is_safe(id))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s" GZ_SUFFIX, id);
	fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

void store_set_evict_hook(struct store *st, void (*fn)(const char *id, void *ctx), void *ctx)
{
	st->evict_hook = fn;
	st->evict_ctx = ctx;
}

int store_set_extra(struct store *st, const char *id, const char *extra_json)
{
	struct snapshot_meta m;
	char name[NAME_MAX + 1], err[256];
	json_t *extra = NULL;
	int rc;

	if (extra_json) {
		extra = json_loads(extra_json, 0, NULL);
		if (!json_is_object(extra)) {
			json_decref(extra);
			return -EINVAL;
		}
		json_decref(extra);
	}
	if (!id_is_safe(id))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s" JSON_SUFFIX, id);
	rc = read_meta(st, name, &m);
	if (rc < 0)
		return rc;
	free(m.extra_json);
	m.extra_json = extra_json ? strdup(extra_json) : NULL;
	if (extra_json && !m.extra_json)
		return -ENOMEM;
	rc = write_meta(st, &m, err, sizeof(err));
	store_meta_free(&m);
	return rc;
}

/* ---- quotas --------------------------------------------------------------- */

static bool over_quota(const struct store *st, size_t count, uint64_t total,
		       const struct snapshot_meta *oldest, int64_t now)
{
	int64_t age_limit_ms = (int64_t)st->max_age_days * 86400 * 1000;
	int64_t when = oldest->ended_at_ms ? oldest->ended_at_ms : oldest->started_at_ms;

	if (st->max_count && count > st->max_count)
		return true;
	if (st->max_total_bytes && total > st->max_total_bytes)
		return true;
	return st->max_age_days && now - when > age_limit_ms;
}

/* Evict oldest first until within quota; never the snapshot just committed. */
static void enforce_quota(struct store *st, const char *keep_id)
{
	struct snapshot_meta *list;
	size_t count, live;
	uint64_t total = 0;
	int64_t now = wall_ms();

	if (!st->max_count && !st->max_total_bytes && !st->max_age_days)
		return;
	if (store_list(st, &list, &count) < 0)
		return;
	for (size_t i = 0; i < count; i++)
		total += list[i].size_bytes;
	live = count;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(list[i].id, keep_id) == 0)
			continue;
		if (!over_quota(st, live, total, &list[i], now))
			continue;
		if (st->evict_hook)
			st->evict_hook(list[i].id, st->evict_ctx);
		if (store_remove(st, list[i].id) == 0) {
			log_info("store: evicted %s (%llu bytes) to stay within quota", list[i].id,
				 (unsigned long long)list[i].size_bytes);
			live--;
			total -= list[i].size_bytes;
		}
	}
	store_list_free(list, count);
}

/* ---- writer --------------------------------------------------------------- */

static void make_id(const struct snapshot_meta *meta, char *id, size_t idlen)
{
	time_t t = (time_t)(meta->started_at_ms / 1000);
	unsigned short suffix = 0;
	char when[32];
	struct tm tm;

	if (getrandom(&suffix, sizeof(suffix), GRND_NONBLOCK) != sizeof(suffix))
		suffix = (unsigned short)(wall_ms() ^ getpid());
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, idlen, "%s-%d-%04x", when, meta->pid, suffix);
}

/* The first failure stays: its negative errno in w->failed, its sentence in w->error. */
static int writer_fail(struct store_writer *w, int rc, const char *fmt, ...) ERR_PRINTF(3, 4);
static int writer_fail(struct store_writer *w, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!w->failed) {
		va_start(ap, fmt);
		vsnprintf(w->error, sizeof(w->error), fmt, ap);
		va_end(ap);
		w->failed = rc;
	}
	return w->failed;
}

static void writer_free(struct store_writer *w)
{
	pgz_free(w->gz);
	if (w->fd >= 0)
		close(w->fd);
	snap_verify_free(w->verify);
	free(w);
}

static int open_blob_tmp(struct store_writer *w, struct snapshot_meta *meta)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		char json[NAME_MAX + 1];

		make_id(meta, w->id, sizeof(w->id));
		snprintf(json, sizeof(json), "%s" JSON_SUFFIX, w->id);
		if (faccessat(w->st->dirfd, json, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		snprintf(w->tmp_name, sizeof(w->tmp_name), "%s" GZ_SUFFIX TMP_SUFFIX, w->id);
		w->fd = openat(w->st->dirfd, w->tmp_name,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd >= 0 || errno != EEXIST)
			return w->fd >= 0 ? 0 : -errno;
	}
	return -EEXIST;
}

/* pgz's sink: called from the writing thread, in order. */
static int write_blob(const void *buf, size_t len, void *ctx)
{
	struct store_writer *w = ctx;
	int rc = write_all(w->fd, buf, len);

	if (rc < 0)
		return writer_fail(w, rc, "store: write %s/%s: %s", w->st->dir, w->tmp_name, strerror(-rc));
	w->size_bytes += len;
	return 0;
}

/* A compression failure that is not the sink's own (that one has its sentence already). */
static int compress_fail(struct store_writer *w, int rc)
{
	return writer_fail(w, rc, "store: compress %s/%s: %s", w->st->dir, w->tmp_name,
			   rc == -ENOMEM ? "out of memory" : "zlib error");
}

static int start_compression(struct store_writer *w, int level)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct pgz_opts o = {
		.level = level,
		.threads = cpus >= COMPRESS_THREADS_MAX ? COMPRESS_THREADS_MAX : cpus > 1 ? (unsigned)cpus : 1,
		.block_bytes = COMPRESS_BLOCK,
	};

	return pgz_new(&o, write_blob, w, &w->gz);
}

struct store_writer *store_writer_begin(struct store *st, struct snapshot_meta *meta, int level,
					 char *err, size_t errlen)
{
	struct store_writer *w;
	int rc;

	if (free_space_ok(st, err, errlen) < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	w->st = st;
	w->fd = -1;
	if (meta->started_at_ms == 0)
		meta->started_at_ms = wall_ms();
	w->verify = snap_verify_new();
	if (!w->verify || start_compression(w, level) < 0) {
		snprintf(err, errlen, "store: cannot start compression (level %d)", level);
		writer_free(w);
		return NULL;
	}
	rc = open_blob_tmp(w, meta);
	if (rc < 0) {
		snprintf(err, errlen, "store: create %s/%s: %s", st->dir, w->tmp_name, strerror(-rc));
		writer_free(w);
		return NULL;
	}
	snprintf(meta->id, sizeof(meta->id), "%s", w->id);
	w->next_free_check = FREE_CHECK_EVERY;
	return w;
}

int store_writer_write(struct store_writer *w, const void *buf, size_t len)
{
	if (w->failed)
		return w->failed;
	if (snap_verify_feed(w->verify, buf, len) < 0) {
		char reason[200];

		snap_verify_finish(w->verify, NULL, reason, sizeof(reason));
		return writer_fail(w, -EINVAL, "store: %s/%s: not a valid heap snapshot: %s", w->st->dir,
				   w->tmp_name, reason);
	}
	w->raw_bytes += len;
	int rc = pgz_write(w->gz, buf, len);
	if (rc < 0)
		return compress_fail(w, rc);
	if (w->raw_bytes >= w->next_free_check) {
		char err[200];

		w->next_free_check = w->raw_bytes + FREE_CHECK_EVERY;
		rc = free_space_ok(w->st, err, sizeof(err));
		if (rc < 0)
			return writer_fail(w, rc, "%s", err);
	}
	return 0;
}

const char *store_writer_error(const struct store_writer *w)
{
	return w->error;
}

uint64_t store_writer_raw_bytes(const struct store_writer *w)
{
	return w->raw_bytes;
}

void store_writer_abort(struct store_writer *w)
{
	if (!w)
		return;
	if (w->tmp_name[0])
		unlinkat(w->st->dirfd, w->tmp_name, 0);
	writer_free(w);
}

/* Compress the tail, fsync, rename the .gz into place. */
static int finish_blob(struct store_writer *w, char *err, size_t errlen)
{
	char name[NAME_MAX + 1];
	int rc;

	rc = pgz_finish(w->gz);
	if (rc < 0) {
		compress_fail(w, rc);
		snprintf(err, errlen, "%s", w->error);
		return w->failed;
	}
	rc = fsync(w->fd) < 0 ? -errno : 0;
	if (close(w->fd) < 0 && rc == 0)
		rc = -errno;
	w->fd = -1;
	snprintf(name, sizeof(name), "%s" GZ_SUFFIX, w->id);
	if (rc == 0 && renameat(w->st->dirfd, w->tmp_name, w->st->dirfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "store: write %s/%s: %s", w->st->dir, name, strerror(-rc));
		return rc;
	}
	w->tmp_name[0] = '\0';
	fsync(w->st->dirfd);
	return 0;
}

static void fill_meta(struct store_writer *w, struct snapshot_meta *meta,
		      const struct snap_verify_info *info)
{
	snprintf(meta->id, sizeof(meta->id), "%s", w->id);
	meta->raw_bytes = w->raw_bytes;
	meta->size_bytes = w->size_bytes;
	meta->compress_blocks = pgz_blocks(w->gz);
	meta->compress_fast_blocks = pgz_fast_blocks(w->gz);
	meta->node_count = info->node_count;
	meta->edge_count = info->edge_count;
	if (meta->ended_at_ms == 0)
		meta->ended_at_ms = wall_ms();
	if (meta->capture_ms == 0) {
		int64_t from = meta->triggered_at_ms ? meta->triggered_at_ms : meta->started_at_ms;

		meta->capture_ms = meta->ended_at_ms > from ? (uint64_t)(meta->ended_at_ms - from) : 0;
	}
}

int store_writer_commit(struct store_writer *w, struct snapshot_meta *meta, char *err, size_t errlen)
{
	struct snap_verify_info info;
	char reason[200], gz[NAME_MAX + 1];
	struct store *st = w->st;
	int rc = w->failed;

	if (rc < 0) {
		snprintf(err, errlen, "%s", w->error);
		store_writer_abort(w);
		return rc;
	}
	if (snap_verify_finish(w->verify, &info, reason, sizeof(reason)) < 0) {
		snprintf(err, errlen, "store: snapshot %s rejected: %s", w->id, reason);
		store_writer_abort(w);
		return -EINVAL;
	}
	rc = finish_blob(w, err, errlen);
	if (rc < 0) {
		store_writer_abort(w);
		return rc;
	}
	fill_meta(w, meta, &info);
	snprintf(gz, sizeof(gz), "%s" GZ_SUFFIX, w->id);
	rc = write_meta(st, meta, err, errlen);
	if (rc < 0) {
		unlinkat(st->dirfd, gz, 0);
		fsync(st->dirfd);
		writer_free(w);
		return rc;
	}
	writer_free(w);
	enforce_quota(st, meta->id);
	return 0;
}
