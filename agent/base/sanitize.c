// SPDX-License-Identifier: Apache-2.0
/* Sanitized text for terminals, logs and metric labels (see sanitize.h). Hand-written
 * UTF-8 validation: glibc's mbrtowc depends on the locale (the agent runs in "C"),
 * and the rules here are a dozen lines (RFC 3629: no overlongs, no surrogates, at
 * most U+10FFFF). */
#include "base/sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4, at most len), or 0 if invalid;
 * *cp = the code point. */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

struct sink {
	char *out;
	size_t cap, len;
	bool full;           /* stop at the first piece that does not fit whole */
};

static void put(struct sink *k, const char *piece, size_t n)
{
	if (!k->full && k->cap && k->len + n < k->cap)
		memcpy(k->out + k->len, piece, n);
	else
		k->full = true;
	k->len += n;
}

static void put_hex(struct sink *k, unsigned char c)
{
	char hex[5];

	snprintf(hex, sizeof(hex), "\\x%02x", c);
	put(k, hex, 4);
}

static bool escaped_code_point(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

size_t sanitize_n(const char *in, size_t len, enum sanitize_mode mode, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = { .out = out, .cap = outlen };
	size_t written = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t n = utf8_seq(s + i, len - i, &cp);

		if (n == 0 && mode == SANITIZE_UTF8) {
			put(&k, "\xef\xbf\xbd", 3);
			n = 1;
		} else if (n == 0 || (mode == SANITIZE_ESCAPE && escaped_code_point(cp))) {
			for (size_t j = 0; j < (n ? n : 1); j++)
				put_hex(&k, s[i + j]);
			n = n ? n : 1;
		} else if (mode == SANITIZE_ESCAPE && cp == '\\') {
			put(&k, "\\\\", 2);
		} else {
			put(&k, (const char *)s + i, n);
		}
		if (!k.full)
			written = k.len;
		i += n;
	}
	if (outlen)
		out[written < outlen ? written : outlen - 1] = '\0';
	return k.len;
}

size_t sanitize(const char *in, enum sanitize_mode mode, char *out, size_t outlen)
{
	return sanitize_n(in, strlen(in), mode, out, outlen);
}

bool sanitize_is_clean(const char *s, enum sanitize_mode mode)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_seq((const unsigned char *)s + i, len - i, &cp);

		if (n == 0 || (mode == SANITIZE_ESCAPE && (escaped_code_point(cp) || cp == '\\')))
			return false;
		i += n;
	}
	return true;
}
