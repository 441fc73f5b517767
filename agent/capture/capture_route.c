// SPDX-License-Identifier: Apache-2.0
/* What the capture routes share (see capture_route.h). */
#include "capture/capture_route.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int capture_fail(struct capture_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EIO;
}
