// SPDX-License-Identifier: Apache-2.0
/* Streaming parser of V8 heap snapshots into the compact arrays of parse.h.
 *
 * Hot path: a hand-written pull scanner instead of jansson, because it measured
 * an order of magnitude faster and smaller. On a 57 MiB Node 20 snapshot
 * (853 k nodes, 2.6 M edges): jansson's json_load_file alone took 4.3 s of CPU and
 * 535 MiB RSS (a JSON tree of every number); this scanner plus dominators and
 * the whole summary took 0.4 s and 105 MiB. The snapshot has a fixed shape (one
 * object whose "nodes" and "edges" are long arrays of unsigned integers), so
 * the integers go straight into typed arrays, with a fast path that parses
 * "digits, separator" from the buffer and a checked slow path at buffer ends.
 * Input comes through zlib's gzread, which recognises the gzip magic and passes
 * plain files through unchanged. Whitespace (newlines included) is allowed
 * anywhere JSON allows it; nothing depends on line structure.
 *
 * The nodes and edges arrays (nearly all of a snapshot's bytes) are read a window
 * at a time: the buffered text up to its last comma, 8 digits per step (SWAR), and
 * with more than one CPU the window is cut at a comma into two halves that two
 * threads parse into the same preallocated arrays (a value's slot follows from its
 * index, so the second half starts at the first half's comma count). A range stops
 * at the first value it does not take as it is (not an unsigned integer followed
 * by ',', out of range for its field, a self size of 4 GiB or more): the checked
 * one-value path reads that value, so errors and their byte offsets are the ones
 * the one-value path alone gives. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "snapshot/parse.h"

#define READ_CHUNK (4u << 20)
#define WINDOW_MAX (4u << 20)    /* text parsed per window (whole-buffer input too) */
#define SPLIT_MIN (128u << 10)   /* a smaller window is not worth a second thread */
#define HUGE_MIN (8u << 20)      /* arrays this large ask for transparent huge pages */
#define MAX_FIELDS 64
#define MAX_TYPES 255
#define MAX_TYPE_LISTS 64

enum field_role { F_IGNORE, F_TYPE, F_NAME, F_ID, F_SELF_SIZE, F_EDGE_COUNT, F_TO_NODE };

struct buf {
	char *d;
	size_t len, cap;
};

struct str_list {
	char **v;
	unsigned n;
};

struct parser {
	/* input */
	gzFile gz;
	uint8_t *chunk;               /* our read buffer (gz input only) */
	const uint8_t *p, *end;
	bool eof;
	uint64_t consumed;            /* bytes before p's buffer start */
	uint64_t max_input;           /* decompressed bytes allowed (0 = no limit) */
	const uint8_t *buf_start;
	/* state */
	const char *section;          /* where we are, for error messages */
	char section_buf[32];
	int failed;                   /* 0, or the first failure: -EINVAL (malformed, truncated), -ENOMEM */
	char *err;
	size_t errlen;
	struct buf tmp;               /* scratch for keys and meta strings */
	struct hs_snapshot *s;
	unsigned flags;
	/* from meta */
	struct str_list node_fields, edge_fields;
	struct str_list node_types[MAX_TYPE_LISTS], edge_types[MAX_TYPE_LISTS];
	unsigned node_types_n, edge_types_n;
	bool have_meta, have_nodes, have_edges, have_strings;
	uint64_t declared_nodes, declared_edges;
	bool declared_nodes_set, declared_edges_set;
	/* capacities of the growing arrays */
	size_t node_cap, edge_cap, string_cap;
	struct buf strings;
	struct splitter *split;       /* the second thread of the numeric arrays, or NULL */
	bool split_tried;
	uint64_t window_end;          /* input offset where the current numeric window ends */
};

/* ---- errors -------------------------------------------------------------- */

static uint64_t input_offset(const struct parser *ps)
{
	return ps->consumed + (uint64_t)(ps->p - ps->buf_start);
}

/* The first failure stays (its errno in ps->failed, its sentence in ps->err); every
 * later one returns it. */
static int fail_str(struct parser *ps, int rc, const char *what)
{
	if (ps->failed)
		return ps->failed;
	ps->failed = rc;
	snprintf(ps->err, ps->errlen, "malformed snapshot (inside %s, byte %llu): %s",
		 ps->section, (unsigned long long)input_offset(ps), what);
	return rc;
}

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fail_str(ps, -EINVAL, what);
}

/* Out of memory (growing an array to `entries`, when not 0). */
static int fail_oom(struct parser *ps, size_t entries)
{
	char what[64] = "out of memory";

	if (entries)
		snprintf(what, sizeof(what), "out of memory (%zu entries)", entries);
	return fail_str(ps, -ENOMEM, what);
}

static int fail_eof(struct parser *ps)
{
	if (ps->failed)
		return ps->failed;
	ps->failed = -EINVAL;
	snprintf(ps->err, ps->errlen, "truncated snapshot (inside %s)", ps->section);
	return ps->failed;
}

/* What a step that failed returns: the recorded failure (-EINVAL if none was recorded). */
static int failed(const struct parser *ps)
{
	return ps->failed ? ps->failed : -EINVAL;
}

/* ---- input --------------------------------------------------------------- */

/* The decompressed input passed max_input: what a few MB of gzip can expand to is
 * bounded before anything is parsed from it (the arrays grow with the input). */
static bool too_large(struct parser *ps)
{
	ps->eof = true;
	ps->p = ps->end;
	if (!ps->failed) {
		ps->failed = -EFBIG;
		snprintf(ps->err, ps->errlen, "snapshot larger than %llu MiB decompressed",
			 (unsigned long long)(ps->max_input >> 20));
	}
	return false;
}

/* Make at least `want` bytes available at p if the input has them. False at EOF
 * with nothing left, or on a read error. */
