// SPDX-License-Identifier: Apache-2.0
/* Streaming completeness check of a V8 .heapsnapshot (see verify.h).
 *
 * This is a hand-written JSON state machine rather than a JSON library: it runs on
 * every byte of every capture (hundreds of MB), must accept the input split anywhere
 * and must hold constant memory, which a DOM parser (jansson) cannot do. It keeps a
 * fixed stack of open containers (object/array plus the "role" the path gives it:
 * root, snapshot, snapshot.meta, nodes, edges, strings, ...) and counts values in the
 * arrays that matter. Two inner loops carry the bulk: runs of integers inside
 * "nodes"/"edges", and plain bytes inside strings; everything else goes through the
 * general per-byte machine. UTF-8 inside strings is not validated (V8 writes it). */
#include "snapshot/verify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_MAX_DEPTH 64
#define VERIFY_KEY_MAX 16

enum lex_state {
	L_VALUE,          /* a value must come (after ':' or ',' in an array) */
	L_VALUE_OR_END,   /* after '[': a value or ']' */
	L_KEY,            /* after ',' in an object: a key string */
	L_KEY_OR_END,     /* after '{': a key or '}' */
	L_COLON,
	L_AFTER,          /* after a value: ',' or the closing bracket */
	L_STRING,
	L_STRING_ESC,
	L_STRING_HEX,
	L_NUM_MINUS, L_NUM_ZERO, L_NUM_INT, L_NUM_DOT, L_NUM_FRAC,
	L_NUM_E, L_NUM_E_SIGN, L_NUM_EXP,
	L_LITERAL,
	L_DONE,           /* the root object closed: only whitespace may follow */
	L_ERROR,
};

enum role {
	R_OTHER, R_ROOT, R_SNAPSHOT, R_META, R_NODE_FIELDS, R_EDGE_FIELDS,
	R_NODES, R_EDGES, R_STRINGS, R_NODE_COUNT, R_EDGE_COUNT,
};

static const char *const role_names[] = {
	[R_OTHER] = NULL, [R_ROOT] = "the top-level object", [R_SNAPSHOT] = "snapshot",
	[R_META] = "snapshot.meta", [R_NODE_FIELDS] = "snapshot.meta.node_fields",
	[R_EDGE_FIELDS] = "snapshot.meta.edge_fields", [R_NODES] = "nodes", [R_EDGES] = "edges",
	[R_STRINGS] = "strings", [R_NODE_COUNT] = "snapshot.node_count",
	[R_EDGE_COUNT] = "snapshot.edge_count",
};

enum value_kind { V_NUMBER, V_STRING, V_OTHER };

struct snap_verify {
	enum lex_state state;
	int depth;                          /* open containers */
	bool is_object[VERIFY_MAX_DEPTH];
	unsigned char role[VERIFY_MAX_DEPTH];
	enum role value_role;               /* role of the value being read */

	bool string_is_key;
	char key[VERIFY_KEY_MAX];
	unsigned key_len;                   /* VERIFY_KEY_MAX = too long to matter */
	unsigned hex_left;

	const char *literal;                /* "true", "false", "null" */
	unsigned literal_pos;

	uint64_t number;                    /* integer value, for node_count/edge_count */
	bool number_overflow, number_is_int;

	bool seen_node_count, seen_edge_count, seen_nodes, seen_edges, seen_node_fields,
		seen_edge_fields, seen_strings;
	struct snap_verify_info info;
	char error[160];
};

struct snap_verify *snap_verify_new(void)
{
	struct snap_verify *v = calloc(1, sizeof(*v));

	if (v)
		v->state = L_VALUE;
	return v;
}

void snap_verify_free(struct snap_verify *v)
{
	free(v);
}

static const char *innermost_role_name(const struct snap_verify *v)
{
	for (int d = v->depth - 1; d >= 0; d--) {
		if (role_names[v->role[d]])
			return role_names[v->role[d]];
	}
	return NULL;
}

static int fail(struct snap_verify *v, const char *what, unsigned char c)
{
	const char *where = innermost_role_name(v);
	char shown[8];

	if (c >= 0x20 && c < 0x7f)
		snprintf(shown, sizeof(shown), "'%c'", c);
	else
		snprintf(shown, sizeof(shown), "0x%02x", c);
	snprintf(v->error, sizeof(v->error), "malformed JSON at byte %llu%s%s: %s %s",
		 (unsigned long long)v->info.bytes, where ? " in " : "", where ? where : "", what, shown);
	v->state = L_ERROR;
	return -EINVAL;
}

