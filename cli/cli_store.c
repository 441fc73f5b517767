// SPDX-License-Identifier: Apache-2.0
/* heapsnap list / show / get / rm: the store as the operator sees it. These commands
 * only read the store (rm excepted) and never clean it: that is the agent's job. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "cli_blob.h"
#include "cli_output.h"
#include "cli_remote.h"
#include "cli_report.h"
#include "cli_store.h"
#include "store/store.h"

#define MiB(x) ((double)(x) / (1024.0 * 1024.0))

struct store_args {
	bool json;
	bool remote;          /* --remote: the bucket of [upload] */
	const char *output;   /* get -o FILE */
	const char *id;
};

/* What a command accepts (ARG_* flags, or-ed). */
enum store_arg_flags {
	ARG_JSON = 1 << 0,    /* --json */
	ARG_OUTPUT = 1 << 1,  /* -o/--output FILE */
	ARG_ID = 1 << 2,      /* one snapshot id (required) */
	ARG_REMOTE = 1 << 3,  /* --remote (with ARG_ID) */
};

/* Options may come before or after the id. Returns 0, or 2 (usage) after a message. */
static int parse_args(int argc, char **argv, unsigned accepts, struct store_args *a)
{
	bool allow_json = accepts & ARG_JSON, allow_output = accepts & ARG_OUTPUT, want_id = accepts & ARG_ID,
	     allow_remote = accepts & ARG_REMOTE;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (allow_json && strcmp(argv[i], "--json") == 0) {
			a->json = true;
		} else if (want_id && allow_remote && strcmp(argv[i], "--remote") == 0) {
			a->remote = true;
		} else if (allow_output && (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0)) {
			if (++i >= argc) {
				fprintf(stderr, "heapsnap: %s: -o needs a file name\n", argv[0]);
				return 2;
			}
			a->output = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "heapsnap: %s: unknown option '%s'\n", argv[0], argv[i]);
			return 2;
		} else if (want_id && !a->id) {
			a->id = argv[i];
		} else {
			fprintf(stderr, "heapsnap: %s: unexpected argument '%s'\n", argv[0], argv[i]);
			return 2;
		}
	}
	if (want_id && !a->id) {
		fprintf(stderr, "heapsnap: %s: which snapshot? (give an ID or a unique prefix)\n", argv[0]);
		return 2;
	}
	return 0;
}

static struct store *open_store(const struct cli *cli)
{
	struct store *st;
	char err[PATH_MAX + 256];

	if (!cli->store_dir || !*cli->store_dir) {
		fprintf(stderr, "heapsnap: no store directory (use --store DIR or -c CONFIG)\n");
		return NULL;
	}
	if (store_open(cli->store_dir, false, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "heapsnap: %s\n", err);
		return NULL;
	}
	return st;
}

/* Resolve an id or prefix; prints the error. */
static int lookup(struct store *st, const char *cmd, const char *id, struct snapshot_meta *m)
{
	int rc = store_get(st, id, m);

	if (rc == -ENOENT)
		fprintf(stderr, "heapsnap: %s: no snapshot '%s' in %s\n", cmd, id, store_dir(st));
	else if (rc == -EINVAL)
		fprintf(stderr, "heapsnap: %s: '%s' matches more than one snapshot: give more of the id\n",
			cmd, id);
	else if (rc < 0)
		fprintf(stderr, "heapsnap: %s: cannot read snapshot '%s': %s\n", cmd, id, strerror(-rc));
	return rc;
}

/* The store and one snapshot's metadata (id or prefix); prints the error. */
static int open_snapshot(const struct cli *cli, const char *cmd, const char *id, struct store **st,
			 struct snapshot_meta *m)
{
	int rc;

	*st = open_store(cli);
	if (!*st)
		return -ENOENT;
	rc = lookup(*st, cmd, id, m);
	if (rc < 0) {
		store_close(*st);
		*st = NULL;
	}
	return rc;
}

static int print_json_array(const struct snapshot_meta *list, size_t count)
{
	fputs("[", stdout);
	for (size_t i = 0; i < count; i++) {
		char *text = store_meta_to_json(&list[i]);

		if (!text) {
			fprintf(stderr, "heapsnap: list: out of memory\n");
			return 1;
		}
		printf("%s%s", i ? ",\n" : "\n", text);
		free(text);
	}
	fputs(count ? "\n]\n" : "]\n", stdout);
	return 0;
}

static void print_table(const struct snapshot_meta *list, size_t count)
{
	printf("%-28s %-19s %7s %-10s %-9s %8s %8s %8s %10s\n", "ID", "TIME (UTC)", "PID", "REASON",
	       "METHOD", "RSS MiB", "RAW MiB", "GZ MiB", "CAPTURE ms");
	for (size_t i = 0; i < count; i++) {
		const struct snapshot_meta *m = &list[i];
		char when[32];

		store_time_utc(m->started_at_ms, false, when, sizeof(when));
		printf("%-28s %-19s %7d %-10s %-9s %8.1f %8.1f %8.1f %10llu\n", cli_safe(m->id), when, m->pid,
		       cli_safe(m->reason), cli_safe(m->method), MiB(m->rss_bytes), MiB(m->raw_bytes), MiB(m->size_bytes),
		       (unsigned long long)m->capture_ms);
	}
}