static bool ensure(struct parser *ps, size_t want)
{
	size_t have = (size_t)(ps->end - ps->p);
	if (have >= want)
		return true;
	if (!ps->gz || ps->eof)
		return have > 0;
	memmove(ps->chunk, ps->p, have);
	ps->consumed += (uint64_t)(ps->p - ps->buf_start);
	ps->buf_start = ps->chunk;
	ps->p = ps->chunk;
	ps->end = ps->chunk + have;
	while ((size_t)(ps->end - ps->p) < want && !ps->eof) {
		int n = gzread(ps->gz, (void *)ps->end, READ_CHUNK - (unsigned)(ps->end - ps->p));
		if (n < 0) {
			int zerr;
			const char *msg = gzerror(ps->gz, &zerr);
			const char *tail = strstr(msg, ">: ");
			if (strncmp(msg, "<fd:", 4) == 0 && tail)
				msg = tail + 3; /* drop zlib's "<fd:N>: " prefix */
			ps->eof = true;
			if (zerr != Z_BUF_ERROR) /* Z_BUF_ERROR = truncated gzip: reported as EOF */
				fail(ps, "gzip: %s", msg);
			break;
		}
		if (n == 0) {
			ps->eof = true;
			break;
		}
		ps->end += n;
		if (ps->max_input && ps->consumed + (uint64_t)(ps->end - ps->buf_start) > ps->max_input)
			return too_large(ps);
	}
	return ps->end > ps->p;
}

static inline bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Next non-blank byte without consuming it, or a negative errno at EOF (error set). */
static int peek(struct parser *ps)
{
	for (;;) {
		while (ps->p < ps->end && is_ws(*ps->p))
			ps->p++;
		if (ps->p < ps->end)
			return *ps->p;
		if (!ensure(ps, 1)) {
			fail_eof(ps);
			return failed(ps);
		}
	}
}

static int expect(struct parser *ps, char c)
{
	int got = peek(ps);
	if (got < 0)
		return failed(ps);
	if (got != c)
		return fail(ps, "expected '%c', found '%c'", c, got >= 0x20 && got < 0x7f ? got : '?');
	ps->p++;
	return 0;
}

/* After a value inside an array or object: 1 if ',' followed, 0 at the closing
 * bracket (consumed), -1 on error. */
static int next_or_close(struct parser *ps, char close)
{
	int c = peek(ps);
	if (c < 0)
		return failed(ps);
	ps->p++;
	if (c == ',')
		return 1;
	if (c == close)
		return 0;
	return fail(ps, "expected ',' or '%c'", close);
}

/* Open an array: 1 if it has elements, 0 if it is empty (and consumed). */
static int open_array(struct parser *ps)
{
	if (expect(ps, '[') < 0)
		return failed(ps);
	int c = peek(ps);
	if (c < 0)
		return failed(ps);
	if (c == ']') {
		ps->p++;
		return 0;
	}
	return 1;
}

static int read_uint(struct parser *ps, uint64_t *out)
{
	if (peek(ps) < 0)
		return failed(ps);
	ensure(ps, 24);
	const uint8_t *q = ps->p, *end = ps->end;
	uint64_t v = 0;
	unsigned digits = 0;
	while (q < end && *q >= '0' && *q <= '9') {
		if (++digits > 19)
			return fail(ps, "number too large");
		v = v * 10 + (uint64_t)(*q - '0');
		q++;
	}
	if (digits == 0)
		return fail(ps, "expected an unsigned integer");
	if (q == end && !ps->eof && ps->gz)
		return fail(ps, "number too long");
	ps->p = q;
	*out = v;
	return 0;
}

/* The hot path of "nodes" and "edges": one integer and its separator straight
 * from the buffer. False (nothing consumed) when the buffer ends before the
 * separator or the text is unusual; the checked slow path then takes over. */
static inline bool fast_value(const uint8_t **pp, const uint8_t *end, uint64_t *out, bool *last)
{
	const uint8_t *q = *pp;
	while (q < end && is_ws(*q))
		q++;
	const uint8_t *start = q;
	uint64_t v = 0;
	while (q < end && (uint8_t)(*q - '0') < 10)
		v = v * 10 + (uint64_t)(*q++ - '0');
	if (q == start || q - start > 19)
		return false;
	while (q < end && is_ws(*q))
		q++;
	if (q >= end || (*q != ',' && *q != ']'))
		return false;
	*last = *q == ']';
	*pp = q + 1;
	*out = v;
	return true;
}

/* One array element: 1 if more follow, 0 after the closing bracket, -1 on error. */
static inline int next_uint(struct parser *ps, uint64_t *v)
{
	bool last;
	if (fast_value(&ps->p, ps->end, v, &last))
		return last ? 0 : 1;
	if (read_uint(ps, v) < 0)
		return failed(ps);
	return next_or_close(ps, ']');
}

/* ---- strings ------------------------------------------------------------- */

static int buf_reserve(struct parser *ps, struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	char *d = realloc(b->d, cap);
	if (!d)
		return fail_oom(ps, 0);
	b->d = d;
	b->cap = cap;
	return 0;
}

static int buf_append(struct parser *ps, struct buf *b, const void *src, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(ps, b, n) < 0)
		return failed(ps);
	memcpy(b->d + b->len, src, n);
	b->len += n;
	return 0;
}

static int put_utf8(struct parser *ps, struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(ps, b, u, n);
}

static int read_hex4(struct parser *ps, uint32_t *out)
{
	if (!ensure(ps, 4) || ps->end - ps->p < 4)
		return fail_eof(ps);
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return fail(ps, "bad \\u escape");
	}
	*out = v;
	return 0;
}

/* \uXXXX, with surrogate pairs joined; a lone surrogate becomes U+FFFD so the
 * result is always valid UTF-8. */
static int read_unicode_escape(struct parser *ps, struct buf *b)
{
	uint32_t cp;
	if (read_hex4(ps, &cp) < 0)
		return failed(ps);
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (ensure(ps, 6) && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
			const uint8_t *save = ps->p;
			uint32_t lo;
			ps->p += 2;
			if (read_hex4(ps, &lo) < 0)
				return failed(ps);
			if (lo >= 0xdc00 && lo < 0xe000)
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			else {
				ps->p = save; /* still inside the buffer: ensure(6) held it */
				cp = 0xfffd;
			}
		} else {
			cp = 0xfffd;
		}
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		cp = 0xfffd;
	}
	return put_utf8(ps, b, cp);
}

static int read_escape(struct parser *ps, struct buf *b)
{
	if (!ensure(ps, 1))
		return fail_eof(ps);
	uint8_t c = *ps->p++;
	char out;
	switch (c) {
	case '"': out = '"'; break;
	case '\\': out = '\\'; break;
	case '/': out = '/'; break;
	case 'b': out = '\b'; break;
	case 'f': out = '\f'; break;
	case 'n': out = '\n'; break;
	case 'r': out = '\r'; break;
	case 't': out = '\t'; break;
	case 'u': return read_unicode_escape(ps, b);
	default: return fail(ps, "bad escape");
	}
	return buf_append(ps, b, &out, 1);
}

