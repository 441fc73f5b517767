// SPDX-License-Identifier: Apache-2.0
/* Inspector route, the FIFO transport: mkfifo in the target's /tmp (resolved inside
 * /proc/PID/root with RESOLVE_IN_ROOT, made only where the target's user may create
 * files, judged from the directory's owner and mode bits, then chowned to it),
 * Runtime.evaluate v8.writeHeapSnapshot(fifo), and the raw bytes
 * read from the FIFO into the store while the evaluate runs. */
#ifndef HS_INSPECTOR_FIFO_H
#define HS_INSPECTOR_FIFO_H

#include "capture/inspector/inspector_session.h"
#include "track/procs.h"

struct fifo {
	int fd;
	int dirfd;                   /* the target's /tmp: still usable after the target died */
	char name[64];
	char inside[96];             /* the path as the target sees it */
	struct proc_creds creds;     /* the target's: where it may write, the FIFO is its */
};

/* 0, or -errno (the caller falls back to chunks). */
int inspector_fifo_create(struct session *s, struct fifo *f);
void inspector_fifo_destroy(struct fifo *f);
/* The snapshot through the FIFO: 0, or a negative errno with ctx->err. */
int inspector_fifo_snapshot(struct session *s, struct fifo *f, const struct wait_spec *w);

#endif
