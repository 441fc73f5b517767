// SPDX-License-Identifier: Apache-2.0
/* heapsnap get's output, for the store (cli_store.c) and the bucket (cli_remote.c). */
#ifndef HS_CLI_BLOB_H
#define HS_CLI_BLOB_H

/* Decompress a .gz snapshot into fd (verified complete), or FILE written atomically.
 * 0, or a negative errno after printing why. */
int cli_decompress_to(const char *blob, int out_fd, const char *out_name);
int cli_get_to_file(const char *blob, const char *path);

#endif