/* Append the decoded string and a NUL to b. */
static int read_string(struct parser *ps, struct buf *b)
{
	if (expect(ps, '"') < 0)
		return failed(ps);
	for (;;) {
		if (!ensure(ps, 1))
			return fail_eof(ps);
		const uint8_t *q = ps->p;
		while (q < ps->end && *q != '"' && *q != '\\')
			q++;
		if (buf_append(ps, b, ps->p, (size_t)(q - ps->p)) < 0)
			return failed(ps);
		ps->p = q;
		if (q == ps->end)
			continue;
		ps->p++;
		if (*q == '"')
			return buf_append(ps, b, "", 1);
		if (read_escape(ps, b) < 0)
			return failed(ps);
	}
}

static int read_key(struct parser *ps)
{
	ps->tmp.len = 0;
	if (read_string(ps, &ps->tmp) < 0 || expect(ps, ':') < 0)
		return failed(ps);
	return 0;
}

/* Skip any JSON value without recursion (nesting depth only counted). */
static int skip_value(struct parser *ps)
{
	uint64_t depth = 0;
	do {
		int c = peek(ps);
		if (c < 0)
			return failed(ps);
		if (c == '"') {
			ps->p++;
			for (;;) {
				if (!ensure(ps, 1))
					return fail_eof(ps);
				uint8_t x = *ps->p++;
				if (x == '"')
					break;
				if (x == '\\') {
					if (!ensure(ps, 1))
						return fail_eof(ps);
					ps->p++;
				}
			}
		} else if (c == '{' || c == '[') {
			ps->p++;
			depth++;
			continue;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return fail(ps, "unexpected '%c'", c);
			ps->p++;
			depth--;
		} else if (c == ',' || c == ':') {
			if (depth == 0)
				return fail(ps, "unexpected '%c'", c);
			ps->p++;
			continue;
		} else {
			/* a scalar (number, true, ...): may continue in the next chunk */
			bool any = false;
			for (;;) {
				while (ps->p < ps->end && !is_ws(*ps->p) && *ps->p != ',' &&
				       *ps->p != ']' && *ps->p != '}' && *ps->p != ':' &&
				       *ps->p != '"' && *ps->p != '[' && *ps->p != '{') {
					ps->p++;
					any = true;
				}
				if (ps->p < ps->end || !ensure(ps, 1))
					break;
			}
			if (!any)
				return fail(ps, "unexpected byte");
		}
	} while (depth > 0);
	return 0;
}

/* ---- meta ---------------------------------------------------------------- */

