// SPDX-License-Identifier: Apache-2.0
/* heapsnap — the operator's command: list, show, fetch, remove and compare stored
 * heap snapshots, and show what the running agent watches. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/version.h"
#include "cli.h"
#include "cli_analyze.h"
#include "cli_ps.h"
#include "cli_store.h"

static const char usage_text[] =
	"usage: heapsnap [-c CONFIG] [--store DIR] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  list [--json]                 stored snapshots, oldest first\n"
	"  list --remote [--host H] [--app A] [--container C] [--since T] [--json] [--stats]\n"
	"                                snapshots in the [upload] bucket, every host (T: ISO-8601\n"
	"                                UTC like 2026-12-01T20:00:00Z, or an age: 30m, 2h, 7d)\n"
	"  show ID --remote, get ID --remote [-o FILE], diff BASE NEW --remote, summary ID --remote\n"
	"                                the same, with ids from the [upload] bucket\n"
	"  show ID [--json]              one snapshot's metadata (an id prefix is enough)\n"
	"  get ID [-o FILE]              the snapshot, decompressed (stdout by default)\n"
	"  rm ID                         remove a snapshot\n"
	"  diff BASE NEW [--json] [--top N]  compare two snapshots (ids or files), per class\n"
	"  diff BASE NEW --report        the leak report the agent attaches to a capture (JSON)\n"
	"  summary ID|FILE [--json] [--top N] per class count, shallow and retained size\n"
	"  ps [--json]                   processes the running agent watches\n"
	"\n"
	"  -c CONFIG     config file (default /etc/heapsnap/heapsnap.ini if it exists)\n"
	"  --store DIR   snapshot store, overrides the config's [store] dir\n"
	"  -h, --help    this text\n"
	"  -V, --version version, commit and libbpf version\n"
	"See heapsnap(1).\n";

struct command {
	const char *name;
	int (*run)(const struct cli *cli, int argc, char **argv);
};

static const struct command commands[] = {
	{ "list", cmd_list }, { "show", cmd_show }, { "get", cmd_get }, { "rm", cmd_rm },
	{ "diff", cmd_diff }, { "summary", cmd_summary }, { "ps", cmd_ps },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	static struct config cfg;
	struct cli cli = { 0 };
	int opt;

	/* '+': stop at the subcommand, its options are its own. */
	while ((opt = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cli.config_path = optarg; break;
		case 's': cli.store_dir = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': version_print(stdout, "heapsnap"); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}

	config_defaults(&cfg);
	if (!cli.config_path && access("/etc/heapsnap/heapsnap.ini", R_OK) == 0)
		cli.config_path = "/etc/heapsnap/heapsnap.ini";
	if (cli.config_path) {
		char err[512];
		if (config_load(&cfg, cli.config_path, err, sizeof(err)) < 0) {
			fprintf(stderr, "heapsnap: %s\n", err);
			return 2;
		}
	}
	if (!cli.store_dir)
		cli.store_dir = cfg.store_dir;
	cli.state_socket = cfg.state_socket;
	cli.cfg = &cfg;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(&cli, argc - optind, argv + optind);
	}
	fprintf(stderr, "heapsnap: unknown command '%s'\n%s", argv[optind], usage_text);
	return 2;
}
