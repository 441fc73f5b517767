// SPDX-License-Identifier: Apache-2.0
/* Bench driver: store a raw snapshot file through the store's writer, fed in 64 KiB
 * pieces the way a capture route feeds it, as fast as it can be read (no V8 to wait
 * for: the compressor's own cost).
 *   store_put STORE_DIR SNAPSHOT LEVEL  ->  "<id> <gzip bytes> <raw bytes> <ms>"
 * Built against this tree's library or, for the "before" column, an older one (the
 * store API it uses has not changed). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static char buf[64 * 1024];
	static struct snapshot_meta meta;
	char err[1024];
	struct store *st;
	ssize_t n;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: store_put STORE_DIR SNAPSHOT LEVEL\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || store_open(argv[1], true, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_put: %s\n", fd < 0 ? "cannot open the snapshot" : err);
		return 1;
	}
	meta.pid = getpid();
	snprintf(meta.host, sizeof(meta.host), "bench");
	snprintf(meta.reason, sizeof(meta.reason), "manual");
	snprintf(meta.method, sizeof(meta.method), "signal");
	double t0 = now_ms();
	struct store_writer *w = store_writer_begin(st, &meta, atoi(argv[3]), err, sizeof(err));
	if (!w) {
		fprintf(stderr, "store_put: %s\n", err);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (store_writer_write(w, buf, (size_t)n) < 0)
			break;
	if (store_writer_commit(w, &meta, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_put: %s\n", err);
		return 1;
	}
	printf("%s %llu %llu %.0f\n", meta.id, (unsigned long long)meta.size_bytes, (unsigned long long)meta.raw_bytes,
	       now_ms() - t0);
	store_close(st);
	close(fd);
	return 0;
}
