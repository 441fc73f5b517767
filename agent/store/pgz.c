// SPDX-License-Identifier: Apache-2.0
/* Parallel gzip (see pgz.h). Block k lives in slots[k % nslots]; the caller fills
 * block `fill`, workers deflate queued blocks, the caller writes blocks out in order
 * from `written`. A slot is reused only after it was written out, and a block's
 * dictionary is copied from the previous slot while that one still holds its input
 * (nslots >= 3).
 *
 * Adaptive level: a block queued while compression is behind the producer (with it,
 * more blocks wait to be compressed or written out than there are workers: it would
 * wait for a worker) is deflated at level 1 instead. A producer that cannot be slowed without cost (V8
 * writing into a pipe) then waits less; a producer that compression keeps up with gets
 * the configured level throughout. Deflate's blocks carry no level, so the stream stays
 * one plain deflate stream whatever mix of levels made it. */
#include "store/pgz.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	uint64_t seq;
	unsigned char *in;         /* dictionary (dict_len) then the block (in_len) */
	size_t dict_len, in_len;
	unsigned char *out;
	size_t out_cap, out_len;
	uLong crc;                 /* of the block's own input */
	int level;                 /* the configured one, or PGZ_FAST_LEVEL (behind) */
	bool last;
	int rc;                    /* 0 or -EIO / -ENOMEM from the worker */
};

struct pgz {
	int level;
	bool adaptive;             /* !opts.fixed_level */
	size_t block;
	unsigned nthreads, nslots, started;
	struct slot *slots;
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	bool stopping;
	uint64_t fill, written;    /* block being filled; next block to write out */
	pgz_sink_fn sink;
	void *ctx;
	uLong crc;
	uint64_t isize, out_bytes;
	uint64_t fast_blocks;      /* blocks deflated at PGZ_FAST_LEVEL (caller only) */
	bool header_sent;
	bool filling;              /* slots[fill % nslots] is being filled (caller only) */
	int failed;
};

/* ---- workers ---------------------------------------------------------------------- */

/* The oldest queued slot, or NULL. Under z->lock. */
static struct slot *next_queued(struct pgz *z)
{
	struct slot *best = NULL;

	for (unsigned i = 0; i < z->nslots; i++) {
		struct slot *s = &z->slots[i];

		if (s->state == SLOT_QUEUED && (!best || s->seq < best->seq))
			best = s;
	}
	return best;
}

static int grow_out(struct slot *s, z_stream *strm)
{
	size_t used = s->out_cap - strm->avail_out;
	unsigned char *bigger = realloc(s->out, s->out_cap * 2);

	if (!bigger)
		return -ENOMEM;
	s->out = bigger;
	strm->next_out = s->out + used;
	strm->avail_out = (uInt)(s->out_cap * 2 - used);
	s->out_cap *= 2;
	return 0;
}

/* One block: raw deflate, dictionary = the previous 32 KiB, sync flush (or finish). */
static int deflate_block(struct slot *s, z_stream *strm)
{
	int flush = s->last ? Z_FINISH : Z_SYNC_FLUSH, zrc;

	if (deflateReset(strm) != Z_OK)
		return -EIO;
	if (s->dict_len && deflateSetDictionary(strm, s->in, (uInt)s->dict_len) != Z_OK)
		return -EIO;
	strm->next_in = s->in + s->dict_len;
	strm->avail_in = (uInt)s->in_len;
	strm->next_out = s->out;
	strm->avail_out = (uInt)s->out_cap;
	for (;;) {
		zrc = deflate(strm, flush);
		if (zrc == Z_STREAM_ERROR)
			return -EIO;
		bool complete = s->last ? zrc == Z_STREAM_END : strm->avail_in == 0 && strm->avail_out > 0;
		if (complete)
			break;
		if (strm->avail_out == 0 && grow_out(s, strm) < 0)
			return -ENOMEM;
	}
	s->out_len = s->out_cap - strm->avail_out;
	s->crc = crc32(0L, s->in + s->dict_len, (uInt)s->in_len);
	return 0;
}

/* A worker's deflate streams: [0] at the configured level, [1] at PGZ_FAST_LEVEL, each
 * made the first time a block needs it (one stream per level rather than deflateParams,
 * whose effect on a reset stream has changed between zlib versions). */
struct streams {
	z_stream strm[2];
	bool ready[2];
	bool broken;               /* an init failed: every later block fails (-ENOMEM) */
};

