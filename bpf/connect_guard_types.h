// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Types shared by bpf/connect_guard.bpf.c and agent/capture/inspector/connect_guard.c. Fixed-width types
 * only, no includes. */
#ifndef CONNECT_GUARD_TYPES_H
#define CONNECT_GUARD_TYPES_H

#define CG_MAX_GUARDS 64    /* inspectors guarded at once (max_concurrent <= 64) */
#define CG_MAX_ALLOWED 256  /* the agent's own sockets allowed through at once */
#define CG_MAX_EXEMPT 16384 /* listening ports left alone while inspectors open (4096 each) */
#define CG_ANY_PORT 0       /* cg_key.port of an "opening" guard: every loopback port of the
                               netns but the exempt ones (those listening before the signal) */

/* One guarded inspector: a TCP port on the loopback of one network namespace. */
struct cg_key {
	__u64 netns_cookie;
	__u32 port;          /* host order; CG_ANY_PORT: the whole netns but exempt ports */
	__u32 pad;
};

struct cg_guard {
	__u64 refused;       /* connect() calls refused (written by the BPF program) */
	__u64 allowed;       /* the agent's own connects let through */
};

#endif
