// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the upload pieces that need no server: the credentials file
 * (upload/creds.c), key encoding (upload/s3.c), the queue's state machine and backoff
 * (upload/queue.c), and S3 reply XML (upload/s3xml.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upload/creds.h"
#include "upload/queue.h"
#include "upload/s3.h"
#include "upload/s3index.h"
#include "upload/s3xml.h"

/* ---- credentials ---- */

static void test_creds_profiles(void **state)
{
	(void)state;
	const char *text =
		"[default]\n"
		"aws_access_key_id = AKDEFAULT\n"
		"aws_secret_access_key = secretdefault\n"
		"\n"
		"[ops]\n"
		"region = eu-west-1\n"
		"aws_access_key_id=AKOPS\n"
		"aws_secret_access_key=s3cr3t/with+chars=\n"
		"aws_session_token = tok\n";
	struct s3_creds c;
	char err[512];

	assert_int_equal(creds_parse_string(text, "creds", "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "secretdefault");
	assert_string_equal(c.session_token, "");
	assert_int_equal(creds_parse_string(text, "creds", "ops", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKOPS");
	assert_string_equal(c.secret_key, "s3cr3t/with+chars=");
	assert_string_equal(c.session_token, "tok");
	assert_string_equal(c.source, "creds [ops]");
}

static void test_creds_errors_name_no_secret(void **state)
{
	(void)state;
	struct s3_creds c;
	char err[512];

	assert_int_equal(creds_parse_string("[default]\naws_access_key_id = AK\n", "f", "default", &c, err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "aws_secret_access_key"));
	assert_int_equal(creds_parse_string("[other]\naws_access_key_id = AK\n", "f", "default", &c, err,
					    sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no [default] profile"));
	assert_int_equal(creds_parse_string("[default]\naws_access_key_id = AK\nthis is not ini\n"
					    "aws_secret_access_key = TOPSECRET\n", "f", "default", &c, err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "f:3:"));
	assert_null(strstr(err, "TOPSECRET"));
	assert_string_equal(c.secret_key, "");   /* wiped on error */
}

static void test_creds_long_session_token(void **state)
{
	(void)state;
	char tok[1500], text[1700];
	struct s3_creds c;
	char err[512];

	for (size_t i = 0; i < sizeof(tok) - 1; i++)
		tok[i] = (char)('A' + i % 26);
	tok[sizeof(tok) - 1] = '\0';
	snprintf(text, sizeof(text), "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n"
		 "aws_session_token = %s\n", tok);
	assert_int_equal(creds_parse_string(text, "f", "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.session_token, tok);   /* longer than inih's 200-byte lines */
}

static void test_creds_file_permissions(void **state)
{
	(void)state;
	char path[] = "/tmp/hs-creds-XXXXXX";
	int fd = mkstemp(path);
	struct s3_creds c;
	char err[512];
	const char *text = "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, 0600);
	assert_int_equal(creds_load(path, "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.secret_key, "SK");
	chmod(path, 0640);
	assert_int_equal(creds_load(path, "default", &c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_non_null(strstr(err, "let its group read it"));
	assert_null(strstr(err, "SK\n"));
	chmod(path, 0606);
	assert_int_equal(creds_load(path, "default", &c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "let others read and write it"));
	/* owned by someone else (as root the test can make it so): refused, whatever the mode */
	chmod(path, 0600);
	if (geteuid() == 0 && chown(path, 65534, 65534) == 0) {
		assert_int_equal(creds_load(path, "default", &c, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "owned by uid 65534, not by root or uid 0"));
	}
	unlink(path);
}

static void test_creds_env(void **state)
{
	(void)state;
	struct s3_creds c;
	char err[512];

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(creds_load("", "default", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	setenv("AWS_SESSION_TOKEN", "TOKENV", 1);
	assert_int_equal(creds_load("", "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.secret_key, "SKENV");
	assert_string_equal(c.session_token, "TOKENV");
	unsetenv("AWS_SESSION_TOKEN");
}

/* ---- keys ---- */

static void test_key_encoding(void **state)
{
	(void)state;
	char out[256], key[256];

	assert_int_equal(s3_encode("host-a/20261201T000000Z-1-ab12.json", true, out, sizeof(out)), 0);
	assert_string_equal(out, "host-a/20261201T000000Z-1-ab12.json");
	assert_int_equal(s3_encode("a b+c=d/é~_.", true, out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b%2Bc%3Dd/%C3%A9~_.");
	assert_int_equal(s3_encode("a/b", false, out, sizeof(out)), 0);
	assert_string_equal(out, "a%2Fb");
	assert_int_equal(s3_encode("++++", true, out, 12), -ENAMETOOLONG);
	assert_int_equal(upload_key("web-1", "ID", ".json", key, sizeof(key)), 0);
	assert_string_equal(key, "web-1/ID.json");
	assert_int_equal(upload_key("", "ID", ".heapsnapshot.gz", key, sizeof(key)), 0);
	assert_string_equal(key, "ID.heapsnapshot.gz");
	assert_int_equal(upload_key("x", "ID", ".json", key, 6), -ENAMETOOLONG);
}

/* ---- queue ---- */

static void test_backoff(void **state)
{
	(void)state;
	/* attempt 1: 1 s with jitter in [0.5, 1] s; doubling; capped */
	assert_int_equal(upload_backoff_ms(1, 300000, 0), 500);
	assert_true(upload_backoff_ms(1, 300000, 0xffffffffu) <= 1000);
	assert_true(upload_backoff_ms(1, 300000, 0xffffffffu) >= 999);
	assert_int_equal(upload_backoff_ms(3, 300000, 0), 2000);
	assert_int_equal(upload_backoff_ms(40, 300000, 0), 150000);
	assert_true(upload_backoff_ms(40, 300000, 0xffffffffu) <= 300000);
	assert_int_equal(upload_backoff_ms(5, 2000, 0), 1000);
}

static void test_queue_oldest_first_and_backoff(void **state)
{
	(void)state;
	struct upload_queue q = { 0 };
	int64_t wait;

	assert_int_equal(uq_add(&q, "b", 200, 0, 0), 1);
	assert_int_equal(uq_add(&q, "a", 100, 0, 0), 1);
	assert_int_equal(uq_add(&q, "c", 300, 0, 0), 1);
	assert_int_equal(uq_add(&q, "a", 100, 0, 5), 0);   /* no duplicate */
	assert_int_equal(q.n, 3);
	int i = uq_next(&q, 0, &wait);
	assert_string_equal(q.items[i].id, "a");
	/* a fails: b is next, a waits its backoff */
	uint64_t d = uq_failed(&q, i, 1000, 300000, 0);
	assert_int_equal(d, 500);
	i = uq_next(&q, 1000, &wait);
	assert_string_equal(q.items[i].id, "b");
	uq_remove(&q, "b");
	uq_remove(&q, "c");
	assert_int_equal(uq_next(&q, 1100, &wait), -1);
	assert_int_equal(wait, 400);
	i = uq_next(&q, 1500, &wait);
	assert_string_equal(q.items[i].id, "a");
	assert_int_equal(q.items[i].attempts, 1);
	assert_int_equal(uq_oldest_age_ms(&q, 1500), 1500);
	uq_remove(&q, "a");
	assert_int_equal(uq_next(&q, 2000, &wait), -1);
	assert_int_equal(wait, -1);
	assert_int_equal(uq_oldest_age_ms(&q, 2000), 0);
	uq_free(&q);
}

static void test_rec_round_trip(void **state)
{
	(void)state;
	struct upload_rec r = { .state = UPLOAD_DONE, .attempts = 2, .done_at_ms = 1764600000000 }, back;
	char *text;

	snprintf(r.key, sizeof(r.key), "h/ID.heapsnapshot.gz");
	snprintf(r.etag, sizeof(r.etag), "0123456789abcdef0123456789abcdef-3");
	text = upload_rec_format(&r);
	assert_non_null(text);
	assert_int_equal(upload_rec_parse(text, &back), 0);
	assert_int_equal(back.state, UPLOAD_DONE);
	assert_int_equal(back.attempts, 2);
	assert_string_equal(back.etag, r.etag);
	assert_string_equal(back.key, r.key);
	free(text);

	struct upload_rec q = { .state = UPLOAD_QUEUED, .attempts = 4 };
	snprintf(q.last_error, sizeof(q.last_error), "HTTP 503");
	text = upload_rec_format(&q);
	assert_int_equal(upload_rec_parse(text, &back), 0);
	assert_int_equal(back.state, UPLOAD_QUEUED);
	assert_int_equal(back.attempts, 4);
	assert_string_equal(back.last_error, "HTTP 503");
	free(text);
	/* damaged or unknown states are not "done": the snapshot is uploaded again */
	assert_int_equal(upload_rec_parse("{\"state\":\"uploading\"}", &back), -EINVAL);
	assert_int_equal(upload_rec_parse("{\"state\":\"do", &back), -EINVAL);
	assert_int_not_equal(back.state, UPLOAD_DONE);
}

/* ---- XML ---- */

struct seen {
	int n;
	char keys[4][1024];
	uint64_t sizes[4];
};

static void on_obj(const struct s3_object *o, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < 4) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", o->key);
		s->sizes[s->n] = o->size;
	}
	s->n++;
}

static void test_xml_listing(void **state)
{
	(void)state;
	const char *page =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><IsTruncated>true</IsTruncated><NextContinuationToken>tok/1=</NextContinuationToken>"
		"<Contents><Key>h/a.json</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>"
		"<Contents><Key>h/a&amp;b.json</Key><Size>7</Size></Contents></ListBucketResult>";
	struct seen s = { 0 };
	bool more;
	char tok[64];

	assert_int_equal(s3xml_list_objects(page, strlen(page), on_obj, &s, &more, tok, sizeof(tok)), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "h/a.json");
	assert_int_equal(s.sizes[0], 12);
	assert_string_equal(s.keys[1], "h/a&b.json");
	assert_true(more);
	assert_string_equal(tok, "tok/1=");
	/* truncated without a token, garbage, a DOCTYPE: errors */
	const char *bad1 = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
	assert_int_equal(s3xml_list_objects(bad1, strlen(bad1), on_obj, &s, &more, tok, sizeof(tok)), -EINVAL);
	assert_int_equal(s3xml_list_objects("<List", 5, on_obj, &s, &more, tok, sizeof(tok)), -EINVAL);
	const char *dt = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>";
	assert_int_equal(s3xml_list_objects(dt, strlen(dt), on_obj, &s, &more, tok, sizeof(tok)), -EINVAL);
}

static void test_xml_error_and_upload_id(void **state)
{
	(void)state;
	const char *e = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message></Message>"
			"<RequestId>tx1</RequestId></Error>";
	const char *u = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
			"<UploadId>2~abc</UploadId></InitiateMultipartUploadResult>";
	char code[64], msg[64], id[64];

	assert_int_equal(s3xml_error(e, strlen(e), code, sizeof(code), msg, sizeof(msg)), 0);
	assert_string_equal(code, "SignatureDoesNotMatch");
	assert_int_equal(s3xml_error(u, strlen(u), code, sizeof(code), msg, sizeof(msg)), -EINVAL);
	assert_int_equal(s3xml_upload_id(u, strlen(u), id, sizeof(id)), 0);
	assert_string_equal(id, "2~abc");
	assert_int_equal(s3xml_upload_id(e, strlen(e), id, sizeof(id)), -EINVAL);
}

/* Index keys: every field that can hold '/' or odd bytes is encoded into one segment,
 * and an entry leads back to its snapshot's PREFIX/ID.json. */
static void test_index_keys(void **state)
{
	char key[2048], id[64], json[1024], prefix[256];

	(void)state;
	assert_int_equal(s3index_entry_key(S3INDEX_HOST, "web-1.example", "20261127T081502Z-12345-a1b2", "fleet/eu-1",
					   key, sizeof(key)), 0);
	assert_string_equal(key, "heapsnap-index/v1/host/web-1.example/20261127T081502Z-12345-a1b2/fleet%2Feu-1");
	assert_int_equal(s3index_parse_entry(key, id, sizeof(id), json, sizeof(json)), 0);
	assert_string_equal(id, "20261127T081502Z-12345-a1b2");
	assert_string_equal(json, "fleet/eu-1/20261127T081502Z-12345-a1b2.json");
	assert_int_equal(s3index_entry_key(S3INDEX_APP, "@scope/pkg name", "20261127T081502Z-1-0001", "h", key,
					   sizeof(key)), 0);
	assert_string_equal(key, "heapsnap-index/v1/app/%40scope%2Fpkg%20name/20261127T081502Z-1-0001/h");
	assert_int_equal(s3index_entry_key(S3INDEX_APP, "", "20261127T081502Z-1-0001", "h", key, sizeof(key)), 0);
	assert_string_equal(key, "heapsnap-index/v1/app/-/20261127T081502Z-1-0001/h");
	assert_int_equal(s3index_entry_key(S3INDEX_TIME, NULL, "20261127T081502Z-1-0001", "a%b", key, sizeof(key)), 0);
	assert_string_equal(key, "heapsnap-index/v1/time/20261127T081502Z-1-0001/a%25b");
	assert_int_equal(s3index_parse_entry(key, id, sizeof(id), json, sizeof(json)), 0);
	assert_string_equal(json, "a%b/20261127T081502Z-1-0001.json");
	assert_int_equal(s3index_family_prefix(S3INDEX_HOST, "h/1", key, sizeof(key)), 0);
	assert_string_equal(key, "heapsnap-index/v1/host/h%2F1/");
	/* what is not an entry, or would lead elsewhere */
	assert_int_equal(s3index_parse_entry("host-a/20261127T081502Z-1-0001.json", id, sizeof(id), json, sizeof(json)),
			 -EINVAL);
	assert_int_equal(s3index_parse_entry("heapsnap-index/v1/time/20261127T081502Z-1-0001/", id, sizeof(id), json,
					     sizeof(json)), -EINVAL);
	assert_int_equal(s3index_parse_entry("heapsnap-index/v1/time/bad.id/h", id, sizeof(id), json, sizeof(json)),
			 -EINVAL);
	assert_int_equal(s3index_parse_entry("heapsnap-index/v1/time/x/h%2", id, sizeof(id), json, sizeof(json)),
			 -EINVAL);
	assert_int_equal(s3index_parse_entry("heapsnap-index/v1/time/x/h%00", id, sizeof(id), json, sizeof(json)),
			 -EINVAL);
	assert_int_equal(s3index_complete_key("fleet/eu-1", key, sizeof(key)), 0);
	assert_string_equal(key, "heapsnap-index/v1/complete/fleet%2Feu-1");
	assert_int_equal(s3index_parse_complete(key, prefix, sizeof(prefix)), 0);
	assert_string_equal(prefix, "fleet/eu-1");
	assert_int_equal(s3index_parse_complete("heapsnap-index/v1/complete/", prefix, sizeof(prefix)), -EINVAL);
}

struct listed {
	char keys[4][1024];
	bool dir[4];
	int n;
};

static void on_listed(const struct s3_object *o, void *ctx)
{
	struct listed *l = ctx;

	if (l->n < 4) {
		snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", o->key);
		l->dir[l->n++] = o->common_prefix;
	}
}

/* A delimited listing's <CommonPrefixes> come as objects flagged common_prefix. */
static void test_xml_common_prefixes(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>top.json</Key><Size>3</Size></Contents>"
		"<CommonPrefixes><Prefix>host-a/</Prefix></CommonPrefixes>"
		"<CommonPrefixes><Prefix>heapsnap-index/</Prefix></CommonPrefixes></ListBucketResult>";
	struct listed l = { 0 };
	char token[64];
	bool more = true;

	(void)state;
	assert_int_equal(s3xml_list_objects(xml, sizeof(xml) - 1, on_listed, &l, &more, token, sizeof(token)), 0);
	assert_false(more);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.keys[0], "top.json");
	assert_false(l.dir[0]);
	assert_string_equal(l.keys[1], "host-a/");
	assert_true(l.dir[1]);
	assert_string_equal(l.keys[2], "heapsnap-index/");
	assert_true(l.dir[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_profiles),
		cmocka_unit_test(test_creds_errors_name_no_secret),
		cmocka_unit_test(test_creds_long_session_token),
		cmocka_unit_test(test_creds_file_permissions),
		cmocka_unit_test(test_creds_env),
		cmocka_unit_test(test_key_encoding),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_queue_oldest_first_and_backoff),
		cmocka_unit_test(test_rec_round_trip),
		cmocka_unit_test(test_xml_listing),
		cmocka_unit_test(test_xml_error_and_upload_id),
		cmocka_unit_test(test_index_keys),
		cmocka_unit_test(test_xml_common_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