int cmd_list(const struct cli *cli, int argc, char **argv)
{
	struct store_args a;
	struct snapshot_meta *list;
	struct store *st;
	size_t count;
	int rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--remote") == 0)
			return cmd_list_remote(cli, argc, argv);
	rc = parse_args(argc, argv, ARG_JSON, &a);
	if (rc)
		return rc;
	st = open_store(cli);
	if (!st)
		return 1;
	rc = store_list(st, &list, &count);
	if (rc < 0) {
		fprintf(stderr, "heapsnap: list: cannot read %s: %s\n", store_dir(st), strerror(-rc));
		store_close(st);
		return 1;
	}
	if (a.json)
		rc = print_json_array(list, count);
	else
		print_table(list, count);
	store_list_free(list, count);
	store_close(st);
	return rc || fflush(stdout) != 0 ? 1 : 0;
}

static void print_meta(const struct store *st, const struct snapshot_meta *m)
{
	char when[32], blob[PATH_MAX + 80];

	store_blob_path(st, m->id, blob, sizeof(blob));
	store_time_utc(m->started_at_ms, false, when, sizeof(when));
	printf("id:            %s\n", cli_safe(m->id));
	printf("file:          %s\n", blob);
	printf("started:       %s UTC\n", when);
	printf("host:          %s\n", cli_safe(m->host));
	printf("pid:           %d\n", m->pid);
	printf("exe:           %s\n", cli_safe(m->exe));
	printf("node version:  %s\n", cli_safe(m->node_version));
	printf("cmdline:       %s\n", cli_safe(m->cmdline));
	printf("cgroup:        %s\n", cli_safe(m->cgroup));
	printf("reason:        %s (rss %.1f MiB, threshold %.1f MiB)\n", cli_safe(m->reason), MiB(m->rss_bytes),
	       MiB(m->threshold_bytes));
	printf("method:        %s\n", cli_safe(m->method));
	printf("capture:       %llu ms (trigger to stored)\n", (unsigned long long)m->capture_ms);
	printf("size:          %.1f MiB raw, %.1f MiB gzip\n", MiB(m->raw_bytes), MiB(m->size_bytes));
	if (m->compress_blocks)
		printf("compression:   %llu blocks, %llu of them at level 1 to keep pace with the writer\n",
		       (unsigned long long)m->compress_blocks, (unsigned long long)m->compress_fast_blocks);
	printf("graph:         %llu nodes, %llu edges\n", (unsigned long long)m->node_count,
	       (unsigned long long)m->edge_count);
	if (m->extra_json)
		cli_print_report(stdout, m->extra_json);
}

int cmd_show(const struct cli *cli, int argc, char **argv)
{
	struct store_args a;
	struct snapshot_meta m;
	struct store *st;
	int rc = parse_args(argc, argv, ARG_JSON | ARG_ID | ARG_REMOTE, &a);

	if (rc)
		return rc;
	if (a.remote)
		return cmd_show_remote(cli, a.id, a.json);
	if (open_snapshot(cli, "show", a.id, &st, &m) < 0)
		return 1;
	if (a.json) {
		char *text = store_meta_to_json(&m);

		if (text)
			printf("%s\n", text);
		else
			fprintf(stderr, "heapsnap: show: out of memory\n");
		rc = text ? 0 : 1;
		free(text);
	} else {
		print_meta(st, &m);
	}
	store_meta_free(&m);
	store_close(st);
	return rc || fflush(stdout) != 0 ? 1 : 0;
}

int cmd_get(const struct cli *cli, int argc, char **argv)
{
	char blob[PATH_MAX + 80];
	struct store_args a;
	struct snapshot_meta m;
	struct store *st;
	int rc = parse_args(argc, argv, ARG_OUTPUT | ARG_ID | ARG_REMOTE, &a);

	if (rc)
		return rc;
	if (a.remote)
		return cmd_get_remote(cli, a.id, a.output);
	if (open_snapshot(cli, "get", a.id, &st, &m) < 0)
		return 1;
	store_blob_path(st, m.id, blob, sizeof(blob));
	if (a.output && strcmp(a.output, "-") != 0)
		rc = cli_get_to_file(blob, a.output);
	else
		rc = cli_decompress_to(blob, STDOUT_FILENO, "stdout") < 0 ? 1 : 0;
	store_meta_free(&m);
	store_close(st);
	return rc;
}

int cmd_rm(const struct cli *cli, int argc, char **argv)
{
	struct store_args a;
	struct snapshot_meta m;
	struct store *st;
	int rc = parse_args(argc, argv, ARG_ID, &a);

	if (rc)
		return rc;
	if (open_snapshot(cli, "rm", a.id, &st, &m) < 0)
		return 1;
	rc = store_remove(st, m.id);
	if (rc < 0)
		fprintf(stderr, "heapsnap: rm: cannot remove %s: %s\n", m.id, strerror(-rc));
	else
		printf("removed %s\n", m.id);
	store_meta_free(&m);
	store_close(st);
	return rc < 0 ? 1 : 0;
}
