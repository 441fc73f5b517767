// SPDX-License-Identifier: Apache-2.0
/* Retry delays: exponential backoff with jitter, for every client that sends to a
 * remote through the senders (Alertmanager, webhook); the uploader has its own
 * (upload/queue.h).
 * Retry n (1 = the first retry) waits a random time in [d/2, d], d = min(max_ms,
 * base_ms * 2^(n-1)) ("equal jitter": never less than half the step, so a dead
 * receiver is not hammered, and clients that failed together spread out). */
#ifndef HS_BACKOFF_H
#define HS_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint32_t base_ms;
	uint32_t max_ms;
	uint64_t rng;                  /* xorshift64 state; any non-zero seed */
};

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms, uint64_t seed);
/* Delay before retry number attempt (>= 1; 0 is treated as 1). */
uint32_t backoff_delay_ms(struct backoff *b, unsigned attempt);

#endif
