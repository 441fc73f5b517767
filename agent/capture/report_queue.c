// SPDX-License-Identifier: Apache-2.0
#include "capture/report_queue.h"

int report_queue_next(const uint64_t *raw, unsigned n, unsigned busy, uint64_t busy_bytes, uint64_t max)
{
	if (busy >= REPORT_THREADS)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (busy == 0 || raw[i] > max || busy_bytes + raw[i] <= max)
			return (int)i;
	return -1;
}