static void str_list_free(struct str_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int str_list_push(struct parser *ps, struct str_list *l, const char *s)
{
	if (l->n >= MAX_TYPES)
		return fail(ps, "too many names in a meta list");
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return fail_oom(ps, 0);
	l->v = v;
	if (!(v[l->n] = strdup(s)))
		return fail_oom(ps, 0);
	l->n++;
	return 0;
}

static int read_string_list(struct parser *ps, struct str_list *l)
{
	str_list_free(l);
	int more = open_array(ps);
	while (more > 0) {
		ps->tmp.len = 0;
		if (read_string(ps, &ps->tmp) < 0 || str_list_push(ps, l, ps->tmp.d) < 0)
			return failed(ps);
		more = next_or_close(ps, ']');
	}
	return more;
}

/* node_types / edge_types: an array whose entries are either a list of names (an
 * enum field) or a single type word ("string", "number", ...). */
static int read_type_lists(struct parser *ps, struct str_list *lists, unsigned *n)
{
	for (unsigned i = 0; i < *n; i++)
		str_list_free(&lists[i]);
	*n = 0;
	int more = open_array(ps);
	while (more > 0) {
		if (*n >= MAX_TYPE_LISTS)
			return fail(ps, "too many fields");
		int c = peek(ps);
		if (c < 0)
			return failed(ps);
		int rc = c == '[' ? read_string_list(ps, &lists[*n]) : skip_value(ps);
		if (rc < 0)
			return failed(ps);
		(*n)++;
		more = next_or_close(ps, ']');
	}
	return more;
}

/* Read one JSON object: for each key (left in ps->tmp) read_value reads its value.
 * The number of keys (0 for "{}"), or -1. */
static int read_object(struct parser *ps, int (*read_value)(struct parser *ps))
{
	if (expect(ps, '{') < 0)
		return failed(ps);
	if (peek(ps) == '}') {
		ps->p++;
		return 0;
	}
	int keys = 0, more = 1;
	while (more > 0) {
		if (read_key(ps) < 0 || read_value(ps) < 0)
			return failed(ps);
		keys++;
		more = next_or_close(ps, '}');
	}
	return more < 0 ? -1 : keys;
}

static int read_meta_value(struct parser *ps)
{
	if (strcmp(ps->tmp.d, "node_fields") == 0)
		return read_string_list(ps, &ps->node_fields);
	if (strcmp(ps->tmp.d, "edge_fields") == 0)
		return read_string_list(ps, &ps->edge_fields);
	if (strcmp(ps->tmp.d, "node_types") == 0)
		return read_type_lists(ps, ps->node_types, &ps->node_types_n);
	if (strcmp(ps->tmp.d, "edge_types") == 0)
		return read_type_lists(ps, ps->edge_types, &ps->edge_types_n);
	return skip_value(ps);
}

/* An empty meta ("{}") leaves have_meta unset: resolve_fields reports it missing. */
static int parse_meta(struct parser *ps)
{
	ps->section = "meta";
	int keys = read_object(ps, read_meta_value);
	if (keys <= 0)
		return keys;
	ps->have_meta = true;
	ps->section = "snapshot";
	return 0;
}

static int read_snapshot_value(struct parser *ps)
{
	int rc;
	if (strcmp(ps->tmp.d, "meta") == 0) {
		rc = parse_meta(ps);
	} else if (strcmp(ps->tmp.d, "node_count") == 0) {
		rc = read_uint(ps, &ps->declared_nodes);
		ps->declared_nodes_set = true;
	} else if (strcmp(ps->tmp.d, "edge_count") == 0) {
		rc = read_uint(ps, &ps->declared_edges);
		ps->declared_edges_set = true;
	} else {
		rc = skip_value(ps);
	}
	return rc;
}

static int parse_snapshot_header(struct parser *ps)
{
	ps->section = "snapshot";
	return read_object(ps, read_snapshot_value) < 0 ? failed(ps) : 0;
}

static int field_index(const struct str_list *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return (int)i;
	return -ENOENT;
}

/* Move the type names out of meta into the snapshot and map each field to its role. */
static int resolve_fields(struct parser *ps, enum field_role *node_roles, enum field_role *edge_roles)
{
	struct hs_snapshot *s = ps->s;
	static const struct { const char *name; enum field_role role; } node_map[] = {
		{ "type", F_TYPE }, { "name", F_NAME }, { "id", F_ID },
		{ "self_size", F_SELF_SIZE }, { "edge_count", F_EDGE_COUNT },
	}, edge_map[] = {
		{ "type", F_TYPE }, { "name_or_index", F_NAME }, { "to_node", F_TO_NODE },
	};
	if (!ps->have_meta)
		return fail(ps, "no snapshot.meta before the node and edge arrays");
	if (ps->node_fields.n == 0 || ps->node_fields.n > MAX_FIELDS ||
	    ps->edge_fields.n == 0 || ps->edge_fields.n > MAX_FIELDS)
		return fail(ps, "bad node_fields or edge_fields in meta");
	for (unsigned i = 0; i < ps->node_fields.n; i++)
		node_roles[i] = F_IGNORE;
	for (unsigned i = 0; i < ps->edge_fields.n; i++)
		edge_roles[i] = F_IGNORE;
	for (size_t i = 0; i < sizeof(node_map) / sizeof(node_map[0]); i++) {
		int at = field_index(&ps->node_fields, node_map[i].name);
		if (at < 0)
			return fail(ps, "node field \"%s\" missing from meta", node_map[i].name);
		node_roles[at] = node_map[i].role;
	}
	for (size_t i = 0; i < sizeof(edge_map) / sizeof(edge_map[0]); i++) {
		int at = field_index(&ps->edge_fields, edge_map[i].name);
		if (at < 0)
			return fail(ps, "edge field \"%s\" missing from meta", edge_map[i].name);
		edge_roles[at] = edge_map[i].role;
	}
	if (s->node_type_names)
		return 0;
	int nt = field_index(&ps->node_fields, "type"), et = field_index(&ps->edge_fields, "type");
	if ((unsigned)nt >= ps->node_types_n || !ps->node_types[nt].n ||
	    (unsigned)et >= ps->edge_types_n || !ps->edge_types[et].n)
		return fail(ps, "node_types or edge_types missing from meta");
	s->node_type_names = ps->node_types[nt].v;
	s->node_type_count = ps->node_types[nt].n;
	ps->node_types[nt].v = NULL;
	ps->node_types[nt].n = 0;
	s->edge_type_names = ps->edge_types[et].v;
	s->edge_type_count = ps->edge_types[et].n;
	ps->edge_types[et].v = NULL;
	ps->edge_types[et].n = 0;
	return 0;
}

/* ---- nodes and edges ----------------------------------------------------- */

/* First touches of the big arrays were a quarter of a gigabyte snapshot's summary
 * in the kernel's fault path; 2 MiB pages take 512 times fewer faults. The advice
 * covers whole pages around the block (malloc's own mapping of a large one): a
 * mapping split in two could not be moved by mremap, and realloc would copy. */
static void want_huge_pages(void *p, size_t bytes)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(page - 1), end = ((uintptr_t)p + bytes + page - 1) & ~(page - 1);
	if (bytes >= HUGE_MIN)
		madvise((void *)start, end - start, MADV_HUGEPAGE); /* advice: refused is fine */
}

static int grow(struct parser *ps, void **arr, size_t elem, size_t cap)
{
	void *p = realloc(*arr, cap * elem);
	if (!p)
		return fail_oom(ps, cap);
	*arr = p;
	want_huge_pages(p, cap * elem);
	return 0;
}

static int grow_nodes(struct parser *ps, size_t need)
{
	struct hs_snapshot *s = ps->s;
	if (need <= ps->node_cap)
		return 0;
	if (need > UINT32_MAX - 1)
		return fail(ps, "too many nodes");
	size_t cap = ps->node_cap ? ps->node_cap * 2 : 4096;
	if (ps->declared_nodes_set && ps->declared_nodes >= need && cap > ps->declared_nodes)
		cap = ps->declared_nodes; /* trust the header only as a ceiling, never a floor */
	if (cap < need)
		cap = need;
	if (grow(ps, (void **)&s->node_type, 1, cap) < 0 ||
	    grow(ps, (void **)&s->node_name, 4, cap) < 0 ||
	    (!(ps->flags & HS_PARSE_SKIP_NODE_IDS) && grow(ps, (void **)&s->node_id, 4, cap) < 0) ||
	    grow(ps, (void **)&s->node_self_size, 4, cap) < 0 ||
	    grow(ps, (void **)&s->first_edge, 4, cap + 1) < 0)
		return failed(ps);
	ps->node_cap = cap;
	return 0;
}

static int store_big_self_size(struct parser *ps, uint32_t n, uint64_t v)
{
	struct hs_snapshot *s = ps->s;
	if ((s->big_self_count & (s->big_self_count - 1)) == 0 &&
	    grow(ps, (void **)&s->big_self, sizeof(*s->big_self), s->big_self_count ? 2 * (size_t)s->big_self_count : 1) < 0)
		return failed(ps);
	s->big_self[s->big_self_count++] = (struct hs_big_size){ n, v };
	s->node_self_size[n] = UINT32_MAX;
	return 0;
}