static int fail_msg(struct snap_verify *v, const char *msg)
{
	const char *where = innermost_role_name(v);

	snprintf(v->error, sizeof(v->error), "malformed snapshot at byte %llu%s%s: %s",
		 (unsigned long long)v->info.bytes, where ? " in " : "", where ? where : "", msg);
	v->state = L_ERROR;
	return -EINVAL;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The role a member value gets from its parent's role and its key. */
static enum role member_role(enum role parent, const char *key)
{
	switch (parent) {
	case R_ROOT:
		if (!strcmp(key, "snapshot")) return R_SNAPSHOT;
		if (!strcmp(key, "nodes")) return R_NODES;
		if (!strcmp(key, "edges")) return R_EDGES;
		if (!strcmp(key, "strings")) return R_STRINGS;
		return R_OTHER;
	case R_SNAPSHOT:
		if (!strcmp(key, "meta")) return R_META;
		if (!strcmp(key, "node_count")) return R_NODE_COUNT;
		if (!strcmp(key, "edge_count")) return R_EDGE_COUNT;
		return R_OTHER;
	case R_META:
		if (!strcmp(key, "node_fields")) return R_NODE_FIELDS;
		if (!strcmp(key, "edge_fields")) return R_EDGE_FIELDS;
		return R_OTHER;
	default:
		return R_OTHER;
	}
}

/* A value begins: containers are pushed, scalars remember their role. */
static int open_container(struct snap_verify *v, bool is_object)
{
	enum role role = v->depth == 0 ? R_ROOT : v->value_role;

	if (v->depth == 0 && !is_object)
		return fail(v, "the top level must be an object, found", '[');
	if (v->depth >= VERIFY_MAX_DEPTH)
		return fail_msg(v, "nesting deeper than 64 levels");
	if ((role == R_NODES || role == R_EDGES || role == R_STRINGS || role == R_NODE_FIELDS ||
	     role == R_EDGE_FIELDS) && is_object)
		return fail_msg(v, "expected an array, found an object");
	if ((role == R_SNAPSHOT || role == R_META) && !is_object)
		return fail_msg(v, "expected an object, found an array");
	if (role == R_NODE_COUNT || role == R_EDGE_COUNT)
		return fail_msg(v, "expected a number");
	v->is_object[v->depth] = is_object;
	v->role[v->depth] = (unsigned char)role;
	v->depth++;
	v->state = is_object ? L_KEY_OR_END : L_VALUE_OR_END;
	return 0;
}

/* A scalar value or a container ended: count it where it matters. */
static int value_done(struct snap_verify *v, enum value_kind kind)
{
	if (v->depth == 0) {
		v->state = L_DONE;
		return 0;
	}
	v->state = L_AFTER;
	if (!v->is_object[v->depth - 1]) {
		switch ((enum role)v->role[v->depth - 1]) {
		case R_NODES:
			if (kind != V_NUMBER)
				return fail_msg(v, "an element is not a number");
			v->info.nodes_len++;
			break;
		case R_EDGES:
			if (kind != V_NUMBER)
				return fail_msg(v, "an element is not a number");
			v->info.edges_len++;
			break;
		case R_STRINGS:
			v->info.strings++;
			break;
		case R_NODE_FIELDS:
			v->info.node_fields++;
			break;
		case R_EDGE_FIELDS:
			v->info.edge_fields++;
			break;
		default:
			break;
		}
		return 0;
	}
	if (v->value_role == R_NODE_COUNT || v->value_role == R_EDGE_COUNT) {
		if (kind != V_NUMBER || !v->number_is_int || v->number_overflow)
			return fail_msg(v, "the count is not a non-negative integer");
		if (v->value_role == R_NODE_COUNT) {
			v->info.node_count = v->number;
			v->seen_node_count = true;
		} else {
			v->info.edge_count = v->number;
			v->seen_edge_count = true;
		}
	}
	return 0;
}

static int close_container(struct snap_verify *v, bool is_object)
{
	enum role role;

	if (v->depth == 0 || v->is_object[v->depth - 1] != is_object)
		return fail(v, "mismatched", is_object ? '}' : ']');
	v->depth--;
	role = (enum role)v->role[v->depth];
	v->seen_nodes |= role == R_NODES;
	v->seen_edges |= role == R_EDGES;
	v->seen_strings |= role == R_STRINGS;
	v->seen_node_fields |= role == R_NODE_FIELDS;
	v->seen_edge_fields |= role == R_EDGE_FIELDS;
	if (v->depth > 0 && v->is_object[v->depth - 1])
		v->value_role = role;  /* the member that just closed */
	return value_done(v, V_OTHER);
}

static void begin_number(struct snap_verify *v, unsigned char c)
{
	v->number = 0;
	v->number_overflow = false;
	v->number_is_int = c != '-';
	if (c == '-') {
		v->state = L_NUM_MINUS;
	} else {
		v->state = c == '0' ? L_NUM_ZERO : L_NUM_INT;
		v->number = (uint64_t)(c - '0');
	}
}

static int begin_value(struct snap_verify *v, unsigned char c)
{
	if (v->depth > 0 && !v->is_object[v->depth - 1])
		v->value_role = R_OTHER;  /* array elements are counted by their parent */
	switch (c) {
	case '{': return open_container(v, true);
	case '[': return open_container(v, false);
	case '"':
		if (v->depth == 0)
			return fail(v, "the top level must be an object, found", c);
		if (v->value_role == R_NODE_COUNT || v->value_role == R_EDGE_COUNT)
			return fail_msg(v, "expected a number");
		v->string_is_key = false;
		v->state = L_STRING;
		return 0;
	case 't': v->literal = "true"; break;
	case 'f': v->literal = "false"; break;
	case 'n': v->literal = "null"; break;
	default:
		if (v->depth == 0)
			return fail(v, "the top level must be an object, found", c);
		if (c == '-' || is_digit(c)) {
			begin_number(v, c);
			return 0;
		}
		return fail(v, "unexpected", c);
	}
	if (v->depth == 0)
		return fail(v, "the top level must be an object, found", c);
	v->literal_pos = 1;
	v->state = L_LITERAL;
	return 0;
}

static int string_done(struct snap_verify *v)
{
	if (!v->string_is_key)
		return value_done(v, V_STRING);
	if (v->key_len <= VERIFY_KEY_MAX - 1) {
		v->key[v->key_len] = '\0';
		v->value_role = member_role((enum role)v->role[v->depth - 1], v->key);
	} else {
		v->value_role = R_OTHER;
	}
	v->state = L_COLON;
	return 0;
}

static void key_append(struct snap_verify *v, unsigned char c)
{
	if (v->key_len < VERIFY_KEY_MAX - 1)
		v->key[v->key_len++] = (char)c;
	else
		v->key_len = VERIFY_KEY_MAX;  /* too long: matches no key we know */
}

static void number_digit(struct snap_verify *v, unsigned char c)
{
	if (v->number > (UINT64_MAX - 9) / 10)
		v->number_overflow = true;
	else
		v->number = v->number * 10 + (uint64_t)(c - '0');
}

/* Number states. Returns 1 if c was consumed, 0 if the number ended before c. */
static int number_step(struct snap_verify *v, unsigned char c, int *rc)
{
	*rc = 0;
	switch (v->state) {
	case L_NUM_MINUS:
		if (!is_digit(c)) { *rc = fail(v, "expected a digit after '-', found", c); return 1; }
		v->state = c == '0' ? L_NUM_ZERO : L_NUM_INT;
		return 1;
	case L_NUM_ZERO:
	case L_NUM_INT:
		if (is_digit(c)) {
			if (v->state == L_NUM_ZERO) { *rc = fail(v, "leading zero before", c); return 1; }
			number_digit(v, c);
			return 1;
		}
		if (c == '.') { v->number_is_int = false; v->state = L_NUM_DOT; return 1; }
		if (c == 'e' || c == 'E') { v->number_is_int = false; v->state = L_NUM_E; return 1; }
		return 0;
	case L_NUM_DOT:
		if (!is_digit(c)) { *rc = fail(v, "expected a digit after '.', found", c); return 1; }
		v->state = L_NUM_FRAC;
		return 1;
	case L_NUM_FRAC:
		if (is_digit(c)) return 1;
		if (c == 'e' || c == 'E') { v->state = L_NUM_E; return 1; }
		return 0;
	case L_NUM_E:
		if (c == '+' || c == '-') { v->state = L_NUM_E_SIGN; return 1; }
		/* fallthrough */
	case L_NUM_E_SIGN:
		if (!is_digit(c)) { *rc = fail(v, "expected an exponent digit, found", c); return 1; }
		v->state = L_NUM_EXP;
		return 1;
	case L_NUM_EXP:
		return is_digit(c) ? 1 : 0;
	default:
		return 0;
	}
}

static int string_step(struct snap_verify *v, unsigned char c)
{
	switch (v->state) {
	case L_STRING:
		if (c == '"')
			return string_done(v);
		if (c == '\\') { v->state = L_STRING_ESC; return 0; }
		if (c < 0x20)
			return fail(v, "control character in a string:", c);
		if (v->string_is_key)
			key_append(v, c);
		return 0;
	case L_STRING_ESC:
		if (c == 'u') { v->hex_left = 4; v->state = L_STRING_HEX; return 0; }
		if (!strchr("\"\\/bfnrt", c) || c == '\0')
			return fail(v, "bad escape", c);
		if (v->string_is_key)
			key_append(v, c == '"' || c == '\\' || c == '/' ? c : '?');
		v->state = L_STRING;
		return 0;
	default: /* L_STRING_HEX */
		if (!is_hex(c))
			return fail(v, "bad \\u escape digit", c);
		if (--v->hex_left == 0) {
			if (v->string_is_key)
				key_append(v, '?');
			v->state = L_STRING;
		}
		return 0;
	}
}

/* One byte through the general machine. */
static int step(struct snap_verify *v, unsigned char c)
{
	int rc;

	if (v->state >= L_NUM_MINUS && v->state <= L_NUM_EXP) {
		if (number_step(v, c, &rc))
			return rc;
		if (v->state != L_NUM_ZERO && v->state != L_NUM_INT && v->state != L_NUM_FRAC &&
		    v->state != L_NUM_EXP)
			return fail(v, "unfinished number before", c);
		if (value_done(v, V_NUMBER) < 0)
			return -EINVAL;
		/* c still has to be read as what follows the number */
	}
	switch (v->state) {
	case L_STRING:
	case L_STRING_ESC:
	case L_STRING_HEX:
		return string_step(v, c);
	case L_LITERAL:
		if (c != (unsigned char)v->literal[v->literal_pos])
			return fail(v, "bad literal at", c);
		if (v->literal[++v->literal_pos] == '\0')
			return value_done(v, V_OTHER);
		return 0;
	default:
		break;
	}
	if (is_ws(c))
		return 0;
	switch (v->state) {
	case L_VALUE_OR_END:
		if (c == ']')
			return close_container(v, false);
		/* fallthrough */
	case L_VALUE:
		return begin_value(v, c);
	case L_KEY_OR_END:
		if (c == '}')
			return close_container(v, true);
		/* fallthrough */
	case L_KEY:
		if (c != '"')
			return fail(v, "expected a key, found", c);
		v->string_is_key = true;
		v->key_len = 0;
		v->state = L_STRING;
		return 0;
	case L_COLON:
		if (c != ':')
			return fail(v, "expected ':', found", c);
		v->state = L_VALUE;
		return 0;
	case L_AFTER:
		if (c == ',') {
			v->state = v->is_object[v->depth - 1] ? L_KEY : L_VALUE;
			return 0;
		}
		if (c == '}' || c == ']')
			return close_container(v, c == '}');
		return fail(v, "expected ',' or a closing bracket, found", c);
	case L_DONE:
		return fail(v, "data after the end of the snapshot:", c);
	default:
		return -EINVAL;
	}
}

/* Fast path: the integer runs of "nodes"/"edges". Consumes what it can; leaves
 * anything unusual (']', '-', '.', errors) to the general machine. */
static size_t scan_int_array(struct snap_verify *v, const unsigned char *p, size_t n,
			     uint64_t *count)
{
	enum lex_state s = v->state;
	size_t i = 0;

	for (; i < n; i++) {
		unsigned char c = p[i];

		if (s == L_NUM_INT) {
			if (is_digit(c))
				continue;
		} else if (s == L_VALUE || s == L_VALUE_OR_END) {
			if (c >= '1' && c <= '9') { s = L_NUM_INT; continue; }
			if (c == '0') { s = L_NUM_ZERO; continue; }
			if (is_ws(c)) continue;
			break;
		} else if (s == L_AFTER) {
			if (c == ',') { s = L_VALUE; continue; }
			if (is_ws(c)) continue;
			break;
		} else if (s != L_NUM_ZERO) {
			break;
		}
		/* in a number (L_NUM_INT or L_NUM_ZERO) and c is not a digit of it */
		if (c == ',') { (*count)++; s = L_VALUE; continue; }
		if (is_ws(c)) { (*count)++; s = L_AFTER; continue; }
		break;
	}
	v->state = s;
	return i;
}

/* Fast path: plain bytes inside a value string. */
static size_t scan_string(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20)
		i++;
	return i;
}

