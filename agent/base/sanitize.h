// SPDX-License-Identifier: Apache-2.0
/* Text a watched process controls (its command line, executable path, class names in
 * its snapshot, keys an S3 server lists) made safe to show: on a terminal or in a log
 * no byte of it may act as a control sequence, and a metric label must be valid UTF-8
 * (Prometheus refuses the whole scrape otherwise). */
#ifndef HS_SANITIZE_H
#define HS_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

enum sanitize_mode {
	/* For terminals and logs: C0 controls (newline and tab too), DEL, the C1 controls
	 * (U+0080..U+009F, which UTF-8 terminals read as ESC sequences too) and every byte
	 * of invalid UTF-8 become "\xNN"; a backslash becomes "\\" so the output is
	 * unambiguous. Valid printable UTF-8 is kept. */
	SANITIZE_ESCAPE,
	/* For metric labels and JSON: invalid UTF-8 becomes U+FFFD; the rest is kept. */
	SANITIZE_UTF8,
};

/* Write in's sanitized form into out (always NUL-terminated when outlen > 0, cut at a
 * character boundary). Returns the length the whole result needs (as snprintf). */
size_t sanitize(const char *in, enum sanitize_mode mode, char *out, size_t outlen);

/* Same for the first len bytes of in (which may hold NULs: they are escaped). */
size_t sanitize_n(const char *in, size_t len, enum sanitize_mode mode, char *out, size_t outlen);

/* True if s needs no change under mode. */
bool sanitize_is_clean(const char *s, enum sanitize_mode mode);

#endif
