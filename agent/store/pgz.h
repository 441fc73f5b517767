// SPDX-License-Identifier: Apache-2.0
/* Parallel gzip: one plain gzip member (RFC 1952) written by several deflate threads,
 * the way pigz does it. The input is cut into blocks; each block is deflated on its
 * own (raw deflate, the previous 32 KiB of input as its dictionary, so matches still
 * reach back across the cut) and ends with a sync flush (byte-aligned, not final);
 * the last block ends the stream. The blocks' outputs are concatenated in order
 * behind one gzip header, then the CRC-32 of the whole input (crc32_combine of the
 * blocks') and its length. Any gzip reader (zlib, /bin/gzip, zcat) reads the result.
 *
 * Threads: `threads` deflate workers; the caller's thread copies input into blocks
 * and hands every finished block's bytes to the sink, in order, itself (so the sink
 * needs no locking). Memory is bounded: threads + 2 blocks in flight; pgz_write
 * waits (back-pressure) when all are taken.
 *
 * Adaptive level: a block queued while more blocks are in flight than there are
 * workers (compression is behind the producer: it would wait for a worker) is deflated at
 * PGZ_FAST_LEVEL instead of the configured level; pgz_fast_blocks counts them. On
 * unless opts.fixed_level (the store leaves it on): the output is one valid gzip stream
 * either way, only its size changes. */
#ifndef HS_PGZ_H
#define HS_PGZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGZ_DICT_BYTES 32768u
#define PGZ_MIN_BLOCK_BYTES (128u * 1024)
#define PGZ_FAST_LEVEL 1

struct pgz_opts {
	int level;                 /* zlib 1..9 */
	unsigned threads;          /* deflate workers, >= 1 */
	size_t block_bytes;        /* input per block, >= PGZ_MIN_BLOCK_BYTES */
	bool fixed_level;          /* no adaptive level: every block at `level` (tests of size) */
};

/* Receives the compressed stream in order, from the thread that calls pgz_write and
 * pgz_finish. 0, or a negative errno that pgz then returns from every later call. */
typedef int (*pgz_sink_fn)(const void *buf, size_t len, void *ctx);

struct pgz;

/* 0, or -EINVAL (bad options), -ENOMEM, -EAGAIN (no thread). */
int pgz_new(const struct pgz_opts *opts, pgz_sink_fn sink, void *ctx, struct pgz **out);
/* Append input. 0, or the first failure: the sink's errno, or -EIO (zlib). */
int pgz_write(struct pgz *z, const void *buf, size_t len);
/* Compress the rest, write the trailer. 0 or the first failure. Call once. */
int pgz_finish(struct pgz *z);
/* Bytes handed to the sink so far. */
uint64_t pgz_out_bytes(const struct pgz *z);
/* Blocks queued so far (all of them after pgz_finish). */
uint64_t pgz_blocks(const struct pgz *z);
/* Of them, the blocks deflated at PGZ_FAST_LEVEL because compression was behind. */
uint64_t pgz_fast_blocks(const struct pgz *z);
/* Stops the workers, frees everything. Accepts NULL. */
void pgz_free(struct pgz *z);

#endif