static bool in_int_array(const struct snap_verify *v)
{
	enum role r;

	if (v->depth == 0 || v->is_object[v->depth - 1])
		return false;
	r = (enum role)v->role[v->depth - 1];
	return r == R_NODES || r == R_EDGES;
}

int snap_verify_feed(struct snap_verify *v, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i = 0;

	if (v->state == L_ERROR)
		return -EINVAL;
	while (i < len) {
		size_t k = 0;

		if (in_int_array(v) && v->state != L_NUM_MINUS && v->state < L_NUM_DOT) {
			uint64_t *count = v->role[v->depth - 1] == R_NODES ? &v->info.nodes_len
									   : &v->info.edges_len;
			k = scan_int_array(v, p + i, len - i, count);
		} else if (v->state == L_STRING && !v->string_is_key) {
			k = scan_string(p + i, len - i);
		}
		v->info.bytes += k;
		i += k;
		if (i == len)
			break;
		if (step(v, p[i]) < 0)
			return -EINVAL;
		v->info.bytes++;
		i++;
	}
	return 0;
}

static int truncated(struct snap_verify *v, char *err, size_t errlen)
{
	const char *where = innermost_role_name(v);

	if (v->info.bytes == 0)
		snprintf(err, errlen, "empty snapshot (0 bytes)");
	else if (v->state == L_VALUE && v->depth == 0)
		snprintf(err, errlen, "no JSON object in %llu bytes", (unsigned long long)v->info.bytes);
	else
		snprintf(err, errlen, "truncated inside %s (after %llu bytes)",
			 where ? where : "the top-level object", (unsigned long long)v->info.bytes);
	return -EINVAL;
}

