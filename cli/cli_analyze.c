// SPDX-License-Identifier: Apache-2.0
/* heapsnap diff and heapsnap summary: compare two snapshots per class (DevTools'
 * Comparison view) or show one snapshot per class with retained sizes (Summary
 * view). Arguments are snapshot files (.heapsnapshot or .gz) or store ids. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/config.h"
#include "cli.h"
#include "cli_analyze.h"
#include "cli_remote.h"
#include "snapshot/diff.h"
#include "snapshot/dominators.h"
#include "snapshot/parse.h"
#include "snapshot/report.h"
#include "store/store.h"

#define DEFAULT_TEXT_TOP 30

struct analyze_opts {
	bool json;
	bool report;
	bool remote;          /* --remote: ids are looked up in the [upload] bucket */
	size_t top;
	bool top_set;
	char *args[2];
	int nargs;
};

/* A file path as given, or the blob of a store id. 0, or 1 after printing why. */
static int resolve_snapshot(const struct cli *cli, const char *arg, char *path, size_t len)
{
	struct stat st;
	if (cli->remote)
		return cli_remote_fetch(cli, arg, path, len);
	if (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
		snprintf(path, len, "%s", arg);
		return 0;
	}
	if (strchr(arg, '/') || !cli->store_dir) {
		fprintf(stderr, "heapsnap: %s: %s\n", arg, stat(arg, &st) == 0 ?
			"not a regular file" : "no such file (or snapshot id)");
		return 1;
	}
	char err[512];
	struct store *store = NULL;
	struct snapshot_meta meta;
	memset(&meta, 0, sizeof(meta));
	if (store_open(cli->store_dir, false, &store, err, sizeof(err)) < 0) {
		fprintf(stderr, "heapsnap: %s: not a file, and the store is unavailable: %s\n", arg, err);
		return 1;
	}
	int rc = store_get(store, arg, &meta);
	if (rc == 0)
		store_blob_path(store, meta.id, path, len);
	else
		fprintf(stderr, "heapsnap: %s: %s\n", arg, rc == -EINVAL ?
			"ambiguous snapshot id prefix" : "no such file or snapshot id");
	if (rc == 0)
		store_meta_free(&meta);
	store_close(store);
	return rc == 0 ? 0 : 1;
}

static int parse_opts(int argc, char **argv, int want_args, struct analyze_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "report", no_argument, NULL, 'r' },
		{ "remote", no_argument, NULL, 'R' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((opt = getopt_long(argc, argv, "jt:h", longopts, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 'j': o->json = true; break;
		case 'r': o->report = true; break;
		case 'R': o->remote = true; break;
		case 't':
			errno = 0;
			o->top = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-') {
				fprintf(stderr, "heapsnap: %s: --top wants a number, got \"%s\"\n", argv[0], optarg);
				return 2;
			}
			o->top_set = true;
			break;
		default: return 2;
		}
	}
	if (argc - optind != want_args)
		return 2;
	for (int i = 0; i < want_args; i++)
		o->args[i] = argv[optind + i];
	o->nargs = want_args;
	if (!o->top_set && !o->json)
		o->top = DEFAULT_TEXT_TOP;
	return 0;
}

static int print_json(json_t *j)
{
	if (!j) {
		fprintf(stderr, "heapsnap: out of memory\n");
		return 1;
	}
	int rc = json_dumpf(j, stdout, JSON_INDENT(1)) == 0 ? 0 : 1;
	putchar('\n');
	json_decref(j);
	return rc;
}

static int load(const char *path, unsigned flags, struct hs_snapshot **s)
{
	char err[512];
	if (hs_snapshot_load(path, flags, s, err, sizeof(err)) < 0) {
		fprintf(stderr, "heapsnap: %s: %s\n", path, err);
		return 1;
	}
	return 0;
}

/* The report the agent would attach, under the same [report] max_mb. */
static int print_report(const struct cli *cli, const char *base_path, const char *new_path)
{
	char err[1024];
	json_t *report;
	uint64_t max = config_report_max_bytes(cli->cfg);
	int rc = hs_report_build_max(base_path, new_path, max, &report, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "heapsnap: %s%s\n", err, rc == -EFBIG ? " (report.max_mb)" : "");
		return 1;
	}
	return print_json(report);
}

int cmd_diff(const struct cli *cli, int argc, char **argv)
{
	struct analyze_opts o;
	char base_path[PATH_MAX], new_path[PATH_MAX], err[512];
	struct hs_snapshot *base = NULL, *snew = NULL;
	struct hs_diff d = { 0 };
	int rc;
	if (parse_opts(argc, argv, 2, &o)) {
		fprintf(stderr, "usage: heapsnap diff BASE NEW [--json] [--top N] [--report]\n"
			"  --report  print the agent's leak report (top_growth, retainer_path) as JSON\n"
			"  --remote  BASE and NEW are ids in the [upload] bucket\n");
		return 2;
	}
	struct cli c = *cli;
	c.remote = o.remote;
	cli = &c;
	rc = resolve_snapshot(cli, o.args[0], base_path, sizeof(base_path));
	if (!rc)
		rc = resolve_snapshot(cli, o.args[1], new_path, sizeof(new_path));
	if (!rc && o.report)
		return print_report(cli, base_path, new_path);
	if (!rc)
		rc = load(base_path, HS_PARSE_SKIP_EDGES, &base);
	if (!rc)
		rc = load(new_path, HS_PARSE_SKIP_EDGES, &snew);
	if (!rc && hs_diff_compute(base, snew, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "heapsnap: diff: %s\n", err);
		rc = 1;
	}
	if (!rc) {
		if (o.json)
			rc = print_json(hs_diff_to_json(&d, o.top));
		else
			hs_diff_print(stdout, &d, o.top);
	}
	hs_diff_free(&d);
	hs_snapshot_free(base);
	hs_snapshot_free(snew);
	return rc;
}

int cmd_summary(const struct cli *cli, int argc, char **argv)
{
	struct analyze_opts o;
	char path[PATH_MAX], err[512];
	struct hs_snapshot *s = NULL;
	struct hs_dominators *dom = NULL;
	struct hs_summary sum = { 0 };
	int rc;
	if (parse_opts(argc, argv, 1, &o)) {
		fprintf(stderr, "usage: heapsnap summary ID|FILE [--json] [--top N] [--report] [--remote]\n"
			"  --report  print the leak report the agent makes without a baseline (basis summary)\n");
		return 2;
	}
	struct cli c = *cli;
	c.remote = o.remote;
	cli = &c;
	rc = resolve_snapshot(cli, o.args[0], path, sizeof(path));
	if (!rc && o.report)
		return print_report(cli, NULL, path);
	if (!rc)
		rc = load(path, HS_PARSE_SKIP_EDGE_NAMES | HS_PARSE_SKIP_NODE_IDS, &s);
	if (!rc && (hs_dominators_compute_consume(s, &dom, err, sizeof(err)) < 0 ||
		    hs_summary_compute(s, dom, &sum, err, sizeof(err)) < 0)) {
		fprintf(stderr, "heapsnap: %s: %s\n", path, err);
		rc = 1;
	}
	if (!rc) {
		if (o.json)
			rc = print_json(hs_summary_to_json(&sum, o.top));
		else
			hs_summary_print(stdout, &sum, o.top);
	}
	hs_summary_free(&sum);
	hs_dominators_free(dom);
	hs_snapshot_free(s);
	return rc;
}
