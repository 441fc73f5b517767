// SPDX-License-Identifier: Apache-2.0
/* Exponential backoff with equal jitter (see backoff.h). */
#include "export/backoff.h"

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms, uint64_t seed)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static uint64_t next_random(struct backoff *b)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return x;
}

uint32_t backoff_delay_ms(struct backoff *b, unsigned attempt)
{
	uint64_t d = b->base_ms;

	for (unsigned i = 1; i < attempt && d < b->max_ms; i++)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	uint64_t half = d / 2;
	return (uint32_t)(half + next_random(b) % (d - half + 1));
}
