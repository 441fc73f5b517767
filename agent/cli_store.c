/* Placeholder: replaced by the real cli_store.c. */
#include <stdio.h>
#include "cli.h"
int cmd_list(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: list: not built yet\n");
	return 1;
}
int cmd_show(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: show: not built yet\n");
	return 1;
}
int cmd_get(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: get: not built yet\n");
	return 1;
}
int cmd_rm(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: rm: not built yet\n");
	return 1;
}
