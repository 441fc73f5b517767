// SPDX-License-Identifier: Apache-2.0
/* base/sanitize: text from watched processes made safe for terminals and logs
 * (escape) and for metric labels and JSON (valid UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/sanitize.h"

static void check(const char *in, enum sanitize_mode mode, const char *want)
{
	char out[256];
	size_t n = sanitize(in, mode, out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	assert_true(sanitize_is_clean(out, SANITIZE_UTF8));
	assert_int_equal(sanitize_is_clean(in, mode), strcmp(in, want) == 0);
}

static void test_escape(void **state)
{
	(void)state;
	check("node app.js", SANITIZE_ESCAPE, "node app.js");
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", SANITIZE_ESCAPE, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* ESC sequences, newline, tab, DEL, the C1 CSI (U+009B) */
	check("a\x1b]0;pwned\x07z", SANITIZE_ESCAPE, "a\\x1b]0;pwned\\x07z");
	check("x\ny\tz\x7f", SANITIZE_ESCAPE, "x\\x0ay\\x09z\\x7f");
	check("\xc2\x9b" "31m", SANITIZE_ESCAPE, "\\xc2\\x9b31m");
	/* invalid UTF-8: lone continuation, overlong, surrogate, truncated, > U+10FFFF */
	check("\x80", SANITIZE_ESCAPE, "\\x80");
	check("\xc0\xaf", SANITIZE_ESCAPE, "\\xc0\\xaf");
	check("\xed\xa0\x80", SANITIZE_ESCAPE, "\\xed\\xa0\\x80");
	check("ab\xe2\x82", SANITIZE_ESCAPE, "ab\\xe2\\x82");
	check("\xf4\x90\x80\x80", SANITIZE_ESCAPE, "\\xf4\\x90\\x80\\x80");
	check("back\\slash", SANITIZE_ESCAPE, "back\\\\slash");
}

static void test_utf8(void **state)
{
	(void)state;
	check("ok \x1b[31m", SANITIZE_UTF8, "ok \x1b[31m");  /* controls stay: JSON escapes them */
	check("bad\xff\xfe!", SANITIZE_UTF8, "bad\xef\xbf\xbd\xef\xbf\xbd!");
	check("cut\xe2\x82", SANITIZE_UTF8, "cut\xef\xbf\xbd\xef\xbf\xbd");
}

/* A short buffer: cut at a whole character or escape, NUL-terminated, the full length
 * returned. */
static void test_truncation(void **state)
{
	(void)state;
	char out[6];

	assert_int_equal(sanitize("ab\x1b" "cd", SANITIZE_ESCAPE, out, sizeof(out)), 8);
	assert_string_equal(out, "ab");
	assert_int_equal(sanitize("a\xc3\xa9\xc3\xa9\xc3\xa9", SANITIZE_UTF8, out, sizeof(out)), 7);
	assert_string_equal(out, "a\xc3\xa9\xc3\xa9");
	assert_int_equal(sanitize("abc", SANITIZE_ESCAPE, NULL, 0), 3);
	assert_int_equal(sanitize_n("a\0b", 3, SANITIZE_ESCAPE, out, sizeof(out)), 6);
	assert_string_equal(out, "a\\x00");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
