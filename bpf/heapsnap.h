// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Types shared by bpf/heapsnap.bpf.c and the agent. Fixed-width types only, no includes. */
#ifndef HEAPSNAP_H
#define HEAPSNAP_H

#define HS_MAX_NAMES 8      /* executable basenames that count as Node */
#define HS_NAME_LEN 16      /* TASK_COMM_LEN */
#define HS_MAX_WATCHED 8192 /* watched processes */

/* Per watched process, keyed by tgid. User space writes arm_bytes; the BPF
 * program writes rss_bytes/peak_bytes and, when RSS reaches arm_bytes, emits one
 * HS_EV_RSS_CROSSED and disarms (arm_bytes = ~0) until user space re-arms. */
struct hs_watch {
	__u64 arm_bytes;
	__u64 rss_bytes;
	__u64 peak_bytes;
	__u64 updates;   /* rss_stat events seen for this process */
};

enum hs_event_kind {
	HS_EV_EXEC = 1,        /* a process exec'ed a binary whose basename is in the list;
				  its entry in watched is made (unarmed) before the event:
				  arm_bytes ~0, or 0 when the table was full */
	HS_EV_EXIT = 2,        /* a watched process's leader exited */
	HS_EV_RSS_CROSSED = 3, /* a watched process's RSS reached its arm level */
};

struct hs_event {
	__u32 kind;
	__u32 pid;          /* tgid */
	__u64 rss_bytes;
	__u64 arm_bytes;
	__u64 ktime_ns;
	char comm[HS_NAME_LEN];
};

#endif
