// SPDX-License-Identifier: Apache-2.0
/* The error convention of the agent and the CLI (docs/development.md, "Conventions"):
 *
 *   - A function that can fail returns an int: 0, or a non-negative value (an fd, a
 *     count), on success; a negative errno on failure (-ENOENT, -EINVAL for bad input,
 *     -EIO for a peer or a file that made no sense, -ENOMEM). Never -1 with errno set.
 *   - A pointer-returning constructor returns NULL on failure.
 *   - Where a human-readable reason must travel to the caller (a config line, an
 *     S3 error code, a path), the function also takes `char *msg, size_t msglen` (in
 *     older code `err, errlen`) and writes one sentence there; or, for an object that
 *     lives across calls, the module documents one error buffer (store_writer_error,
 *     s3_error, ...). The return value is still the negative errno.
 *   - Library code does not log what it returns; the caller logs it once.
 *   - Every printf-like helper has a literal format checked by the compiler
 *     (ERR_PRINTF below): no format string is chosen at run time.
 *   - strerror(-rc) for what a function returned, strerror(errno) only right after
 *     the system call that set it.
 */
#ifndef HS_ERR_H
#define HS_ERR_H

#include <errno.h>

#define ERR_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))

/* The negative errno of the system call that just failed (-EIO if it left errno 0). */
#define ERR_ERRNO() (errno ? -errno : -EIO)

#endif