static int store_node_value(struct parser *ps, enum field_role role, uint32_t n, uint64_t v)
{
	struct hs_snapshot *s = ps->s;
	switch (role) {
	case F_TYPE:
		if (v >= s->node_type_count)
			return fail(ps, "node type %llu out of range", (unsigned long long)v);
		s->node_type[n] = (uint8_t)v;
		break;
	case F_NAME:
		if (v > UINT32_MAX)
			return fail(ps, "node name index out of range");
		s->node_name[n] = (uint32_t)v;
		break;
	case F_ID:
		if (v > UINT32_MAX)
			return fail(ps, "node id out of range");
		if (s->node_id)
			s->node_id[n] = (uint32_t)v;
		break;
	case F_SELF_SIZE:
		if (v >= UINT32_MAX)
			return store_big_self_size(ps, n, v);
		s->node_self_size[n] = (uint32_t)v;
		break;
	case F_EDGE_COUNT:
		if (v > UINT32_MAX)
			return fail(ps, "edge count out of range");
		s->first_edge[n] = (uint32_t)v;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- numeric windows: SWAR digits, two threads ----------------------------- */

static int grow_edges(struct parser *ps, size_t need);

#define ONES8 0x0101010101010101ull

/* The number of leading digit bytes (0..8) of eight bytes x already XORed with '0'
 * (a digit is then 0..9). Adding 0x76 sets the high bit of a byte above 9; a carry out
 * of a byte comes only from one with its high bit already set, and moves upward, past
 * the first non-digit, so that first one is found exactly. */
static inline unsigned digit_run(uint64_t x)
{
	uint64_t nondigit = ((x + 0x76 * ONES8) | x) & (0x80 * ONES8);
	return nondigit ? (unsigned)__builtin_ctzll(nondigit) / 8 : 8;
}

/* The value of the first n (1..8) digits of x (XORed with '0', first digit in the
 * lowest byte): shifted up so the missing digits are leading zeros, then pairs,
 * quads and the two halves are joined by multiplication. */
static inline uint64_t digits_value(uint64_t x, unsigned n)
{
	x <<= 8 * (8 - n);
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffull;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffull;
	return (x * 10000 + (x >> 32)) & 0xffffffffull;
}

static inline uint64_t load8(const uint8_t *q)
{
	uint64_t w;
	memcpy(&w, q, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* One unsigned integer of at most 19 digits and the ',' after it, blanks allowed
 * around it, inside [q, end); bytes up to hard_end may be read (never used). False,
 * with *pp unchanged, for anything else. */
static inline bool scan_value(const uint8_t **pp, const uint8_t *end, const uint8_t *hard_end, uint64_t *out)
{
	static const uint64_t pow10[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };
	const uint8_t *q = *pp;
	while (q < end && is_ws(*q))
		q++;
	const uint8_t *start = q;
	uint64_t v = 0;
	while (hard_end - q >= 8) {
		uint64_t x = load8(q) ^ (0x30 * ONES8);
		unsigned n = digit_run(x);
		if (n)
			v = v * pow10[n] + digits_value(x, n);
		q += n;
		if (n < 8 || q - start > 19)
			goto digits_done;
	}
	while (q < end && (uint8_t)(*q - '0') < 10)
		v = v * 10 + (uint64_t)(*q++ - '0');
digits_done:
	if (q == start || q - start > 19 || q > end)
		return false;
	while (q < end && is_ws(*q))
		q++;
	if (q >= end || *q != ',')
		return false;
	*pp = q + 1;
	*out = v;
	return true;
}

/* What a range of one array is parsed into; read-only while ranges run. */
struct num_target {
	struct hs_snapshot *s;
	const enum field_role *roles;
	unsigned nf;          /* fields per record */
	bool edges;
	uint64_t records;     /* records allowed: allocated nodes, or the edges the nodes own */
	uint64_t to_limit;    /* edges: to_node values below it (node_count * node fields) */
	uint64_t node_nf, nf_magic; /* to_node / node_nf as (to_node * nf_magic) >> 64 */
};

struct num_range {
	const struct num_target *t;
	const uint8_t *p, *end, *hard_end;
	uint64_t first;       /* index of the range's first value in the array */
	const uint8_t *stop;  /* out: where the first value not taken starts (end: all taken) */
	uint64_t count;       /* out: values taken */
};

/* store_node_value's checks, refusing (false) instead of failing. */
static inline bool take_node_value(struct hs_snapshot *s, enum field_role role, uint64_t n, uint64_t v)
{
	switch (role) {
	case F_TYPE:
		if (v >= s->node_type_count)
			return false;
		s->node_type[n] = (uint8_t)v;
		return true;
	case F_NAME:
		if (v > UINT32_MAX)
			return false;
		s->node_name[n] = (uint32_t)v;
		return true;
	case F_ID:
		if (v > UINT32_MAX)
			return false;
		if (s->node_id)
			s->node_id[n] = (uint32_t)v;
		return true;
	case F_SELF_SIZE:
		if (v >= UINT32_MAX) /* the side table is the one-value path's */
			return false;
		s->node_self_size[n] = (uint32_t)v;
		return true;
	case F_EDGE_COUNT:
		if (v > UINT32_MAX)
			return false;
		s->first_edge[n] = (uint32_t)v;
		return true;
	default:
		return true;
	}
}

/* store_edge_value's checks, refusing (false) instead of failing. */
static inline bool take_edge_value(const struct num_target *t, enum field_role role, uint64_t e, uint64_t v)
{
	struct hs_snapshot *s = t->s;
	switch (role) {
	case F_TYPE:
		if (v >= s->edge_type_count)
			return false;
		s->edge_type[e] = (uint8_t)v;
		return true;
	case F_NAME:
		if (v > UINT32_MAX)
			return false;
		if (s->edge_name)
			s->edge_name[e] = (uint32_t)v;
		return true;
	case F_TO_NODE: {
		if (v >= t->to_limit)
			return false;
		uint64_t node = (uint64_t)(((unsigned __int128)v * t->nf_magic) >> 64);
		if (node * t->node_nf != v)
			return false;
		s->edge_to[e] = (uint32_t)node;
		return true;
	}
	default:
		return true;
	}
}

static void parse_range(struct num_range *r)
{
	const struct num_target *t = r->t;
	const uint8_t *q = r->p;
	unsigned field = (unsigned)(r->first % t->nf);
	uint64_t rec = r->first / t->nf, taken = 0;
	while (q < r->end && rec < t->records) {
		const uint8_t *at = q;
		uint64_t v;
		if (!scan_value(&q, r->end, r->hard_end, &v) ||
		    !(t->edges ? take_edge_value(t, t->roles[field], rec, v) : take_node_value(t->s, t->roles[field], rec, v))) {
			q = at;
			break;
		}
		taken++;
		if (++field == t->nf) {
			field = 0;
			rec++;
		}
	}
	r->stop = q;
	r->count = taken;
}

/* The second thread: parses the range it is handed, one at a time. */
struct splitter {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct num_range *job; /* set by the parser, cleared by the thread when done */
	bool quit;
};

static void *splitter_main(void *arg)
{
	struct splitter *sp = arg;
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		while (!sp->job && !sp->quit)
			pthread_cond_wait(&sp->cv, &sp->mu);
		if (sp->quit)
			break;
		struct num_range *r = sp->job;
		pthread_mutex_unlock(&sp->mu);
		parse_range(r);
		pthread_mutex_lock(&sp->mu);
		sp->job = NULL;
		pthread_cond_broadcast(&sp->cv);
	}
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

/* The second thread once, when more than one CPU is online; NULL otherwise (one thread
 * parses every window then, as it would on a failure to start it). */
static struct splitter *splitter_get(struct parser *ps)
{
	if (ps->split_tried)
		return ps->split;
	ps->split_tried = true;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return NULL;
	struct splitter *sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cv, NULL);
	if (pthread_create(&sp->thread, NULL, splitter_main, sp) != 0) {
		pthread_mutex_destroy(&sp->mu);
		pthread_cond_destroy(&sp->cv);
		free(sp);
		return NULL;
	}
	return ps->split = sp;
}

static void splitter_stop(struct splitter *sp)
{
	if (!sp)
		return;
	pthread_mutex_lock(&sp->mu);
	sp->quit = true;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	pthread_join(sp->thread, NULL);
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->cv);
	free(sp);
}

static uint64_t count_commas(const uint8_t *p, const uint8_t *end)
{
	uint64_t n = 0;
	for (; end - p >= 8; p += 8) {
		uint64_t x = load8(p) ^ (',' * ONES8); /* a comma is now 0 */
		uint64_t zero = ~(((x & (0x7f * ONES8)) + 0x7f * ONES8) | x) & (0x80 * ONES8);
		n += ((zero >> 7) * ONES8) >> 56; /* the sum of the 0/1 bytes */
	}
	for (; p < end; p++)
		n += *p == ',';
	return n;
}

/* Both halves of [p, end) at once (the second on the other thread), cut after a
 * comma near the middle; false when there is no such cut. */
static bool parse_split(struct splitter *sp, struct num_range *whole, struct num_range *first,
			struct num_range *second)
{
	const uint8_t *mid = memchr(whole->p + (whole->end - whole->p) / 2, ',',
				    (size_t)(whole->end - whole->p) / 2);
	if (!mid || mid + 1 >= whole->end)
		return false;
	*first = *second = *whole;
	first->end = second->p = mid + 1;
	second->first = whole->first + count_commas(first->p, first->end);
	pthread_mutex_lock(&sp->mu);
	sp->job = second;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	parse_range(first);
	pthread_mutex_lock(&sp->mu);
	while (sp->job)
		pthread_cond_wait(&sp->cv, &sp->mu);
	pthread_mutex_unlock(&sp->mu);
	return true;
}

/* Grow the arrays for every value a fresh window of `bytes` bytes from value *vi on
 * could hold (a value takes two bytes or more); t->records is what ranges may fill. */
static int window_reserve(struct parser *ps, struct num_target *t, uint64_t vi, size_t bytes)
{
	uint64_t bound = (vi + bytes / 2 + 1) / t->nf + 1;
	if (t->edges) {
		uint64_t total = t->s->first_edge[t->s->node_count];
		if (bound > total)
			bound = total;
		if (bound > vi / t->nf && grow_edges(ps, bound) < 0)
			return failed(ps);
		t->records = bound;
		return 0;
	}
	if (ps->declared_nodes_set && bound > ps->declared_nodes && ps->declared_nodes > vi / t->nf)
		bound = ps->declared_nodes;
	if (bound > UINT32_MAX - 1)
		return 0; /* the one-value path says "too many nodes" where it is so */
	if (grow_nodes(ps, bound) < 0)
		return failed(ps);
	t->records = ps->node_cap;
	return 0;
}

/* Take the values of the buffered text up to its last comma (at most WINDOW_MAX
 * bytes) from value index *vi on, both halves at once when it is large; stops early
 * at the first value it does not take. After such a stop (the one-value path then
 * reads that value), the rest of the same window is taken on one thread: a window is
 * found, reserved and cut once, so input the fast path keeps refusing costs no more
 * than the one-value path. */
static int parse_window(struct parser *ps, struct num_target *t, uint64_t *vi)
{
	uint64_t at = input_offset(ps);
	struct num_range whole = { .t = t, .p = ps->p, .hard_end = ps->end, .first = *vi };
	bool fresh = at >= ps->window_end;
	if (fresh) {
		size_t have = (size_t)(ps->end - ps->p);
		const uint8_t *last = memrchr(ps->p, ',', have < WINDOW_MAX ? have : WINDOW_MAX);
		if (!last)
			return 0;
		whole.end = last + 1;
		if (window_reserve(ps, t, *vi, (size_t)(whole.end - whole.p)) < 0)
			return failed(ps);
		ps->window_end = at + (uint64_t)(whole.end - whole.p);
	} else {
		whole.end = ps->p + (ps->window_end - at);
	}
	struct num_range a, b;
	struct splitter *sp = fresh && (size_t)(whole.end - whole.p) >= SPLIT_MIN ? splitter_get(ps) : NULL;
	if (sp && parse_split(sp, &whole, &a, &b)) {
		bool all_of_a = a.stop == a.end && b.first == a.first + a.count;
		*vi += a.count + (all_of_a ? b.count : 0);
		ps->p = all_of_a ? b.stop : a.stop;
	} else {
		parse_range(&whole);
		*vi += whole.count;
		ps->p = whole.stop;
	}
	return 0;
}

static int parse_nodes(struct parser *ps)
{
	enum field_role roles[MAX_FIELDS], edge_roles[MAX_FIELDS];
	struct hs_snapshot *s = ps->s;
	ps->section = "nodes";
	if (ps->have_nodes)
		return fail(ps, "second nodes array");
	if (resolve_fields(ps, roles, edge_roles) < 0)
		return failed(ps);
	unsigned nf = ps->node_fields.n, field = 0;
	uint32_t n = 0;
	struct num_target t = { .s = s, .roles = roles, .nf = nf };
	uint64_t vi = 0;
	ps->window_end = 0;
	int more = open_array(ps);
	while (more > 0) {
		uint64_t v;
		if (parse_window(ps, &t, &vi) < 0)
			return failed(ps);
		field = (unsigned)(vi % nf);
		n = (uint32_t)(vi / nf);
		if (field == 0 && grow_nodes(ps, (size_t)n + 1) < 0)
			return failed(ps);
		if ((more = next_uint(ps, &v)) < 0 || store_node_value(ps, roles[field], n, v) < 0)
			return failed(ps);
		vi++;
	}
	if (more < 0)
		return failed(ps);
	field = (unsigned)(vi % nf);
	n = (uint32_t)(vi / nf);
	if (field != 0)
		return fail(ps, "nodes array length is not a multiple of %u", nf);
	if (ps->declared_nodes_set && n != ps->declared_nodes)
		return fail(ps, "%u nodes, snapshot.node_count says %llu", n,
			    (unsigned long long)ps->declared_nodes);
	if (n == 0)
		return fail(ps, "no nodes");
	/* edge counts -> offsets */
	uint64_t sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = s->first_edge[i];
		s->first_edge[i] = (uint32_t)sum;
		sum += c;
		if (sum > UINT32_MAX)
			return fail(ps, "too many edges");
	}
	s->first_edge[n] = (uint32_t)sum;
	s->node_count = n;
	ps->have_nodes = true;
	return 0;
}

static int grow_edges(struct parser *ps, size_t need)
{
	struct hs_snapshot *s = ps->s;
	if (need <= ps->edge_cap)
		return 0;
	size_t cap = ps->edge_cap ? ps->edge_cap * 2 : 16384;
	size_t total = s->first_edge[s->node_count];
	if (cap > total)
		cap = total;
	if (cap < need)
		cap = need;
	bool names = !(ps->flags & HS_PARSE_SKIP_EDGE_NAMES) || (ps->flags & HS_PARSE_SKIP_EDGES);
	if (grow(ps, (void **)&s->edge_type, 1, cap) < 0 ||
	    (names && grow(ps, (void **)&s->edge_name, 4, cap) < 0) ||
	    grow(ps, (void **)&s->edge_to, 4, cap) < 0)
		return failed(ps);
	ps->edge_cap = cap;
	return 0;
}

static int store_edge_value(struct parser *ps, enum field_role role, uint32_t e, uint64_t v)
{
	struct hs_snapshot *s = ps->s;
	uint64_t nf = ps->node_fields.n;
	switch (role) {
	case F_TYPE:
		if (v >= s->edge_type_count)
			return fail(ps, "edge type %llu out of range", (unsigned long long)v);
		s->edge_type[e] = (uint8_t)v;
		break;
	case F_NAME:
		if (v > UINT32_MAX)
			return fail(ps, "edge name out of range");
		if (s->edge_name)
			s->edge_name[e] = (uint32_t)v;
		break;
	case F_TO_NODE:
		if (v % nf != 0 || v / nf >= s->node_count)
			return fail(ps, "edge target %llu is not a node", (unsigned long long)v);
		s->edge_to[e] = (uint32_t)(v / nf);
		break;
	default:
		break;
	}
	return 0;
}

static int parse_edges(struct parser *ps)
{
	enum field_role node_roles[MAX_FIELDS], roles[MAX_FIELDS];
	struct hs_snapshot *s = ps->s;
	ps->section = "edges";
	if (!ps->have_nodes)
		return fail(ps, "edges before nodes");
	if (ps->have_edges)
		return fail(ps, "second edges array");
	if (resolve_fields(ps, node_roles, roles) < 0)
		return failed(ps);
	unsigned ef = ps->edge_fields.n, field = 0;
	uint32_t e = 0, total = s->first_edge[s->node_count];
	bool keep = !(ps->flags & HS_PARSE_SKIP_EDGES);
	uint64_t nnf = ps->node_fields.n;
	struct num_target t = { .s = s, .roles = roles, .nf = ef, .edges = true, .node_nf = nnf,
				.to_limit = (uint64_t)s->node_count * nnf, .nf_magic = UINT64_MAX / nnf + 1 };
	uint64_t vi = 0;
	ps->window_end = 0;
	int more = open_array(ps);
	while (more > 0) {
		uint64_t v;
		if (keep) { /* the fast path keeps every edge it reads */
			if (parse_window(ps, &t, &vi) < 0)
				return failed(ps);
			field = (unsigned)(vi % ef);
			e = (uint32_t)(vi / ef);
		}
		if (field == 0) {
			if (e >= total)
				return fail(ps, "more edges than the nodes' edge counts");
			if (grow_edges(ps, keep ? (size_t)e + 1 : 1) < 0)
				return failed(ps);
		}
		if ((more = next_uint(ps, &v)) < 0 ||
		    store_edge_value(ps, roles[field], keep ? e : 0, v) < 0)
			return failed(ps);
		vi++;
		field = (unsigned)(vi % ef);
		e = (uint32_t)(vi / ef);
	}
	if (more < 0)
		return failed(ps);
	if (field != 0 || e != total)
		return fail(ps, "%u edges, the nodes' edge counts say %u", e, total);
	if (ps->declared_edges_set && e != ps->declared_edges)
		return fail(ps, "%u edges, snapshot.edge_count says %llu", e,
			    (unsigned long long)ps->declared_edges);
	s->edge_count = e;
	ps->have_edges = true;
	if (!keep)
		hs_snapshot_drop_edges(s);
	return 0;
}

static int parse_strings(struct parser *ps)
{
	struct hs_snapshot *s = ps->s;
	ps->section = "strings";
	if (ps->have_strings)
		return fail(ps, "second strings array");
	int more = open_array(ps);
	while (more > 0) {
		if (s->string_count == ps->string_cap) {
			size_t cap = ps->string_cap ? ps->string_cap * 2 : 1024;
			if (cap > UINT32_MAX)
				return fail(ps, "too many strings");
			if (grow(ps, (void **)&s->string_off, 8, cap) < 0)
				return failed(ps);
			ps->string_cap = cap;
		}
		s->string_off[s->string_count] = ps->strings.len;
		if (read_string(ps, &ps->strings) < 0)
			return failed(ps);
		s->string_count++;
		more = next_or_close(ps, ']');
	}
	if (more < 0)
		return failed(ps);
	s->string_data = ps->strings.d;
	ps->strings.d = NULL;
	ps->have_strings = true;
	return 0;
}

/* ---- top level ----------------------------------------------------------- */

static uint8_t type_index(char **names, unsigned n, const char *want)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(names[i], want) == 0)
			return (uint8_t)i;
	return HS_TYPE_NONE;
}

