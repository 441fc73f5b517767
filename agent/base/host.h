// SPDX-License-Identifier: Apache-2.0
/* Facts of the host the agent runs on. */
#ifndef HS_HOST_H
#define HS_HOST_H

#include <stddef.h>

/* /etc/machine-id (32 hex), "" if unreadable. */
void host_machine_id(char *out, size_t len);

#endif
