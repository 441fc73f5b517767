// SPDX-License-Identifier: Apache-2.0
/* A stored snapshot blob (.gz), local or fetched from the bucket, to stdout or a file
 * (see cli_blob.h). */
#include "cli_blob.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/err.h"
#include "base/fileio.h"
#include "snapshot/verify.h"

/* Decompress the blob into out_fd, checking it is a complete snapshot. 0, or a negative
 * errno (-EIO: damaged or incomplete) after printing why. */
int cli_decompress_to(const char *blob, int out_fd, const char *out_name)
{
	static unsigned char buf[256 * 1024];
	struct snap_verify *v = snap_verify_new();
	char reason[200];
	int fd = open(blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), zerr = Z_OK, rc = 0;
	gzFile gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;

	if (!gz || !v) {
		rc = v ? ERR_ERRNO() : -ENOMEM;
		fprintf(stderr, "heapsnap: get: cannot open %s: %s\n", blob, strerror(-rc));
		if (fd >= 0 && !gz)
			close(fd);
		goto out;
	}
	gzbuffer(gz, 256 * 1024);
	for (;;) {
		int n = gzread(gz, buf, sizeof(buf));

		if (n <= 0) {
			const char *msg = gzerror(gz, &zerr);

			if (strncmp(msg, "<fd:", 4) == 0 && strstr(msg, ": "))
				msg = strstr(msg, ": ") + 2;  /* gzdopen names the file "<fd:N>" */

			if (n < 0 || zerr != Z_OK) {
				fprintf(stderr, "heapsnap: get: %s is damaged: %s\n", blob, msg);
				rc = -EIO;
			}
			break;
		}
		snap_verify_feed(v, buf, (size_t)n);
		int wrc = write_all(out_fd, buf, (size_t)n);
		if (wrc < 0) {
			fprintf(stderr, "heapsnap: get: write %s: %s\n", out_name, strerror(-wrc));
			rc = wrc;
			break;
		}
	}
	if (rc == 0 && snap_verify_finish(v, NULL, reason, sizeof(reason)) < 0) {
		fprintf(stderr, "heapsnap: get: %s is not a complete snapshot: %s\n", blob, reason);
		rc = -EIO;
	}
out:
	if (gz)
		gzclose(gz);
	snap_verify_free(v);
	return rc;
}

/* FILE written as FILE.XXXXXX, fsync, rename: never a half file under the name asked for. */
int cli_get_to_file(const char *blob, const char *path)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "heapsnap: get: %s: path too long\n", path);
		return 1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "heapsnap: get: cannot create %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	fchmod(fd, 0600);
	rc = cli_decompress_to(blob, fd, path);
	if (rc == 0 && fsync(fd) < 0) {
		rc = ERR_ERRNO();
		fprintf(stderr, "heapsnap: get: write %s: %s\n", path, strerror(-rc));
	}
	if (close(fd) < 0 && rc == 0) {
		rc = ERR_ERRNO();
		fprintf(stderr, "heapsnap: get: write %s: %s\n", path, strerror(-rc));
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = ERR_ERRNO();
		fprintf(stderr, "heapsnap: get: rename to %s: %s\n", path, strerror(-rc));
	}
	if (rc < 0)
		unlink(tmp);
	return rc < 0 ? 1 : 0;
}