static void cache_type_indexes(struct hs_snapshot *s)
{
	s->t_hidden = type_index(s->node_type_names, s->node_type_count, "hidden");
	s->t_object = type_index(s->node_type_names, s->node_type_count, "object");
	s->t_native = type_index(s->node_type_names, s->node_type_count, "native");
	s->t_code = type_index(s->node_type_names, s->node_type_count, "code");
	s->t_string = type_index(s->node_type_names, s->node_type_count, "string");
	s->e_weak = type_index(s->edge_type_names, s->edge_type_count, "weak");
	s->e_shortcut = type_index(s->edge_type_names, s->edge_type_count, "shortcut");
	s->e_element = type_index(s->edge_type_names, s->edge_type_count, "element");
	s->e_hidden = type_index(s->edge_type_names, s->edge_type_count, "hidden");
}

static int parse_top(struct parser *ps)
{
	ps->section = "top level";
	if (expect(ps, '{') < 0)
		return failed(ps);
	int more = peek(ps) == '}' ? 0 : 1;
	while (more > 0) {
		ps->section = "top level";
		if (read_key(ps) < 0)
			return failed(ps);
		int rc;
		if (strcmp(ps->tmp.d, "snapshot") == 0)
			rc = parse_snapshot_header(ps);
		else if (strcmp(ps->tmp.d, "nodes") == 0)
			rc = parse_nodes(ps);
		else if (strcmp(ps->tmp.d, "edges") == 0)
			rc = parse_edges(ps);
		else if (strcmp(ps->tmp.d, "strings") == 0)
			rc = parse_strings(ps);
		else {
			snprintf(ps->section_buf, sizeof(ps->section_buf), "%s", ps->tmp.d);
			ps->section = ps->section_buf;
			rc = skip_value(ps);
		}
		if (rc < 0)
			return failed(ps);
		ps->section = "top level";
		more = next_or_close(ps, '}');
	}
	if (more < 0)
		return failed(ps);
	if (!ps->have_nodes || !ps->have_edges || !ps->have_strings) {
		ps->section = !ps->have_nodes ? "nodes" : !ps->have_edges ? "edges" : "strings";
		return fail(ps, "the snapshot has no %s array", ps->section);
	}
	cache_type_indexes(ps->s);
	return 0;
}

