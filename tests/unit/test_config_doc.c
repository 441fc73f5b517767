// SPDX-License-Identifier: Apache-2.0
/* Unit tests of config_doc.c: every key of the config table has a description and
 * every description a key, and the committed generated pages (man/heapsnap.ini.5,
 * docs/configuration.md) are exactly what the table writes now, so they cannot drift
 * from the code. Run from the checkout's root (tests/run.sh does) or with
 * HEAPSNAP_ROOT set. Fix a failure with `make config-reference`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/config_doc.h"

static char *generate(enum config_doc_format format)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_doc_write(f, format), 0);
	fclose(f);
	return buf;
}

static char *slurp(const char *rel)
{
	const char *root = getenv("HEAPSNAP_ROOT");
	char path[4096];
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", rel);
	FILE *in = fopen(path, "re");
	if (!in)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(in);
	fclose(out);
	return buf;
}

static void expect_same(const char *rel, enum config_doc_format format)
{
	char *want = generate(format), *have = slurp(rel);
	int differs = strcmp(want, have) != 0;

	free(want);
	free(have);
	if (differs)
		fail_msg("%s differs from the config table: run `make config-reference`", rel);
}

static void test_every_key_described(void **state)
{
	char msg[160] = "";
	(void)state;
	if (config_doc_check(msg, sizeof(msg)) != 0)
		fail_msg("%s", msg);
}

static void test_reference_names_every_key(void **state)
{
	struct config_key_info k;
	char *man = generate(CONFIG_DOC_MAN), *md = generate(CONFIG_DOC_MARKDOWN);
	char want[128], missing[160] = "";
	size_t i;
	(void)state;

	for (i = 0; config_key_info(i, &k) == 0 && !*missing; i++) {
		snprintf(want, sizeof(want), "\\fB%s\\fR = ", k.name);
		if (!strstr(man, want))
			snprintf(missing, sizeof(missing), "man page lacks %s", k.name);
		snprintf(want, sizeof(want), "| `%s` |", k.name);
		if (!*missing && !strstr(md, want))
			snprintf(missing, sizeof(missing), "markdown lacks %s", k.name);
	}
	free(man);
	free(md);
	if (*missing)
		fail_msg("%s", missing);
	assert_true(i > 50);
}

static void test_man_page_matches_table(void **state)
{
	(void)state;
	expect_same("man/heapsnap.ini.5", CONFIG_DOC_MAN);
}

static void test_markdown_matches_table(void **state)
{
	(void)state;
	expect_same("docs/configuration.md", CONFIG_DOC_MARKDOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_described),
		cmocka_unit_test(test_reference_names_every_key),
		cmocka_unit_test(test_man_page_matches_table),
		cmocka_unit_test(test_markdown_matches_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
