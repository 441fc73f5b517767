/* Placeholder: replaced by the real cli_analyze.c. */
#include <stdio.h>
#include "cli.h"
int cmd_diff(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: diff: not built yet\n");
	return 1;
}
int cmd_summary(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: summary: not built yet\n");
	return 1;
}