static void parser_release(struct parser *ps)
{
	str_list_free(&ps->node_fields);
	str_list_free(&ps->edge_fields);
	for (unsigned i = 0; i < MAX_TYPE_LISTS; i++) { /* also a list left half-read */
		str_list_free(&ps->node_types[i]);
		str_list_free(&ps->edge_types[i]);
	}
	splitter_stop(ps->split);
	free(ps->tmp.d);
	free(ps->strings.d);
	free(ps->chunk);
}

static int run_parser(struct parser *ps, struct hs_snapshot **out)
{
	*out = NULL;
	ps->s = calloc(1, sizeof(*ps->s));
	if (!ps->s) {
		snprintf(ps->err, ps->errlen, "out of memory");
		parser_release(ps);
		return -ENOMEM;
	}
	int rc = parse_top(ps);
	ps->s->input_bytes = input_offset(ps);
	if (rc == 0)
		*out = ps->s;
	else
		hs_snapshot_free(ps->s);
	parser_release(ps);
	return rc;
}

int hs_snapshot_parse_mem(const void *buf, size_t len, unsigned flags, struct hs_snapshot **out,
			  char *err, size_t errlen)
{
	struct parser ps = { .err = err, .errlen = errlen, .section = "top level", .flags = flags };
	ps.p = ps.buf_start = buf;
	ps.end = ps.p + len;
	ps.eof = true;
	return run_parser(&ps, out);
}

