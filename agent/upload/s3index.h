// SPDX-License-Identifier: Apache-2.0
/* The bucket's index: small empty objects whose keys say what `list --remote` filters
 * on, so that a filtered listing lists only the keys that can match (one request per
 * 1000 of them) and fetches only their metadata, instead of every PREFIX/ID.json in
 * the bucket. Each snapshot has three entries, one per filter:
 *
 *   heapsnap-index/v1/host/HOST/ID/PREFIX     (HOST, APP, PREFIX percent-encoded: no '/')
 *   heapsnap-index/v1/app/APP/ID/PREFIX       (APP "-" when unknown)
 *   heapsnap-index/v1/time/ID/PREFIX
 *
 * ID starts with the capture's UTC time (20261127T081502Z-...), so keys sort by time
 * within a family, and a --since is a ListObjectsV2 start-after. The entry leads to
 * PREFIX/ID.json, which stays the one source of the metadata (an entry whose .json is
 * not there yet, or no more, is skipped). The agent writes the entries after the .gz is
 * verified and before ID.json, inside the same retried upload (durable: a failed or
 * interrupted upload is repeated, the keys are fixed per snapshot).
 *
 *   heapsnap-index/v1/complete/PREFIX
 *
 * says that every PREFIX/ID.json has its entries: an agent writes it once it has
 * indexed what older versions uploaded under its prefix. Prefixes without it (old
 * agents, hosts gone before the upgrade) are read the old way: every PREFIX/ID.json. */
#ifndef HS_S3INDEX_H
#define HS_S3INDEX_H

#include <stddef.h>

#include "upload/s3.h"

#define S3INDEX_ROOT "heapsnap-index/"
#define S3INDEX_V1 S3INDEX_ROOT "v1/"

enum s3index_family { S3INDEX_HOST, S3INDEX_APP, S3INDEX_TIME };

/* The listing prefix of a family: ".../host/HOST/", ".../app/APP/", ".../time/". 0 or
 * -ENAMETOOLONG. */
int s3index_family_prefix(enum s3index_family fam, const char *value, char *out, size_t outlen);
/* An entry's key (as above). 0 or -ENAMETOOLONG. */
int s3index_entry_key(enum s3index_family fam, const char *value, const char *id, const char *prefix, char *out,
		      size_t outlen);
/* An entry's key (any family) -> the snapshot's id and PREFIX/ID.json. 0 or -EINVAL. */
int s3index_parse_entry(const char *key, char *id, size_t idlen, char *json_key, size_t jsonlen);
/* The completeness marker of PREFIX, and the reverse. */
int s3index_complete_key(const char *prefix, char *out, size_t outlen);
int s3index_parse_complete(const char *key, char *prefix, size_t prefixlen);
/* Write the three entries of one snapshot. 0, or the failed request's errno (s3_error). */
int s3index_put(struct s3 *s3, const char *prefix, const char *id, const char *host, const char *app);

#endif