static z_stream *stream_for(struct streams *w, int level, bool fast)
{
	int i = fast ? 1 : 0;

	if (!w->ready[i] && !w->broken) {
		memset(&w->strm[i], 0, sizeof(w->strm[i]));
		w->ready[i] = deflateInit2(&w->strm[i], level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
		w->broken = !w->ready[i];
	}
	return w->ready[i] ? &w->strm[i] : NULL;
}

static void *worker_main(void *arg)
{
	struct pgz *z = arg;
	struct streams w;

	memset(&w, 0, sizeof(w));
	pthread_mutex_lock(&z->lock);
	for (;;) {
		struct slot *s = next_queued(z);

		if (!s && z->stopping)
			break;
		if (!s) {
			pthread_cond_wait(&z->work, &z->lock);
			continue;
		}
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&z->lock);
		z_stream *strm = stream_for(&w, s->level, s->level != z->level);
		int rc = strm ? deflate_block(s, strm) : -ENOMEM;
		pthread_mutex_lock(&z->lock);
		s->rc = rc;
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&z->done);
	}
	pthread_mutex_unlock(&z->lock);
	for (int i = 0; i < 2; i++)
		if (w.ready[i])
			deflateEnd(&w.strm[i]);
	return NULL;
}

/* ---- the caller's side ------------------------------------------------------------ */

static int fail(struct pgz *z, int rc)
{
	if (!z->failed)
		z->failed = rc;
	return z->failed;
}

static int send_out(struct pgz *z, const void *buf, size_t len)
{
	int rc = z->sink(buf, len, z->ctx);

	if (rc < 0)
		return fail(z, rc);
	z->out_bytes += len;
	return 0;
}