int hs_snapshot_load(const char *path, unsigned flags, struct hs_snapshot **out,
		     char *err, size_t errlen)
{
	return hs_snapshot_load_max(path, flags, 0, out, err, errlen);
}

int hs_snapshot_load_max(const char *path, unsigned flags, uint64_t max_bytes, struct hs_snapshot **out,
			 char *err, size_t errlen)
{
	struct parser ps = { .err = err, .errlen = errlen, .section = "top level", .flags = flags,
			     .max_input = max_bytes };
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;

		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	ps.gz = gzdopen(fd, "rb");
	ps.chunk = malloc(READ_CHUNK);
	if (!ps.gz || !ps.chunk) {
		if (ps.gz)
			gzclose(ps.gz);
		else
			close(fd);
		free(ps.chunk);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	gzbuffer(ps.gz, 256 * 1024);
	ps.p = ps.end = ps.buf_start = ps.chunk;
	gzFile gz = ps.gz;
	int rc = run_parser(&ps, out);
	gzclose(gz);
	return rc;
}

void hs_snapshot_drop_edges(struct hs_snapshot *s)
{
	free(s->edge_type);
	free(s->edge_name);
	free(s->edge_to);
	s->edge_type = NULL;
	s->edge_name = NULL;
	s->edge_to = NULL;
}

void hs_snapshot_free(struct hs_snapshot *s)
{
	if (!s)
		return;
	free(s->node_type);
	free(s->node_name);
	free(s->node_id);
	free(s->node_self_size);
	free(s->big_self);
	free(s->first_edge);
	free(s->edge_type);
	free(s->edge_name);
	free(s->edge_to);
	free(s->string_off);
	free(s->string_data);
	for (unsigned i = 0; i < s->node_type_count; i++)
		free(s->node_type_names[i]);
	free(s->node_type_names);
	for (unsigned i = 0; i < s->edge_type_count; i++)
		free(s->edge_type_names[i]);
	free(s->edge_type_names);
	free(s);
}

const char *hs_snapshot_string(const struct hs_snapshot *s, uint32_t i)
{
	return i < s->string_count ? s->string_data + s->string_off[i] : "";
}

uint64_t hs_snapshot_big_self_size(const struct hs_snapshot *s, uint32_t node)
{
	uint32_t lo = 0, hi = s->big_self_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->big_self[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->big_self_count && s->big_self[lo].node == node ? s->big_self[lo].size : UINT32_MAX;
}

const char *hs_snapshot_node_type_name(const struct hs_snapshot *s, uint32_t node)
{
	uint8_t t = s->node_type[node];
	return t < s->node_type_count ? s->node_type_names[t] : "";
}