/* An array of count records of fields numbers each must hold count x fields numbers. */
static int check_array_len(const char *array, const char *count_name, uint64_t len, uint64_t count,
			   unsigned fields, char *err, size_t errlen)
{
	if (count <= UINT64_MAX / fields && len == count * fields)
		return 0;
	snprintf(err, errlen, "%s has %llu numbers, expected %llu (%s %llu x %u fields)", array,
		 (unsigned long long)len, (unsigned long long)(count * fields), count_name,
		 (unsigned long long)count, fields);
	return -EINVAL;
}

static int check_counts(const struct snap_verify *v, char *err, size_t errlen)
{
	const struct snap_verify_info *in = &v->info;

	if (!v->seen_node_fields || !v->seen_edge_fields || in->node_fields == 0 ||
	    in->edge_fields == 0) {
		snprintf(err, errlen, "not a heap snapshot: no snapshot.meta.node_fields/edge_fields");
		return -EINVAL;
	}
	if (!v->seen_node_count || !v->seen_edge_count) {
		snprintf(err, errlen, "not a heap snapshot: no snapshot.node_count/edge_count");
		return -EINVAL;
	}
	if (!v->seen_nodes || !v->seen_edges) {
		snprintf(err, errlen, "not a heap snapshot: no \"nodes\"/\"edges\" arrays");
		return -EINVAL;
	}
	if (check_array_len("nodes", "node_count", in->nodes_len, in->node_count, in->node_fields,
			    err, errlen) < 0)
		return -EINVAL;
	return check_array_len("edges", "edge_count", in->edges_len, in->edge_count, in->edge_fields,
			       err, errlen);
}

int snap_verify_finish(struct snap_verify *v, struct snap_verify_info *info, char *err, size_t errlen)
{
	if (info)
		*info = v->info;
	if (v->state == L_ERROR) {
		snprintf(err, errlen, "%s", v->error);
		return -EINVAL;
	}
	if (v->state != L_DONE)
		return truncated(v, err, errlen);
	return check_counts(v, err, errlen);
}