/* RFC 1952 header: no name, mtime 0, OS Unix; XFL as zlib sets it. */
static int send_header(struct pgz *z)
{
	unsigned char h[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

	h[8] = z->level == 9 ? 2 : z->level == 1 ? 4 : 0;
	z->header_sent = true;
	return send_out(z, h, sizeof(h));
}

/* Write out block `written` once a worker is done with it (wait: block until it is). */
static int write_next(struct pgz *z, bool wait)
{
	struct slot *s = &z->slots[z->written % z->nslots];

	pthread_mutex_lock(&z->lock);
	while (wait && s->state != SLOT_DONE)
		pthread_cond_wait(&z->done, &z->lock);
	bool ready = s->state == SLOT_DONE && s->seq == z->written;
	pthread_mutex_unlock(&z->lock);
	if (!ready)
		return 1;
	if (s->rc < 0)
		fail(z, s->rc == -ENOMEM ? -ENOMEM : -EIO);
	if (!z->failed && !z->header_sent)
		send_header(z);
	if (!z->failed)
		send_out(z, s->out, s->out_len);
	z->crc = crc32_combine(z->crc, s->crc, (z_off_t)s->in_len);
	z->isize += s->in_len;
	pthread_mutex_lock(&z->lock);
	s->state = SLOT_FREE;
	pthread_mutex_unlock(&z->lock);
	z->written++;
	return z->failed;
}

/* Write out every finished block at the head of the line, without waiting. */
static int drain_ready(struct pgz *z)
{
	while (z->written < z->fill) {
		int rc = write_next(z, false);

		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

/* Make slot[fill] the block being filled: wait for its previous use to be written out,
 * copy the dictionary from the block before it. */
static int start_block(struct pgz *z)
{
	struct slot *s = &z->slots[z->fill % z->nslots];

	while (z->fill - z->written >= z->nslots)
		if (write_next(z, true) < 0)
			return z->failed;
	s->seq = z->fill;
	s->in_len = 0;
	s->dict_len = 0;
	s->last = false;
	s->rc = 0;
	if (z->fill > 0) {
		const struct slot *prev = &z->slots[(z->fill - 1) % z->nslots];

		s->dict_len = prev->in_len < PGZ_DICT_BYTES ? prev->in_len : PGZ_DICT_BYTES;
		memcpy(s->in, prev->in + prev->dict_len + prev->in_len - s->dict_len, s->dict_len);
	}
	pthread_mutex_lock(&z->lock);
	s->state = SLOT_FILLING;
	pthread_mutex_unlock(&z->lock);
	z->filling = true;
	return 0;
}

/* Behind: with this block queued, more blocks are not yet written out than there are
 * workers. Blocks already done are written out first, so only compression still to do
 * counts. Measured (docs/benchmarks.md, P3): the stricter "every slot taken" let V8
 * wait on the pipe 2.4x its own writing time; this one 1.34x, as all of level 1 did. */
static int level_for_next(struct pgz *z)
{
	drain_ready(z);
	if (z->adaptive && z->level > PGZ_FAST_LEVEL && z->fill + 1 - z->written > z->nthreads) {
		z->fast_blocks++;
		return PGZ_FAST_LEVEL;
	}
	return z->level;
}

static void queue_block(struct pgz *z, struct slot *s)
{
	s->level = level_for_next(z);
	pthread_mutex_lock(&z->lock);
	s->state = SLOT_QUEUED;
	pthread_cond_signal(&z->work);
	pthread_mutex_unlock(&z->lock);
	z->filling = false;
	z->fill++;
}

int pgz_write(struct pgz *z, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0 && !z->failed) {
		struct slot *s = &z->slots[z->fill % z->nslots];

		if (!z->filling && start_block(z) < 0)
			break;
		size_t room = z->block - s->in_len, n = len < room ? len : room;

		memcpy(s->in + s->dict_len + s->in_len, p, n);
		s->in_len += n;
		p += n;
		len -= n;
		if (s->in_len == z->block)
			queue_block(z, s);
	}
	return z->failed;
}

int pgz_finish(struct pgz *z)
{
	struct slot *s = &z->slots[z->fill % z->nslots];
	unsigned char trailer[8];

	if (z->failed)
		return z->failed;
	if (!z->filling && start_block(z) < 0)
		return z->failed;
	s->last = true;
	queue_block(z, s);
	while (z->written < z->fill && !z->failed)
		write_next(z, true);
	if (z->failed)
		return z->failed;
	for (int i = 0; i < 4; i++) {
		trailer[i] = (unsigned char)(z->crc >> (8 * i));
		trailer[4 + i] = (unsigned char)(z->isize >> (8 * i));
	}
	return send_out(z, trailer, sizeof(trailer));
}

uint64_t pgz_out_bytes(const struct pgz *z)
{
	return z->out_bytes;
}

uint64_t pgz_blocks(const struct pgz *z)
{
	return z->fill;
}

uint64_t pgz_fast_blocks(const struct pgz *z)
{
	return z->fast_blocks;
}

/* ---- life cycle ------------------------------------------------------------------- */

static int alloc_slots(struct pgz *z)
{
	size_t out_cap = compressBound((uLong)z->block) + 64;

	z->slots = calloc(z->nslots, sizeof(*z->slots));
	if (!z->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < z->nslots; i++) {
		z->slots[i].in = malloc(PGZ_DICT_BYTES + z->block);
		z->slots[i].out = malloc(out_cap);
		z->slots[i].out_cap = out_cap;
		if (!z->slots[i].in || !z->slots[i].out)
			return -ENOMEM;
	}
	return 0;
}

int pgz_new(const struct pgz_opts *o, pgz_sink_fn sink, void *ctx, struct pgz **out)
{
	struct pgz *z;
	int rc;

	*out = NULL;
	if (o->level < 1 || o->level > 9 || o->threads < 1 || o->threads > 64 ||
	    o->block_bytes < PGZ_MIN_BLOCK_BYTES || o->block_bytes > (64u << 20))
		return -EINVAL;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->level = o->level;
	z->adaptive = !o->fixed_level;
	z->block = o->block_bytes;
	z->nthreads = o->threads;
	z->nslots = o->threads + 2;
	z->sink = sink;
	z->ctx = ctx;
	z->crc = crc32(0L, Z_NULL, 0);
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->work, NULL);
	pthread_cond_init(&z->done, NULL);
	z->threads = calloc(z->nthreads, sizeof(*z->threads));
	rc = z->threads ? alloc_slots(z) : -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < z->nthreads; i++) {
		if (pthread_create(&z->threads[i], NULL, worker_main, z) != 0)
			rc = -EAGAIN;
		else
			z->started++;
	}
	if (rc < 0) {
		pgz_free(z);
		return rc;
	}
	*out = z;
	return 0;
}

void pgz_free(struct pgz *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->lock);
	z->stopping = true;
	/* a block nobody will write out must not be compressed */
	for (unsigned i = 0; z->slots && i < z->nslots; i++)
		if (z->slots[i].state == SLOT_QUEUED)
			z->slots[i].state = SLOT_FREE;
	pthread_cond_broadcast(&z->work);
	pthread_mutex_unlock(&z->lock);
	for (unsigned i = 0; i < z->started; i++)
		pthread_join(z->threads[i], NULL);
	for (unsigned i = 0; z->slots && i < z->nslots; i++) {
		free(z->slots[i].in);
		free(z->slots[i].out);
	}
	free(z->slots);
	free(z->threads);
	pthread_mutex_destroy(&z->lock);
	pthread_cond_destroy(&z->work);
	pthread_cond_destroy(&z->done);
	free(z);
}
