// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the streaming snapshot verifier: the input is fed in pieces
 * whose sizes come from the first bytes, and the same input fed whole and fed in
 * pieces must get the same verdict (the verifier must not depend on where the
 * input is split). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/verify.h"

static int verdict(const uint8_t *data, size_t len, const uint8_t *splits, size_t nsplits,
		   struct snap_verify_info *info)
{
	struct snap_verify *v = snap_verify_new();
	char err[256];
	size_t off = 0, k = 0;
	int rc;

	if (!v)
		abort();
	while (off < len) {
		size_t n = nsplits ? 1 + splits[k++ % nsplits] % 64 : len - off;

		if (n > len - off)
			n = len - off;
		if (snap_verify_feed(v, data + off, n) < 0)
			break;
		off += n;
	}
	rc = snap_verify_finish(v, info, err, sizeof(err));
	if (rc < 0 && err[0] == '\0')
		abort();  /* every rejection has a reason */
	snap_verify_free(v);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_verify_info whole, pieces;
	size_t nsplits = size > 0 ? data[0] % 8 : 0;
	int a, b;

	if (size < 1 + nsplits)
		return 0;
	const uint8_t *splits = data + 1;
	data += 1 + nsplits;
	size -= 1 + nsplits;
	a = verdict(data, size, NULL, 0, &whole);
	b = verdict(data, size, splits, nsplits, &pieces);
	if (a != b)
		abort();
	if (a == 0 && (whole.nodes_len != pieces.nodes_len || whole.edges_len != pieces.edges_len ||
		       whole.strings != pieces.strings))
		abort();
	return 0;
}
