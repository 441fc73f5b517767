// SPDX-License-Identifier: Apache-2.0
/* The kernel side as the agent sees it: load and attach bpf/heapsnap.bpf.c, and
 * keep its table of watched processes. Events (exec of a Node binary, exit of a
 * watched process, RSS crossing an armed level) arrive through a ring buffer whose
 * fd joins the agent's epoll loop. */
#ifndef HS_PROBES_H
#define HS_PROBES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "heapsnap.h"

struct probes;

typedef void (*probes_event_fn)(void *ctx, const struct hs_event *ev);

/* Open, load and attach. names: basenames that count as Node. On failure returns
 * NULL and writes one sentence naming what is missing into err. */
struct probes *probes_start(const char names[][HS_NAME_LEN], int count, probes_event_fn fn, void *ctx,
			    char *err, size_t errlen);
void probes_stop(struct probes *p);

int probes_fd(const struct probes *p);
/* Deliver pending events to fn. Returns events consumed or -errno. */
int probes_consume(struct probes *p);

/* Start watching pid (arm = RSS level to report, UINT64_MAX = none; rss_now seeds
 * the kernel's view until the first page fault updates it). */
int probes_watch(struct probes *p, pid_t pid, uint64_t arm_bytes, uint64_t rss_now);
/* Drop pid's entry (a process watched from its exec that turned out unwanted). */
int probes_unwatch(struct probes *p, pid_t pid);
/* Change the armed level; keeps the counters. */
int probes_arm(struct probes *p, pid_t pid, uint64_t arm_bytes);
/* The kernel's view of pid. 0, or -ENOENT when not watched. */
int probes_lookup(struct probes *p, pid_t pid, struct hs_watch *out);

#endif
