/* heapsnapd — placeholder main until the modules land. */
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "heapsnapd: not built yet\n");
	return 1;
}
