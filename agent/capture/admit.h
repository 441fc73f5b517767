// SPDX-License-Identifier: Apache-2.0
/* The memory guard's admission of one capture into the pool (decide/guard.h decides;
 * this waits, reserves, or refuses). */
#ifndef HS_CAPTURE_ADMIT_H
#define HS_CAPTURE_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/capturer.h"

bool guard_admit(struct worker *wk, const struct capture_job *job, bool signal_first,
		 struct capture_outcome *out, int64_t *waited_ms);

#endif
