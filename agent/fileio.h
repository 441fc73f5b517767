/* Small file helpers shared by the agent and the CLI. */
#ifndef HS_FILEIO_H
#define HS_FILEIO_H

#include <stddef.h>

/* Write all len bytes of buf to fd, retrying on EINTR and short writes.
 * Returns 0, or -errno. */
int write_all(int fd, const void *buf, size_t len);

#endif
