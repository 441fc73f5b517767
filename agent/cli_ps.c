/* Placeholder: replaced by the real cli_ps.c. */
#include <stdio.h>
#include "cli.h"
int cmd_ps(const struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "heapsnap: ps: not built yet\n");
	return 1;
}
